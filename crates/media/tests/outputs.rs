//! End to end: the RTMP server and the HTTP outputs over one hub, on ephemeral ports,
//! in this process. momo's own RTMP client publishes the sample recording
//! (`fixtures/sample.flv`: 3 s, a keyframe every second) and plays it; reqwest plays
//! HTTP-FLV and fetches HLS; tokio-tungstenite plays WebSocket-FLV.
//!
//! The HLS segment is also checked with ffprobe when `MOMO_TEST_FFMPEG=1`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use media::client::rtmp::{play, ClientIoError, RtmpConnection, RtmpPlayer, RtmpPublisher};
use media::flv::{AudioTag, FlvReader, VideoTag};
use media::frame::{Frame, FrameKind};
use media::hub::{MediaEvent, StopReason};
use media::rtmp::chunk::{encode_standalone, Message};
use media::rtmp::message::{type_id, ControlMessage};
use media::rtmp::{ClientEvent, ClientSession};
use media::server::RtmpConfig;
use media::ts::{AUDIO_PID, PACKET_SIZE, PMT_PID, VIDEO_PID};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::broadcast;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite;

mod common;
use common::*;

// ---- Viewers ----

/// HTTP-FLV through reqwest, demuxed by momo's FLV reader.
struct HttpFlvPlayer {
    response: reqwest::Response,
    reader: FlvReader,
}

impl HttpFlvPlayer {
    async fn open(url: &str) -> HttpFlvPlayer {
        HttpFlvPlayer::open_with(&reqwest::Client::new(), url).await
    }

    async fn open_with(client: &reqwest::Client, url: &str) -> HttpFlvPlayer {
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(response.headers()["content-type"], "video/x-flv");
        HttpFlvPlayer {
            response,
            reader: FlvReader::new(),
        }
    }

