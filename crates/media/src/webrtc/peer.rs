//! One WHEP viewer: a str0m session fed by the shared socket's reader and by the hub.
//!
//! The session answers the offer as ICE-lite with this node's host candidates and a
//! username fragment of momo's choosing (which routes the peer's datagrams to it). Until
//! ICE and DTLS are up, frames wait in the viewer's hub queue (a viewer that falls
//! behind resumes on the next keyframe, as every output does); then each video frame
//! is written: AVCC to Annex B, parameter sets before keyframes, timestamped with its
//! presentation time on the 90 kHz clock.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use rand::distributions::{Alphanumeric, DistString};
use str0m::change::SdpOffer;
use str0m::format::Codec;
use str0m::media::{Frequency, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol as NetProtocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, IceCreds, Input, Output, Rtc};
use tokio::sync::{mpsc, watch};

use super::{Datagram, WebRtc, WhepError};
use crate::flv::{AvcConfig, VideoCodec, VideoTag};
use crate::frame::FrameKind;
use crate::hub::{Packet, Protocol, Subscription};

/// Installs str0m's crypto (pure Rust) as the process default, once.
pub(crate) fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
}

/// Answers WHEP `offer` as momo does, without the network: an ICE-lite session with
/// `creds` and host `candidates` that sends H.264 (and takes Opus), and its SDP answer.
/// Refuses an offer that is not SDP or has no H.264 to receive.
pub fn answer_offer(
    offer: &str,
    creds: IceCreds,
    candidates: &[SocketAddr],
) -> Result<(Rtc, String), WhepError> {
    install_crypto();
    let parsed = SdpOffer::from_sdp_string(offer).map_err(|e| WhepError::BadSdp(e.to_string()))?;
    if !offers_h264(offer) {
        return Err(WhepError::NoH264);
    }
    let mut rtc = Rtc::builder()
        .set_ice_lite(true)
        .set_local_ice_credentials(creds)
        .clear_codecs()
        .enable_h264(true)
        .enable_opus(true)
        .build(Instant::now());
    for candidate in candidates {
        let c = Candidate::host(*candidate, "udp")
            .map_err(|e| WhepError::Unavailable(e.to_string()))?;
        rtc.add_local_candidate(c);
    }
    let answer = rtc
        .sdp_api()
        .accept_offer(parsed)
        .map_err(|e| WhepError::BadSdp(e.to_string()))?
        .to_sdp_string();
    if !offers_h264(&answer) {
        return Err(WhepError::NoH264);
    }
    Ok((rtc, answer))
}

/// Whether SDP text names H.264 on the 90 kHz clock (`a=rtpmap:N H264/90000`).
fn offers_h264(sdp: &str) -> bool {
    sdp.to_ascii_uppercase().contains("H264/90000")
}

/// [`answer_offer`] with throwaway credentials and a loopback candidate: what the
/// fuzzer drives.
pub fn parse_offer(offer: &str) -> Result<String, WhepError> {
    let creds = IceCreds {
        ufrag: "fuzz".into(),
        pass: "fuzzfuzzfuzzfuzzfuzzfuzz".into(),
    };
    let local = SocketAddr::from(([127, 0, 0, 1], 9));
    answer_offer(offer, creds, &[local]).map(|(_, answer)| answer)
}

impl WebRtc {
    /// Answers a WHEP `offer` for stream `room` from a client at `addr`: the session's
    /// number (for its `DELETE`) and the SDP answer. The peer runs on a task of its own
    /// until the client leaves, the stream ends or `DELETE` comes.
    pub async fn whep(
        self: &Arc<Self>,
        room: &str,
        offer: &str,
        addr: Option<IpAddr>,
    ) -> Result<(u64, String), WhepError> {
        let creds = IceCreds {
            ufrag: Alphanumeric.sample_string(&mut rand::thread_rng(), 16),
            pass: Alphanumeric.sample_string(&mut rand::thread_rng(), 32),
        };
        let (rtc, answer) = answer_offer(offer, creds.clone(), &self.candidates())?;
        let sub = self
            .hub
            .subscribe_or_pull(room, Protocol::WebRtc, addr)
            .await
            .ok_or(WhepError::NotLive)?;
        let (session, datagrams, stop) = self.register(&creds.ufrag)?;
        let peer = Peer {
            server: self.clone(),
            session,
            rtc,
            local: self.local,
            video: None,
            avc: None,
            started: false,
            annexb: Vec::new(),
        };
        tokio::spawn(peer.run(datagrams, sub, stop));
        metrics::counter!("webrtc_sessions_total", "kind" => "whep").increment(1);
        Ok((session, answer))
    }
}

