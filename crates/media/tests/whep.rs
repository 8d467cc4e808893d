//! WHEP in this process: momo's RTMP client publishes the sample, a str0m client (the
//! same library momo answers with, here in the offering role and not ICE-lite) offers
//! to receive video over `POST /whep/42`, completes ICE and DTLS with momo's shared UDP
//! port and receives H.264 frames; `DELETE` ends the session. The same as the aiortc
//! test of momo's end-to-end suite, without Python.

use std::sync::Arc;
use std::time::{Duration, Instant};

use media::webrtc::{WebRtc, WebRtcConfig};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::{TcpListener, UdpSocket};

mod common;
use common::*;

/// The server's WHEP routes on an HTTP port of their own, over `server`'s hub.
async fn whep_on(server: &Server) -> (String, Arc<WebRtc>) {
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let webrtc = WebRtc::start(server.hub.clone(), udp, WebRtcConfig::default()).unwrap();
    let outputs = media::server::http::Outputs::new(
        server.hub.clone(),
        None,
        media::server::DEFAULT_VIEWER_FLUSH,
    );
    let routes = media::webrtc::whep::routes(webrtc.clone(), outputs);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, routes).await });
    (base, webrtc)
}

/// A WHEP player on str0m: its socket, its session, the video m-line and the session's
/// URL on the server.
struct Client {
    socket: UdpSocket,
    local: std::net::SocketAddr,
    rtc: Rtc,
    video: str0m::media::Mid,
    location: String,
}

impl Client {
    /// Offers to receive video at `base`'s WHEP endpoint for the test room.
    async fn open(base: &str) -> Client {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = socket.local_addr().unwrap();
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_h264(true)
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        let mut change = rtc.sdp_api();
        let video = change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        let res = reqwest::Client::new()
            .post(format!("{base}/whep/{ROOM}"))
            .header("content-type", "application/sdp")
            .body(offer.to_sdp_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with("/whep/42/"), "{location}");
        let answer = SdpAnswer::from_sdp_string(&res.text().await.unwrap()).unwrap();
        rtc.sdp_api().accept_answer(pending, answer).unwrap();
        Client {
            socket,
            local,
            rtc,
            video,
            location,
        }
    }

    /// Drives the session until `frames` video frames came; whether the first was a
    /// keyframe.
    async fn play(&mut self, frames: usize) -> bool {
        let mut got = 0;
        let mut keyframe_first = None;
        let mut buf = vec![0u8; 2048];
        within(15.0, "video frames over WebRTC", async {
            while got < frames {
                let timeout = loop {
                    match self.rtc.poll_output().unwrap() {
                        Output::Timeout(at) => break at,
                        Output::Transmit(t) => {
                            self.socket
                                .send_to(&t.contents, t.destination)
                                .await
                                .unwrap();
                        }
                        Output::Event(Event::MediaData(data)) if data.mid == self.video => {
                            keyframe_first.get_or_insert_with(|| annexb_has_idr(&data.data));
                            got += 1;
                        }
                        Output::Event(_) => {}
                    }
                };
                let wait = timeout.saturating_duration_since(Instant::now());
                match tokio::time::timeout(wait, self.socket.recv_from(&mut buf)).await {
                    Ok(Ok((n, source))) => {
                        let receive =
                            Receive::new(Protocol::Udp, source, self.local, &buf[..n]).unwrap();
                        self.rtc
                            .handle_input(Input::Receive(Instant::now(), receive))
                            .unwrap();
                    }
                    _ => self
                        .rtc
                        .handle_input(Input::Timeout(Instant::now()))
                        .unwrap(),
                }
            }
        })
        .await;
        keyframe_first == Some(true)
    }
}

/// Waits until `webrtc` has no peer left.
async fn no_peers_left(webrtc: &WebRtc) {
    within(5.0, "the sessions end", async {
        while webrtc.peers() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// A server publishing the sample, with WHEP.
async fn live_with_whep() -> (Server, tokio::task::JoinHandle<()>, String, Arc<WebRtc>) {
    let server = Server::default().await;
    let publishing = publish_forever(server.publisher().await);
    let (base, webrtc) = whep_on(&server).await;
    while server.hub.stream(ROOM).is_none() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (server, publishing, base, webrtc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_str0m_client_plays_an_rtmp_stream_over_whep() {
    let (_server, publishing, base, webrtc) = live_with_whep().await;
    let mut client = Client::open(&base).await;
    assert_eq!(webrtc.peers(), 1);
    assert!(client.play(10).await, "the first frame is a keyframe");

    let res = reqwest::Client::new()
        .delete(format!("{base}{}", client.location))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    no_peers_left(&webrtc).await;
    publishing.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_cut_ends_the_whep_sessions_of_the_stream() {
    let (server, publishing, base, webrtc) = live_with_whep().await;
    let mut a = Client::open(&base).await;
    let mut b = Client::open(&base).await;
    assert_eq!(webrtc.peers(), 2);
    a.play(5).await;
    b.play(5).await;
    assert!(server.hub.cut(ROOM));
    no_peers_left(&webrtc).await;
    publishing.abort();
}

/// Whether Annex B `data` holds an IDR slice (NAL type 5).
fn annexb_has_idr(data: &[u8]) -> bool {
    data.windows(4)
        .any(|w| w[..3] == [0, 0, 1] && w[3] & 0x1F == 5)
}
