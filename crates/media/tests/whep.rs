//! WHEP in this process: momo's RTMP client publishes the sample, a str0m client (the
//! same library momo answers with, here in the offering role and not ICE-lite) offers
//! to receive video over `POST /whep/42`, completes ICE and DTLS with momo's shared UDP
//! port and receives H.264 frames; `DELETE` ends the session. The same as the aiortc
//! test of momo's end-to-end suite, without Python.

use std::sync::Arc;
use std::time::Duration;

use media::webrtc::{WebRtc, WebRtcConfig};

mod common;
use common::webrtc::*;
use common::*;

type Live = (Server, tokio::task::JoinHandle<()>, String, Arc<WebRtc>);

/// A server publishing the sample, with WHEP.
async fn live_with_whep() -> Live {
    live_bound("127.0.0.1:0", WebRtcConfig::default()).await
}

/// A server publishing the sample, with WHEP bound at `bind` (video only).
async fn live_bound(bind: &str, config: WebRtcConfig) -> Live {
    let server = Server::default().await;
    let publishing = publish_forever(server.publisher().await);
    let config = WebRtcConfig {
        ffmpeg: String::new(),
        ..config
    };
    let (base, webrtc) = webrtc_bound(&server, bind, config).await;
    while server.hub.stream(ROOM).is_none() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (server, publishing, base, webrtc)
}

/// An operator's cut ends every session of the stream; then the publishing stops.
async fn cut_ends_all((server, publishing, _, webrtc): Live) {
    assert!(server.hub.cut(ROOM));
    no_peers_left(&webrtc).await;
    publishing.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_str0m_client_plays_an_rtmp_stream_over_whep() {
    let (_server, publishing, base, webrtc) = live_with_whep().await;
    let mut client = Client::play(&base).await;
    assert_eq!(webrtc.peers(), 1);
    assert!(client.receive(10).await, "the first frame is a keyframe");

    let res = reqwest::Client::new()
        .delete(format!("{base}{}", client.location))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    no_peers_left(&webrtc).await;
    publishing.abort();
}

/// As `momo serve` binds it by default: the port on every address, the machine's
/// address advertised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_bound_on_every_address_plays_at_its_advertised_one() {
    let config = WebRtcConfig {
        candidates: vec!["127.0.0.1".parse().unwrap()],
        ..WebRtcConfig::default()
    };
    let live = live_bound("0.0.0.0:0", config).await;
    let mut client = Client::play(&live.2).await;
    assert!(client.receive(10).await, "plays");
    cut_ends_all(live).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_udp_plays_over_tcp() {
    let live = live_with_whep().await;
    let mut udp = Client::play(&live.2).await;
    let mut tcp = Client::play_over_tcp(&live.2).await;
    assert!(tcp.receive(10).await, "starts on a keyframe, over TCP");
    assert!(udp.receive(10).await, "the UDP viewer beside it plays too");
    cut_ends_all(live).await;
}

/// Connections to the TCP port that name no session, or send anything but STUN first,
/// are closed; a viewer playing meanwhile is not disturbed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_connections_that_name_no_session_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let live = live_with_whep().await;
    let mut viewer = Client::play_over_tcp(&live.2).await;
    assert!(viewer.receive(5).await);
    let tcp = live.3.tcp_addr().expect("ICE over TCP is served");
    // A DTLS-looking record; a STUN binding request naming a ufrag nobody has; a frame
    // announcing more than ever comes, then the connection's end.
    let mut stun = vec![0x00, 0x01, 0x00, 0x0C, 0x21, 0x12, 0xA4, 0x42];
    stun.extend_from_slice(&[7; 12]);
    stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x08]);
    stun.extend_from_slice(b"nobody:x");
    let garbage = [
        media::webrtc::tcp::frame(&[0x16; 40]).unwrap(),
        media::webrtc::tcp::frame(&stun).unwrap(),
        vec![0xFF, 0xFF, 1, 2, 3],
    ];
    for (i, bytes) in garbage.iter().enumerate() {
        let mut conn = tokio::net::TcpStream::connect(tcp).await.unwrap();
        conn.write_all(bytes).await.unwrap();
        if i == 2 {
            conn.shutdown().await.unwrap();
        }
        let mut rest = Vec::new();
        let closed = within(5.0, "the connection to be closed", async {
            conn.read_to_end(&mut rest).await
        })
        .await;
        assert!(closed.is_ok() && rest.is_empty(), "closed without a word");
    }
    // Frames still flow (`receive` fails the test otherwise).
    viewer.receive(5).await;
    assert_eq!(live.3.peers(), 1);
    cut_ends_all(live).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_cut_ends_the_whep_sessions_of_the_stream() {
    let live = live_with_whep().await;
    let mut a = Client::play(&live.2).await;
    let mut b = Client::play(&live.2).await;
    assert_eq!(live.3.peers(), 2);
    a.receive(5).await;
    b.receive(5).await;
    cut_ends_all(live).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ffmpeg_the_player_gets_opus_made_from_the_streams_aac() {
    if std::env::var("MOMO_TEST_FFMPEG").as_deref() != Ok("1") {
        eprintln!("SKIPPED: set MOMO_TEST_FFMPEG=1 (with ffmpeg) to bridge AAC to Opus");
        return;
    }
    let server = Server::default().await;
    let publishing = publish_forever(server.publisher().await);
    let config = media::webrtc::WebRtcConfig::default();
    let (base, webrtc) = webrtc_with(&server, config).await;
    while server.hub.stream(ROOM).is_none() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut client = Client::play(&base).await;
    assert!(client.receive(5).await);
    client.receive_audio(25).await;
    drop(client);
    publishing.abort();
    let _ = webrtc;
}