/// Why a peer ended.
#[derive(Debug)]
enum Ended {
    Closed,
    NeverConnected,
    Disconnected,
    StreamOver,
    Failed(String),
}

struct Peer {
    server: Arc<WebRtc>,
    session: u64,
    rtc: Rtc,
    local: SocketAddr,
    /// The video m-line and the payload type H.264 goes out with.
    video: Option<(Mid, Option<Pt>)>,
    avc: Option<AvcConfig>,
    /// Whether a keyframe went out (nothing is written before one).
    started: bool,
    annexb: Vec<u8>,
}

impl Peer {
    async fn run(
        mut self,
        mut datagrams: mpsc::Receiver<Datagram>,
        mut sub: Subscription,
        mut stop: watch::Receiver<bool>,
    ) {
        let deadline = tokio::time::Instant::now() + self.server.config.connect_timeout;
        let mut connected = false;
        let ended = loop {
            let timeout = match self.drive(&mut connected) {
                Ok(t) => t,
                Err(ended) => break ended,
            };
            // Until connected, wake by the deadline at the latest.
            let mut wake = tokio::time::Instant::from_std(timeout);
            if !connected {
                wake = wake.min(deadline);
            }
            tokio::select! {
                _ = stop.changed() => break Ended::Closed,
                d = datagrams.recv() => {
                    let Some(d) = d else { break Ended::Closed };
                    let Ok(receive) = Receive::new(NetProtocol::Udp, d.source, self.local, &d.data) else {
                        metrics::counter!("webrtc_datagrams_dropped_total", "reason" => "malformed").increment(1);
                        continue;
                    };
                    if let Err(e) = self.rtc.handle_input(Input::Receive(d.at, receive)) {
                        break Ended::Failed(e.to_string());
                    }
                }
                p = sub.rx.recv(), if connected => match p {
                    Some(packet) => self.write(&packet),
                    None => break Ended::StreamOver,
                },
                _ = tokio::time::sleep_until(wake) => {
                    if !connected && tokio::time::Instant::now() >= deadline {
                        break Ended::NeverConnected;
                    }
                    if let Err(e) = self.rtc.handle_input(Input::Timeout(Instant::now())) {
                        break Ended::Failed(e.to_string());
                    }
                }
            }
        };
        let reason = match &ended {
            Ended::Closed => "closed",
            Ended::NeverConnected => "never_connected",
            Ended::Disconnected => "disconnected",
            Ended::StreamOver => "stream_over",
            Ended::Failed(e) => {
                tracing::info!(session = self.session, "webrtc peer failed: {e}");
                "failed"
            }
        };
        metrics::counter!("webrtc_sessions_ended_total", "reason" => reason).increment(1);
        tracing::debug!(session = self.session, ?ended, "webrtc peer ended");
        self.rtc.disconnect();
        let _ = self.drive(&mut connected);
        self.server.unregister(self.session);
    }

