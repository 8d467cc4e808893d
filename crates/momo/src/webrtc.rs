//! WebRTC (WHEP playback, WHIP publishing) on one UDP port: bound at start from
//! `[media] webrtc_udp`; a node whose port is taken serves everything else and says so.
//! ICE over TCP listens on the same address and port number (`[media] webrtc_tcp`), for
//! clients without UDP.

use std::net::IpAddr;
use std::sync::Arc;

use crate::config::MediaSettings;

/// Binds the WebRTC port and starts serving WHEP from `hub`; `None` when it is off or
/// the port cannot be bound.
pub async fn start(
    settings: &MediaSettings,
    hub: &Arc<media::hub::Hub>,
) -> Option<Arc<media::webrtc::WebRtc>> {
    let addr = settings.webrtc_udp.trim();
    if addr.is_empty() {
        return None;
    }
    let socket = match tokio::net::UdpSocket::bind(addr).await {
        Ok(socket) => socket,
        Err(e) => {
            tracing::warn!("WebRTC is off: cannot bind UDP {addr} ({e})");
            return None;
        }
    };
    let bound = socket.local_addr().ok()?;
    let mut candidates: Vec<IpAddr> = Vec::new();
    for c in &settings.webrtc_candidates {
        match c.trim().parse() {
            Ok(ip) => candidates.push(ip),
            Err(_) => tracing::warn!("[media] webrtc_candidates: {c:?} is not an IP address"),
        }
    }
    if candidates.is_empty() {
        candidates.push(crate::cluster::reachable(bound.ip()));
    }
    let config = media::webrtc::WebRtcConfig {
        candidates: candidates.clone(),
        max_peers: settings.webrtc_max_peers.max(1),
        ffmpeg: settings.webrtc_ffmpeg.trim().to_owned(),
        keyframe_interval: std::time::Duration::from_secs(settings.whip_keyframe_secs.max(1)),
        ..Default::default()
    };
    match media::webrtc::WebRtc::start(hub.clone(), socket, config) {
        Ok(webrtc) => {
            tracing::info!(
                ?candidates,
                "WebRTC (WHEP at /whep/ROOM, WHIP at /whip/KEY) on udp://{bound}"
            );
            if settings.webrtc_tcp {
                serve_tcp(&webrtc, bound).await;
            }
            Some(webrtc)
        }
        Err(e) => {
            tracing::warn!("WebRTC is off: {e}");
            None
        }
    }
}

/// ICE over TCP at `bound` (the UDP socket's address and port number); without it
/// (the port taken), WebRTC goes on over UDP only and says so.
async fn serve_tcp(webrtc: &Arc<media::webrtc::WebRtc>, bound: std::net::SocketAddr) {
    let served = match tokio::net::TcpListener::bind(bound).await {
        Ok(listener) => webrtc.serve_tcp(listener),
        Err(e) => Err(e),
    };
    match served {
        Ok(()) => tracing::info!("WebRTC over TCP (ICE-TCP, passive) on tcp://{bound}"),
        Err(e) => tracing::warn!("WebRTC over TCP is off: cannot bind TCP {bound} ({e})"),
    }
}
