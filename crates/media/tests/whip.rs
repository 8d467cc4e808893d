//! WHIP in this process: a str0m client publishes the sample's H.264 over `POST
//! /whip/{key}`; the stream enters the hub as an RTMP publish would (events, a sequence
//! header then a keyframe for every viewer, HLS), momo asks the publisher for keyframes
//! on its own, a WebRTC viewer's request reaches it, and `DELETE` or an operator's cut
//! ends it. Refusals are checked by name. The aiortc test of momo's end-to-end suite
//! adds audio through ffmpeg.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use media::flv::VideoTag;
use media::frame::FrameKind;
use media::hub::{MediaEvent, Protocol, StopReason};
use str0m::media::KeyframeRequestKind;

mod common;
use common::webrtc::*;
use common::*;

/// Waits for the next event matching `want`.
async fn event(
    events: &mut tokio::sync::broadcast::Receiver<MediaEvent>,
    want: impl Fn(&MediaEvent) -> bool,
) -> MediaEvent {
    within(10.0, "a media event", async {
        loop {
            let e = events.recv().await.unwrap();
            if want(&e) {
                return e;
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_str0m_client_publishes_over_whip_and_the_hub_serves_it() {
    let server = Server::default().await;
    let (base, webrtc) = webrtc_on(&server).await;
    let mut events = server.hub.events();
    let mut client = Client::publish(&base).await;
    let location = client.location.clone();
    let requests = client.requests.clone();
    let publishing = tokio::spawn(async move {
        client.send_sample(Duration::from_secs(4)).await;
    });

    let started = event(&mut events, |e| {
        matches!(e, MediaEvent::PublishStarted { .. })
    })
    .await;
    assert_eq!(
        started,
        MediaEvent::PublishStarted {
            key: ROOM.into(),
            resumed: false
        }
    );
    // A viewer joining gets a sequence header, then a keyframe, then rising times.
    let mut sub = within(5.0, "the stream", async {
        loop {
            if let Some(sub) = server.hub.subscribe(ROOM, Protocol::Rtmp) {
                return sub;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let mut video = Vec::new();
    within(10.0, "video frames from the WHIP publisher", async {
        while video.len() < 30 {
            let p = sub.rx.recv().await.unwrap();
            if p.frame.kind == FrameKind::Video {
                video.push(p.frame.clone());
            }
        }
    })
    .await;
    let first = VideoTag::parse(&video[0].payload).unwrap();
    assert!(first.is_sequence_header(), "a sequence header first");
    assert!(VideoTag::parse(&video[1].payload).unwrap().is_keyframe());
    for pair in video[1..].windows(2) {
        assert!(pair[1].timestamp >= pair[0].timestamp, "times rise");
    }
    let span = video.last().unwrap().timestamp - video[1].timestamp;
    assert!(
        (800..=2000).contains(&span),
        "28 frames at 25 fps: {span} ms"
    );

    // HLS cuts segments from it.
    within(10.0, "an HLS playlist", async {
        loop {
            let stream = server.hub.stream(ROOM).unwrap();
            if stream.hls_playlist().is_some_and(|p| p.contains(".ts")) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;

    publishing.await.unwrap();
    // Asked at the start and every 500 ms (the test's interval) over 4 s.
    let requests = requests.load(Ordering::Relaxed);
    assert!(requests >= 4, "keyframe requests: {requests}");

    let res = reqwest::Client::new()
        .delete(format!("{base}{location}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let left = event(&mut events, |e| {
        matches!(e, MediaEvent::PublisherLeft { .. })
    })
    .await;
    assert_eq!(
        left,
        MediaEvent::PublisherLeft {
            key: ROOM.into(),
            reason: StopReason::Unpublished
        }
    );
    no_peers_left(&webrtc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewers_keyframe_request_reaches_the_whip_publisher_and_a_cut_ends_it() {
    let server = Server::default().await;
    // No periodic request within the test: the only ones are the first and the viewer's.
    let (base, webrtc) = webrtc_every(&server, Duration::from_secs(600)).await;
    let mut client = Client::publish(&base).await;
    let requests = client.requests.clone();
    let publishing = tokio::spawn(async move {
        client.send_sample(Duration::from_secs(60)).await;
    });
    let mut viewer = within(10.0, "the stream to play", async {
        loop {
            if server.hub.stream(ROOM).is_some_and(|s| s.is_publishing()) {
                return Client::play(&base).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(viewer.receive(10).await, "the viewer starts on a keyframe");
    assert_eq!(webrtc.peers(), 2);
    // Asked when it connected, and again if its first keyframe was late (a loaded
    // machine): from here on the stream flows.
    let before = requests.load(Ordering::Relaxed);
    assert!(before >= 1, "asked when it connected");
    // The viewer lost a picture: its PLI, and a burst of them, reach the publisher
    // as one request.
    for _ in 0..5 {
        let mut writer = viewer.rtc.writer(viewer.video).unwrap();
        writer
            .request_keyframe(None, KeyframeRequestKind::Pli)
            .unwrap();
    }
    within(5.0, "the viewer's request to reach the publisher", async {
        while requests.load(Ordering::Relaxed) == before {
            viewer
                .drive_until(Instant::now() + Duration::from_millis(50), |_| {})
                .await;
        }
    })
    .await;
    viewer
        .drive_until(Instant::now() + Duration::from_millis(800), |_| {})
        .await;
    assert_eq!(requests.load(Ordering::Relaxed), before + 1);

    assert!(server.hub.cut(ROOM));
    no_peers_left(&webrtc).await;
    publishing.abort();
}

/// `(status, error code)` of a WHIP `POST` with `body`.
async fn post(url: &str, content_type: &str, auth: Option<&str>, body: String) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let json: serde_json::Value = res.json().await.unwrap_or_default();
    let code = json["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, code)
}

#[tokio::test]
async fn whip_refuses_what_it_cannot_take_with_clear_errors() {
    let server = Server::default().await;
    let (base, webrtc) = webrtc_on(&server).await;
    let offer = str0m_offer();
    let sdp = "application/sdp";
    let cases = [
        (
            format!("{base}/whip/wrong-key"),
            sdp,
            None,
            offer.clone(),
            403,
            "unknown_key",
        ),
        (
            format!("{base}/whip"),
            sdp,
            Some("Bearer wrong-key"),
            offer.clone(),
            403,
            "unknown_key",
        ),
        (
            format!("{base}/whip"),
            sdp,
            None,
            offer.clone(),
            401,
            "unauthorized",
        ),
        (
            format!("{base}/whip/{KEY}"),
            "text/plain",
            None,
            offer.clone(),
            415,
            "unsupported_media_type",
        ),
        (
            format!("{base}/whip/{KEY}"),
            sdp,
            None,
            "v=0\r\nnonsense".into(),
            400,
            "bad_sdp",
        ),
        (
            format!("{base}/whip/{KEY}"),
            sdp,
            None,
            offer.replace("H264", "H265"),
            400,
            "unsupported_codecs",
        ),
        (
            format!("{base}/whip/{KEY}"),
            sdp,
            None,
            "v=0\r\n".repeat(20_000),
            413,
            "payload_too_large",
        ),
    ];
    for (url, content_type, auth, body, status, code) in cases {
        assert_eq!(
            post(&url, content_type, auth, body).await,
            (status, code.to_owned()),
            "{url} {content_type} {auth:?}"
        );
    }
    // The key as a bearer token publishes.
    let (status, _) = post(
        &format!("{base}/whip"),
        sdp,
        Some(&format!("Bearer {KEY}")),
        offer,
    )
    .await;
    assert_eq!(status, 201);
    let res = reqwest::Client::new()
        .delete(format!("{base}/whip/{ROOM}/not-a-session"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(webrtc.peers(), 1, "only the accepted offer made a peer");
}

/// A str0m offer to send H.264.
fn str0m_offer() -> String {
    use str0m::media::{Direction, MediaKind};
    let mut rtc = str0m::Rtc::builder()
        .clear_codecs()
        .enable_h264(true)
        .build(std::time::Instant::now());
    let local = "127.0.0.1:9".parse().unwrap();
    rtc.add_local_candidate(str0m::Candidate::host(local, "udp").unwrap());
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, _) = change.apply().unwrap();
    offer.to_sdp_string()
}