    /// Sends what the session has to send and takes its events; returns when it next
    /// wants to be woken.
    fn drive(&mut self, connected: &mut bool) -> Result<Instant, Ended> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => return Ok(at),
                Ok(Output::Transmit(t)) => {
                    // Never wait on the shared socket: a full send buffer loses this
                    // datagram, which NACKs or the next keyframe repair.
                    if self
                        .server
                        .socket
                        .try_send_to(&t.contents, t.destination)
                        .is_err()
                    {
                        metrics::counter!("webrtc_datagrams_unsent_total").increment(1);
                    }
                }
                Ok(Output::Event(event)) => match event {
                    Event::Connected => *connected = true,
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        return Err(Ended::Disconnected)
                    }
                    Event::MediaAdded(m) if m.kind == MediaKind::Video && self.video.is_none() => {
                        self.video = Some((m.mid, None));
                    }
                    _ => {}
                },
                Err(e) => return Err(Ended::Failed(e.to_string())),
            }
        }
    }

    /// Writes one frame from the hub, if it is H.264 video the peer can use.
    fn write(&mut self, packet: &Packet) {
        let frame = &packet.frame;
        if frame.kind != FrameKind::Video {
            return;
        }
        let Ok(tag) = VideoTag::parse(&frame.payload) else {
            return;
        };
        if tag.codec != VideoCodec::Avc {
            return;
        }
        if tag.is_sequence_header() {
            self.avc = AvcConfig::parse(tag.data).ok();
            return;
        }
        let Some(avc) = &self.avc else { return };
        if !self.started && !tag.is_keyframe() {
            return;
        }
        self.annexb.clear();
        if crate::ts::annexb::write_access_unit(&mut self.annexb, tag.data, avc, tag.is_keyframe())
            .is_err()
        {
            return;
        }
        let Some((mid, pt)) = self.video else { return };
        let Some(writer) = self.rtc.writer(mid) else {
            return;
        };
        let pt = match pt {
            Some(pt) => pt,
            None => {
                let h264 = writer
                    .payload_params()
                    .filter(|p| p.spec().codec == Codec::H264)
                    .max_by_key(|p| p.spec().format.packetization_mode == Some(1))
                    .map(|p| p.pt());
                let Some(pt) = h264 else { return };
                self.video = Some((mid, Some(pt)));
                pt
            }
        };
        let pts = (i64::from(frame.timestamp) + i64::from(tag.composition_time)).max(0) as u64;
        let rtp_time = MediaTime::new(pts * 90, Frequency::NINETY_KHZ);
        match writer.write(pt, Instant::now(), rtp_time, self.annexb.clone()) {
            Ok(()) => self.started = true,
            Err(e) => tracing::debug!(session = self.session, "webrtc write: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What aiortc offers to receive video and audio (recorded once from aiortc 1.16).
    const AIORTC_OFFER: &str = include_str!("../../tests/fixtures/aiortc_whep_offer.sdp");

    #[test]
    fn an_offer_is_answered_ice_lite_with_h264_our_ufrag_and_our_candidates() {
        let creds = IceCreds {
            ufrag: "momoufrag".into(),
            pass: "momopassmomopassmomopass".into(),
        };
        let local: SocketAddr = "127.0.0.1:8189".parse().unwrap();
        let (_, answer) = answer_offer(AIORTC_OFFER, creds, &[local]).expect("answered");
        assert!(answer.contains("a=ice-lite"), "{answer}");
        assert!(answer.contains("a=ice-ufrag:momoufrag"), "{answer}");
        assert!(
            answer.to_ascii_uppercase().contains("H264/90000"),
            "{answer}"
        );
        assert!(answer.contains("127.0.0.1 8189 typ host"), "{answer}");
    }

    #[test]
    fn offers_momo_cannot_serve_are_refused_by_name() {
        assert!(matches!(parse_offer(""), Err(WhepError::BadSdp(_))));
        assert!(matches!(
            parse_offer("v=0\r\nnonsense"),
            Err(WhepError::BadSdp(_))
        ));
        let vp8 = AIORTC_OFFER
            .lines()
            .filter(|l| !l.to_ascii_uppercase().contains("H264"))
            .collect::<Vec<_>>()
            .join("\r\n");
        assert!(parse_offer(&vp8).is_err(), "no H.264 left to receive");
        assert!(parse_offer(AIORTC_OFFER).is_ok());
    }
}