    async fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.reader.poll().expect("valid FLV") {
                return Some(frame);
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.reader.push(&bytes),
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

/// WebSocket-FLV: the FLV header in the first message, then one tag per message.
struct WsFlvPlayer {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    reader: FlvReader,
}

impl WsFlvPlayer {
    async fn open(url: &str) -> WsFlvPlayer {
        let (socket, response) = tokio_tungstenite::connect_async(url).await.unwrap();
        assert_eq!(response.status(), 101);
        WsFlvPlayer {
            socket,
            reader: FlvReader::new(),
        }
    }

    async fn next_frame(&mut self) -> Option<Frame> {
        loop {
            match self.socket.next().await? {
                Ok(tungstenite::Message::Binary(bytes)) => {
                    let had_header = self.reader.header().is_some();
                    self.reader.push(&bytes);
                    let frame = self.reader.poll().expect("valid FLV");
                    // Read on past the tag's trailing size field.
                    assert_eq!(self.reader.poll().expect("valid FLV"), None);
                    assert!(
                        self.reader.is_at_tag_boundary(),
                        "one whole tag per message"
                    );
                    match frame {
                        Some(frame) => return Some(frame),
                        None => assert!(!had_header, "a message without a tag"),
                    }
                }
                Ok(tungstenite::Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}

enum Viewer {
    Rtmp(RtmpPlayer),
    HttpFlv(HttpFlvPlayer),
    WsFlv(WsFlvPlayer),
}

impl Viewer {
    async fn next_frame(&mut self) -> Option<Frame> {
        match self {
            Viewer::Rtmp(player) => player.next_frame().await.expect("rtmp play"),
            Viewer::HttpFlv(player) => player.next_frame().await,
            Viewer::WsFlv(player) => player.next_frame().await,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Viewer::Rtmp(_) => "RTMP",
            Viewer::HttpFlv(_) => "HTTP-FLV",
            Viewer::WsFlv(_) => "WebSocket-FLV",
        }
    }
}

/// A frame and when it arrived.
struct Received {
    at: Instant,
    frame: Frame,
}

/// Everything a viewer gets until its stream ends.
async fn collect(mut viewer: Viewer) -> Vec<Received> {
    let mut out = Vec::new();
    while let Some(frame) = viewer.next_frame().await {
        out.push(Received {
            at: Instant::now(),
            frame,
        });
    }
    out
}

fn frames_of(received: &[Received]) -> Vec<Frame> {
    received.iter().map(|r| r.frame.clone()).collect()
}

// ---- What a viewer must see ----

fn is_video_header(frame: &Frame) -> bool {
    frame.kind == FrameKind::Video
        && VideoTag::parse(&frame.payload).is_ok_and(|t| t.is_sequence_header())
}

fn is_audio_header(frame: &Frame) -> bool {
    frame.kind == FrameKind::Audio
        && AudioTag::parse(&frame.payload).is_ok_and(|t| t.is_sequence_header())
}

fn is_keyframe(frame: &Frame) -> bool {
    frame.kind == FrameKind::Video && VideoTag::parse(&frame.payload).is_ok_and(|t| t.is_keyframe())
}

/// Metadata, both sequence headers before any coded frame, a keyframe first, and
/// timestamps that never go back on any track.
fn assert_playable(frames: &[Frame], who: &str) {
    let first_coded = frames
        .iter()
        .position(|f| f.kind != FrameKind::Script && !is_video_header(f) && !is_audio_header(f))
        .unwrap_or_else(|| panic!("{who}: no coded frame"));
    let start = &frames[..first_coded];
    assert!(
        start
            .iter()
            .any(|f| f.kind == FrameKind::Script
                && media::rtmp::data::metadata(&f.payload).is_some()),
        "{who}: no onMetaData before the first frame"
    );
    assert!(
        start.iter().any(is_video_header),
        "{who}: no AVC sequence header"
    );
    assert!(
        start.iter().any(is_audio_header),
        "{who}: no AAC sequence header"
    );
    let first_video = frames[first_coded..]
        .iter()
        .find(|f| f.kind == FrameKind::Video)
        .unwrap_or_else(|| panic!("{who}: no video"));
    assert!(
        is_keyframe(first_video),
        "{who}: first video frame is not a keyframe"
    );
    assert_monotonic(frames, who);
}

fn assert_monotonic(frames: &[Frame], who: &str) {
    for kind in [FrameKind::Audio, FrameKind::Video] {
        let ts: Vec<u32> = frames
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| f.timestamp)
            .collect();
        if let Some(pair) = ts.windows(2).find(|p| p[1] < p[0]) {
            panic!(
                "{who}: {kind:?} timestamps go back from {} to {}",
                pair[0], pair[1]
            );
        }
    }
}

/// What a player compares: kind and bytes, without the timestamps the hub assigns.
fn content(frames: &[Frame]) -> Vec<(FrameKind, Bytes)> {
    frames.iter().map(|f| (f.kind, f.payload.clone())).collect()
}

// ---- HLS ----

/// Polls the playlist until it lists a segment, then fetches that segment.
async fn first_hls_segment(server_url: String) -> (String, Bytes) {
    loop {
        let response = reqwest::get(format!("{server_url}/index.m3u8"))
            .await
            .unwrap();
        if response.status() == 200 {
            let playlist = response.text().await.unwrap();
            if let Some(name) = playlist.lines().find(|l| l.ends_with(".ts")) {
                let segment = reqwest::get(format!("{server_url}/{name}")).await.unwrap();
                assert_eq!(segment.status(), 200);
                assert_eq!(segment.headers()["content-type"], "video/mp2t");
                return (playlist, segment.bytes().await.unwrap());
            }
        } else {
            assert_eq!(response.status(), 404, "no playlist yet is a 404");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Transport packets in sync, a PMT announcing H.264 and AAC, and PES packets of both.
fn assert_ts_with_h264_and_aac(ts: &[u8]) {
    assert!(!ts.is_empty());
    assert_eq!(ts.len() % PACKET_SIZE, 0);
    let mut video_pes = 0;
    let mut audio_pes = 0;
    let mut pmt = None;
    for p in ts.chunks(PACKET_SIZE) {
        assert_eq!(p[0], 0x47, "sync byte");
        let pid = u16::from(p[1] & 0x1F) << 8 | u16::from(p[2]);
        let unit_start = p[1] & 0x40 != 0;
        let payload_at = if p[3] & 0x20 != 0 {
            5 + usize::from(p[4])
        } else {
            4
        };
        let payload = &p[payload_at.min(PACKET_SIZE)..];
        if !unit_start {
            continue;
        }
        match pid {
            PMT_PID => pmt = Some(payload.to_vec()),
            VIDEO_PID => {
                assert_eq!(&payload[..4], &[0, 0, 1, 0xE0], "H.264 PES header");
                video_pes += 1;
            }
            AUDIO_PID => {
                assert_eq!(&payload[..4], &[0, 0, 1, 0xC0], "AAC PES header");
                audio_pes += 1;
            }
            _ => {}
        }
    }
    let pmt = pmt.expect("a PMT");
    let has = |needle: [u8; 3]| pmt.windows(3).any(|w| w == needle);
    assert!(has([0x1B, 0xE1, 0x00]), "PMT lists H.264 on pid 0x100");
    assert!(has([0x0F, 0xE1, 0x01]), "PMT lists AAC on pid 0x101");
    assert!(video_pes >= 25, "{video_pes} video PES packets");
    assert!(audio_pes >= 40, "{audio_pes} audio PES packets");
}

/// With `MOMO_TEST_FFMPEG=1`, ffprobe must see H.264 320x180 and AAC in the segment.
fn ffprobe_segment(segment: &[u8]) {
    if std::env::var("MOMO_TEST_FFMPEG").as_deref() != Ok("1") {
        eprintln!("skipped: set MOMO_TEST_FFMPEG=1 to check the HLS segment with ffprobe");
        return;
    }
    let path = std::env::temp_dir().join(format!("momo-outputs-{}-seg.ts", std::process::id()));
    std::fs::write(&path, segment).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-of", "compact"])
        .arg(&path)
        .output()
        .expect("MOMO_TEST_FFMPEG=1 needs ffprobe on the PATH");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("codec_name=h264"), "{text}");
    assert!(
        text.contains("width=320") && text.contains("height=180"),
        "{text}"
    );
    assert!(text.contains("codec_name=aac"), "{text}");
}

// ---- Hub events ----

/// The next hub event, skipping none.
async fn next_event(events: &mut broadcast::Receiver<MediaEvent>) -> MediaEvent {
    within(5.0, "hub event", events.recv()).await.unwrap()
}

// ---- The tests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_output_carries_the_published_stream() {
    let server = Server::start(
        hub_config(Duration::from_millis(100)),
        RtmpConfig::default(),
    )
    .await;
    let mut events = server.hub.events();
    let mut publisher = server.publisher().await;

    // Viewers join before the first frame, so each must get the whole stream.
    let viewers = vec![
        Viewer::Rtmp(play(server.rtmp, "live", ROOM).await.unwrap()),
        Viewer::HttpFlv(HttpFlvPlayer::open(&server.url("/live/42.flv")).await),
        Viewer::WsFlv(WsFlvPlayer::open(&server.ws_url("/live/42.flv")).await),
    ];
    assert_eq!(server.hub.stream(ROOM).unwrap().viewer_count(), 3);
    let collecting: Vec<_> = viewers
        .into_iter()
        .map(|v| {
            let name = v.name();
            (name, tokio::spawn(collect(v)))
        })
        .collect();
    let hls = tokio::spawn(first_hls_segment(server.url("/live/42")));

    let frames = sample();
    let started = Instant::now();
    within(10.0, "publishing", publisher.send_all(&frames, true))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(2900),
        "real time: {elapsed:?}"
    );
    publisher.finish().await.unwrap();

    for (name, task) in collecting {
        let received = within(5.0, name, task).await.unwrap();
        let got = frames_of(&received);
        assert_playable(&got, name);
        assert_eq!(got.len(), frames.len(), "{name}: frame count");
        assert!(
            content(&got) == content(&frames),
            "{name}: frames differ from what was published"
        );
    }

    let (playlist, segment) = within(5.0, "HLS", hls).await.unwrap();
    assert!(playlist.starts_with("#EXTM3U"), "{playlist}");
    assert_ts_with_h264_and_aac(&segment);
    ffprobe_segment(&segment);

    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::PublishStarted {
            key: ROOM.into(),
            resumed: false
        }
    );
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::PublisherLeft {
            key: ROOM.into(),
            reason: StopReason::Unpublished
        }
    );
    match next_event(&mut events).await {
        MediaEvent::StreamEnded { key, summary } => {
            assert_eq!(key, ROOM);
            assert_eq!(summary.frames_in, frames.len() as u64);
            assert_eq!(summary.frames_dropped, 0);
            assert_eq!(summary.viewers_peak, 3);
        }
        other => panic!("{other:?}"),
    }
    assert!(server.hub.stream(ROOM).is_none());
}

/// Frames until the first coded video frame, and how long that took.
async fn first_picture(viewer: &mut Viewer, since: Instant) -> (Vec<Frame>, Duration) {
    let mut frames = Vec::new();
    while let Some(frame) = viewer.next_frame().await {
        let picture = frame.kind == FrameKind::Video && !is_video_header(&frame);
        frames.push(frame);
        if picture {
            return (frames, since.elapsed());
        }
    }
    panic!("{}: stream ended before a picture", viewer.name());
}

/// Starts publishing the sample in real time and returns 1.3 s into it. Keyframes come
/// at 0, 1 and 2 s: the next one is then 700 ms away, so a picture within 500 ms can only
/// come from the cache.
async fn mid_sample(server: &Server) -> tokio::task::JoinHandle<RtmpPublisher> {
    let mut publisher = server.publisher().await;
    let publishing = tokio::spawn(async move {
        publisher.send_all(&sample(), true).await.unwrap();
        publisher
    });
    tokio::time::sleep(Duration::from_millis(1300)).await;
    publishing
}

/// A fresh connection's HTTP-FLV is served by the sniffing listener; one asked for on a
/// connection the HTTP server already holds (kept alive after another request) by the
/// HTTP server's own handler. Both start at once on the cached keyframe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_flv_plays_the_same_on_a_fresh_and_on_a_kept_alive_connection() {
    let server = Server::default().await;
    let publishing = mid_sample(&server).await;
    let kept_alive = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    // Through the HTTP server, which keeps the connection for the next request.
    let res = kept_alive
        .get(server.url("/live/43/index.m3u8"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let _ = res.bytes().await.unwrap();
    for client in [reqwest::Client::new(), kept_alive] {
        let joined = Instant::now();
        let mut viewer =
            Viewer::HttpFlv(HttpFlvPlayer::open_with(&client, &server.url("/live/42.flv")).await);
        let (frames, wait) = first_picture(&mut viewer, joined).await;
        assert!(
            wait < Duration::from_millis(500),
            "first picture after {wait:?}"
        );
        assert!(is_keyframe(frames.last().unwrap()));
    }
    // Not live on a fresh connection: the same JSON 404.
    let res = reqwest::get(server.url("/live/43.flv")).await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "stream_not_found");
    publishing.abort();
}

/// A client that sends its request head a little at a time, and one that stops halfway,
/// hold up nobody: others play meanwhile, and the trickled request is served when whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_or_stalled_request_head_delays_no_one() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::default().await;
    let publishing = mid_sample(&server).await;
    let mut stalled = TcpStream::connect(server.http).await.unwrap();
    stalled.write_all(b"GET /live/4").await.unwrap();
    let mut trickled = TcpStream::connect(server.http).await.unwrap();
    let head = b"GET /live/42.flv HTTP/1.1\r\nHost: x\r\n\r\n";
    for part in head.chunks(7) {
        trickled.write_all(part).await.unwrap();
        // Meanwhile another viewer starts at once.
        let joined = Instant::now();
        let mut other = Viewer::HttpFlv(HttpFlvPlayer::open(&server.url("/live/42.flv")).await);
        let (_, wait) = first_picture(&mut other, joined).await;
        assert!(wait < Duration::from_millis(500), "{wait:?}");
    }
    let mut answer = [0u8; 12];
    within(
        5.0,
        "the trickled request's answer",
        trickled.read_exact(&mut answer),
    )
    .await
    .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    drop(stalled);
    publishing.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_joining_mid_stream_starts_at_once_on_the_cached_keyframe() {
    let server = Server::default().await;
    let publishing = mid_sample(&server).await;

    let joined = Instant::now();
    let mut rtmp = Viewer::Rtmp(play(server.rtmp, "live", ROOM).await.unwrap());
    let (rtmp_frames, rtmp_wait) = first_picture(&mut rtmp, joined).await;
    let joined = Instant::now();
    let mut http = Viewer::HttpFlv(HttpFlvPlayer::open(&server.url("/live/42.flv")).await);
    let (http_frames, http_wait) = first_picture(&mut http, joined).await;

    for (name, frames, wait) in [
        ("RTMP", rtmp_frames, rtmp_wait),
        ("HTTP-FLV", http_frames, http_wait),
    ] {
        assert!(
            wait < Duration::from_millis(500),
            "{name}: first picture after {wait:?}"
        );
        let picture = frames.last().unwrap();
        assert!(
            is_keyframe(picture),
            "{name}: first picture is not a keyframe"
        );
        assert_eq!(picture.timestamp, 1000, "{name}: the cached GOP's keyframe");
        assert!(frames.iter().any(is_video_header), "{name}: no AVC header");
        assert!(frames.iter().any(is_audio_header), "{name}: no AAC header");
    }
    within(5.0, "publishing", publishing).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_told_and_answered_with_404() {
    let server = Server::default().await;

    // A wrong key: BadName, then the server hangs up.
    let url = format!("rtmp://{}/live", server.rtmp);
    let mut conn = RtmpConnection::connect(
        server.rtmp,
        ClientSession::publisher("live", &url, "wrong-key"),
    )
    .await
    .unwrap();
    let mut refused = None;
    while let Some(event) = within(2.0, "wrong key", conn.next_event()).await.unwrap() {
        if let ClientEvent::Status { code, .. } = event {
            refused = Some(code);
        }
    }
    assert_eq!(refused.as_deref(), Some("NetStream.Publish.BadName"));

    // An application the server does not serve: it hangs up after `connect`.
    // (Closed, or reset if our `createStream` crossed its goodbye.)
    assert!(matches!(
        RtmpPublisher::connect(server.rtmp, "other-app", KEY).await,
        Err(ClientIoError::Closed | ClientIoError::Io(_))
    ));

    // Playing a room that is not live.
    match play(server.rtmp, "live", ROOM).await {
        Err(ClientIoError::Refused { code, .. }) => {
            assert_eq!(code, "NetStream.Play.StreamNotFound")
        }
        other => panic!("{other:?}"),
    }
    for path in ["/live/42.flv", "/live/42/index.m3u8", "/live/42/seg-0.ts"] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.text().await.unwrap().contains("stream_not_found"));
    }
    match tokio_tungstenite::connect_async(server.ws_url("/live/42.flv")).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!(
            "WebSocket-FLV of a stream not live: {:?}",
            other.map(|r| r.1)
        ),
    }
}

/// A second publisher of a live key (the encoder reconnected while its old connection
/// is half-open) takes the stream over: the first is let go, the viewers stay and see
/// the second's frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_publisher_of_a_live_key_takes_over_from_the_first() {
    let server = Server::default().await;
    let frames = sample();
    let mut first = server.publisher().await;
    first.send_all(&frames[..10], false).await.unwrap();
    let mut player = play(server.rtmp, "live", ROOM).await.unwrap();
    let frame = within(2.0, "play", player.next_frame())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(frame.kind, FrameKind::Script);

