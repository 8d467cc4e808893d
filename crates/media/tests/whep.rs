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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_str0m_client_plays_an_rtmp_stream_over_whep() {
    let server = Server::default().await;
    let publishing = publish_forever(server.publisher().await);
    let (base, webrtc) = whep_on(&server).await;
    while server.hub.stream(ROOM).is_none() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The client's offer: receive video.
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
    assert_eq!(webrtc.peers(), 1);

    // Drive the client until it has received video frames.
    let mut frames = 0;
    let mut keyframe_first = None;
    let mut buf = vec![0u8; 2048];
    within(15.0, "ten video frames over WebRTC", async {
        while frames < 10 {
            let timeout = loop {
                match rtc.poll_output().unwrap() {
                    Output::Timeout(at) => break at,
                    Output::Transmit(t) => {
                        socket.send_to(&t.contents, t.destination).await.unwrap();
                    }
                    Output::Event(Event::MediaData(data)) if data.mid == video => {
                        if keyframe_first.is_none() {
                            // An IDR (or the SPS before it) in the first frame's NALs.
                            keyframe_first = Some(annexb_has_idr(&data.data));
                        }
                        frames += 1;
                    }
                    Output::Event(_) => {}
                }
            };
            let wait = timeout.saturating_duration_since(Instant::now());
            match tokio::time::timeout(wait, socket.recv_from(&mut buf)).await {
                Ok(Ok((n, source))) => {
                    let receive = Receive::new(Protocol::Udp, source, local, &buf[..n]).unwrap();
                    rtc.handle_input(Input::Receive(Instant::now(), receive))
                        .unwrap();
                }
                _ => rtc.handle_input(Input::Timeout(Instant::now())).unwrap(),
            }
        }
    })
    .await;
    assert_eq!(keyframe_first, Some(true), "the first frame is a keyframe");

    let res = reqwest::Client::new()
        .delete(format!("{base}{location}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    within(5.0, "the session ends", async {
        while webrtc.peers() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    publishing.abort();
}

/// Whether Annex B `data` holds an IDR slice (NAL type 5).
fn annexb_has_idr(data: &[u8]) -> bool {
    data.windows(4)
        .any(|w| w[..3] == [0, 0, 1] && w[3] & 0x1F == 5)
}