    let mut second = server.publisher().await;
    within(5.0, "the first publisher is let go", async {
        while first.send(&frames[10]).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    second.send_all(&frames[10..40], false).await.unwrap();
    within(5.0, "the viewer plays on", async {
        for _ in 0..20 {
            player
                .next_frame()
                .await
                .unwrap()
                .expect("frames from the second");
        }
    })
    .await;
    let stream = server.hub.stream(ROOM).unwrap();
    assert!(stream.is_publishing());
    assert_eq!(stream.viewer_count(), 1);
}

/// The sample with every coded video frame grown to about `size` bytes by an H.264
/// filler NAL unit, so a stalled viewer fills its socket buffers within a second.
fn padded(frames: &[Frame], size: usize) -> Vec<Frame> {
    frames
        .iter()
        .map(|f| {
            let coded = f.kind == FrameKind::Video
                && VideoTag::parse(&f.payload).is_ok_and(|t| !t.is_sequence_header())
                && f.payload[1] == 1;
            if !coded || f.payload.len() >= size {
                return f.clone();
            }
            let filler = size - f.payload.len();
            let mut payload = f.payload.to_vec();
            payload.extend_from_slice(&(filler as u32 - 4).to_be_bytes());
            payload.push(0x0C); // nal_unit_type 12: filler data
            payload.extend(std::iter::repeat_n(0xFF, filler - 6));
            payload.push(0x80); // rbsp trailing bits
            Frame {
                payload: payload.into(),
                ..f.clone()
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_viewer_loses_frames_without_slowing_anyone_else() {
    let mut config = hub_config(Duration::from_millis(100));
    config.stream.viewer_queue = 16;
    let server = Server::start(config, RtmpConfig::default()).await;
    let mut events = server.hub.events();
    let mut publisher = server.publisher().await;

    // The slow viewer plays RTMP with a small receive buffer and stops reading until
    // the hub has been dropping its frames for a while. Its socket buffers fill first:
    // about 3 MB on Linux loopback, under a second of these 200 KB frames (5 MB/s).
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let socket = socket.connect(server.rtmp).await.unwrap();
    let slow = RtmpPlayer::over(socket, "live", ROOM).await.unwrap();
    let fast = Viewer::HttpFlv(HttpFlvPlayer::open(&server.url("/live/42.flv")).await);
    let fast = tokio::spawn(collect(fast));
    let stream = server.hub.stream(ROOM).unwrap();
    let slow = tokio::spawn(async move {
        let stalled = Instant::now();
        while stream.stats.frames_dropped.load(Ordering::Relaxed) == 0
            && stalled.elapsed() < Duration::from_millis(2000)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        collect(Viewer::Rtmp(slow)).await
    });

    let frames = padded(&sample(), 200_000);
    let started = Instant::now();
    publisher.send_all(&frames, true).await.unwrap();
    let elapsed = started.elapsed();
    publisher.finish().await.unwrap();
    let duration = Duration::from_millis(u64::from(frames.last().unwrap().timestamp));
    assert!(
        elapsed < duration + Duration::from_millis(500),
        "the publisher was held back: {elapsed:?} for {duration:?} of media"
    );

    // The fast viewer got everything, each frame about when it was due.
    let fast = within(5.0, "fast viewer", fast).await.unwrap();
    assert!(
        content(&frames_of(&fast)) == content(&frames),
        "fast viewer lost frames"
    );
    let first_at = fast[0].at;
    let worst_lag = fast
        .iter()
        .map(|r| {
            let due = Duration::from_millis(u64::from(r.frame.timestamp));
            r.at.duration_since(first_at).saturating_sub(due)
        })
        .max()
        .unwrap();
    assert!(
        worst_lag < Duration::from_millis(500),
        "fast viewer fell {worst_lag:?} behind"
    );

    // The slow one lost frames, counted by the hub, and resumed on a keyframe.
    let slow = frames_of(&within(10.0, "slow viewer", slow).await.unwrap());
    let coded = |frames: &[Frame]| {
        frames
            .iter()
            .filter(|f| f.kind != FrameKind::Script && !is_video_header(f) && !is_audio_header(f))
            .count()
    };
    assert!(
        coded(&slow) < coded(&frames),
        "the slow viewer lost nothing"
    );
    assert_playable(&slow, "slow viewer");
    let resync = slow
        .iter()
        .enumerate()
        .filter(|(_, f)| is_video_header(f))
        .map(|(i, _)| i)
        .nth(1)
        .expect("the video header is sent again where the slow viewer resumes");
    let next_video = slow[resync + 1..]
        .iter()
        .find(|f| f.kind == FrameKind::Video)
        .expect("video after the resync");
    assert!(
        is_keyframe(next_video),
        "resumed on a frame that is not a keyframe"
    );
    // Nothing between the missed frames and the keyframe: the gap is right before it.
    let before: Vec<&Frame> = slow[..resync]
        .iter()
        .filter(|f| f.kind == FrameKind::Video)
        .collect();
    let gap = next_video.timestamp - before.last().unwrap().timestamp;
    assert!(
        gap > 40,
        "no frames were skipped before the keyframe ({gap} ms)"
    );

    loop {
        if let MediaEvent::StreamEnded { summary, .. } = next_event(&mut events).await {
            assert!(summary.frames_dropped > 0, "{summary:?}");
            assert_eq!(summary.frames_in, frames.len() as u64);
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_back_within_the_grace_period_keeps_its_viewers() {
    let server = Server::start(hub_config(Duration::from_secs(1)), RtmpConfig::default()).await;
    let mut events = server.hub.events();
    let frames = sample();
    let first_part: Vec<Frame> = frames
        .iter()
        .filter(|f| f.timestamp < 1500)
        .cloned()
        .collect();

    let mut first = server.publisher().await;
    let viewer = Viewer::HttpFlv(HttpFlvPlayer::open(&server.url("/live/42.flv")).await);
    let viewer = tokio::spawn(async move {
        let received = collect(viewer).await;
        (received, Instant::now())
    });
    first.send_all(&first_part, true).await.unwrap();
    drop(first); // the connection drops, as when a phone changes networks
    assert!(matches!(
        next_event(&mut events).await,
        MediaEvent::PublishStarted { resumed: false, .. }
    ));
    assert!(matches!(
        next_event(&mut events).await,
        MediaEvent::PublisherLeft {
            reason: StopReason::Disconnected(_),
            ..
        }
    ));

    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = server.publisher().await;
    assert!(matches!(
        next_event(&mut events).await,
        MediaEvent::PublishStarted { resumed: true, .. }
    ));
    second.send_all(&frames, false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(second);
    let left = Instant::now();
    assert!(matches!(
        next_event(&mut events).await,
        MediaEvent::PublisherLeft { .. }
    ));

    // Nobody comes back this time: the viewer's stream ends after the grace period.
    let (received, ended) = within(5.0, "viewer", viewer).await.unwrap();
    let waited = ended.duration_since(left);
    assert!(
        waited >= Duration::from_millis(900),
        "ended {waited:?} after the publisher left"
    );
    match next_event(&mut events).await {
        MediaEvent::StreamEnded { key, summary } => {
            assert_eq!(key, ROOM);
            assert_eq!(summary.frames_in, (first_part.len() + frames.len()) as u64);
        }
        other => panic!("{other:?}"),
    }

    // One unbroken stream: both publishers' frames, time never going back.
    let got = frames_of(&received);
    assert_eq!(got.len(), first_part.len() + frames.len());
    assert_playable(&got, "viewer across the reconnect");
    let before = got[first_part.len() - 1].timestamp;
    let after = got[first_part.len()].timestamp;
    assert!(
        after > before,
        "the second publisher's frames start at {after}, after {before}"
    );
}

// ---- Bad input ----

/// A plain handshake by hand: C0+C1, read S0+S1+S2, C2.
async fn handshaken(addr: SocketAddr) -> TcpStream {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let mut hello = vec![3u8];
    hello.extend([0u8; 1536]);
    socket.write_all(&hello).await.unwrap();
    let mut answer = vec![0u8; 1 + 2 * 1536];
    socket.read_exact(&mut answer).await.unwrap();
    socket.write_all(&answer[1..1537]).await.unwrap();
    socket
}

/// How long until the server closes `socket`; fails if it takes more than `limit`.
async fn closed_after(socket: &mut TcpStream, limit: Duration, what: &str) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match timeout(limit.saturating_sub(start.elapsed()), socket.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("{what}: still open after {limit:?}"),
        }
    }
}

fn chunked(message: Message) -> Bytes {
    encode_standalone(&message, 128).unwrap()
}

fn command(stream_id: u32, values: &[media::amf0::Value]) -> Bytes {
    chunked(Message {
        csid: 3,
        timestamp: 0,
        type_id: type_id::COMMAND_AMF0,
        stream_id,
        payload: media::amf0::to_bytes(values),
    })
}

/// The whole sample played over RTMP: the server is still fine.
async fn assert_serves_normally(server: &Server) {
    let mut publisher = server.publisher().await;
    let mut player = play(server.rtmp, "live", ROOM).await.unwrap();
    let frames = sample();
    publisher.send_all(&frames, false).await.unwrap();
    publisher.finish().await.unwrap();
    let mut got = Vec::new();
    while got.len() < frames.len() {
        match within(5.0, "normal play", player.next_frame())
            .await
            .unwrap()
        {
            Some(frame) => got.push(frame),
            None => break,
        }
    }
    assert_playable(&got, "normal play");
    assert!(content(&got) == content(&frames));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_are_closed_and_the_server_serves_on() {
    let idle = Duration::from_millis(500);
    let server = Server::start(
        hub_config(Duration::from_millis(50)),
        RtmpConfig {
            idle_timeout: idle,
            ..RtmpConfig::default()
        },
    )
    .await;
    let soon = Duration::from_millis(300);
    let late = idle * 4;

    let mut socket = TcpStream::connect(server.rtmp).await.unwrap();
    socket.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    closed_after(&mut socket, soon, "HTTP instead of a handshake").await;

    for size in [0, 1 << 31] {
        let mut socket = handshaken(server.rtmp).await;
        let set = ControlMessage::SetChunkSize(size).to_message();
        socket.write_all(&chunked(set)).await.unwrap();
        closed_after(&mut socket, soon, &format!("chunk size {size}")).await;
    }

    use media::amf0::Value;
    let mut socket = handshaken(server.rtmp).await;
    let play_first = command(
        1,
        &[
            Value::String("play".into()),
            Value::Number(1.0),
            Value::Null,
            Value::String(ROOM.into()),
        ],
    );
    socket.write_all(&play_first).await.unwrap();
    closed_after(&mut socket, soon, "play before connect").await;

    // A message announced as 1000 bytes of which 10 arrive: only the idle timeout
    // ends it. So does a client that says nothing after connecting.
    let mut socket = handshaken(server.rtmp).await;
    let mut partial = vec![
        0x03,
        0,
        0,
        0,
        0,
        0x03,
        0xE8,
        type_id::COMMAND_AMF0,
        0,
        0,
        0,
        0,
    ];
    partial.extend([0x02; 10]);
    socket.write_all(&partial).await.unwrap();
    let waited = closed_after(&mut socket, late, "message that never arrives").await;
    assert!(
        waited >= idle - Duration::from_millis(100),
        "closed after {waited:?}"
    );
    let mut silent = TcpStream::connect(server.rtmp).await.unwrap();
    let waited = closed_after(&mut silent, late, "silent client").await;
    assert!(
        waited >= idle - Duration::from_millis(100),
        "closed after {waited:?}"
    );

    assert_serves_normally(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishers_missing_a_track_or_the_headers_are_served_as_they_are() {
    let server = Server::start(hub_config(Duration::from_millis(50)), RtmpConfig::default()).await;
    let mut events = server.hub.events();
    let frames = sample();
    let audio_only: Vec<Frame> = frames
        .iter()
        .filter(|f| f.kind != FrameKind::Video)
        .cloned()
        .collect();
    let video_only: Vec<Frame> = frames
        .iter()
        .filter(|f| f.kind != FrameKind::Audio)
        .cloned()
        .collect();
    let headerless: Vec<Frame> = frames
        .iter()
        .filter(|f| f.kind != FrameKind::Script && !is_video_header(f) && !is_audio_header(f))
        .cloned()
        .collect();

    for (what, sent) in [
        ("audio only", audio_only),
        ("video only", video_only),
        ("no metadata or sequence headers", headerless),
    ] {
        let mut publisher = server.publisher().await;
        let viewer = Viewer::HttpFlv(HttpFlvPlayer::open(&server.url("/live/42.flv")).await);
        let viewer = tokio::spawn(collect(viewer));
        publisher.send_all(&sent, false).await.unwrap();
        let playlist = reqwest::get(server.url("/live/42/index.m3u8"))
            .await
            .unwrap();
        assert!(
            [200, 404].contains(&playlist.status().as_u16()),
            "{what}: playlist answered {}",
            playlist.status()
        );
        publisher.finish().await.unwrap();
        let got = frames_of(&within(5.0, what, viewer).await.unwrap());
        assert!(content(&got) == content(&sent), "{what}: frames differ");
        assert_monotonic(&got, what);
        loop {
            if let MediaEvent::StreamEnded { .. } = next_event(&mut events).await {
                break;
            }
        }
    }

    assert_serves_normally(&server).await;
}
