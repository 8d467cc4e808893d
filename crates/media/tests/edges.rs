//! Edges, in this process: a stream published to one server (its origin) plays from
//! another, which pulls it over RTMP once for all its viewers, serves the origin's HLS,
//! follows the stream when it moves, stops after its last viewer, and gives way to an
//! encoder that publishes the key to it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use media::client::rtmp::{play, RtmpPlayer};
use media::frame::{Frame, FrameKind};
use media::hub::{HubConfig, LocateFuture, Origins, PullConfig, StreamConfig, Upstream};
use media::server::RtmpConfig;

mod common;
use common::*;

/// Origins as a test sets them: the stream is on `upstream`'s server, or nowhere.
#[derive(Default)]
struct TestOrigins(Mutex<Option<Upstream>>);

impl TestOrigins {
    fn point_at(&self, server: Option<&Server>) {
        *self.0.lock().unwrap() = server.map(|s| Upstream {
            node: s.rtmp.to_string(),
            rtmp: s.rtmp.to_string(),
            http: format!("http://{}", s.http),
            name: ROOM.to_owned(),
        });
    }
}

impl Origins for TestOrigins {
    fn locate(&self, key: &str) -> LocateFuture<'_> {
        let found = self.0.lock().unwrap().clone().filter(|_| key == ROOM);
        Box::pin(async move { found })
    }
}

fn hub() -> HubConfig {
    HubConfig {
        grace: Duration::from_secs(3),
        stream: StreamConfig {
            hls_target_ms: 1000,
            ..StreamConfig::default()
        },
    }
}

/// An origin and an edge that pulls from it (or from wherever `origins` says).
async fn origin_and_edge(idle: Duration) -> (Server, Server, Arc<TestOrigins>) {
    let origin = Server::start(hub(), RtmpConfig::default()).await;
    let origins = Arc::new(TestOrigins::default());
    origins.point_at(Some(&origin));
    let pulls = PullConfig {
        idle,
        retry: Duration::from_millis(100),
        ..PullConfig::default()
    };
    let edge =
        Server::start_edge(hub(), RtmpConfig::default(), Some((origins.clone(), pulls))).await;
    (origin, edge, origins)
}

/// Reads `player` until a keyframe came, checking that it started with the codec
/// headers; returns the frames read.
async fn starts_with_a_picture(player: &mut RtmpPlayer, who: &str) -> Vec<Frame> {
    let mut frames = Vec::new();
    within(5.0, who, async {
        while let Some(frame) = player.next_frame().await.unwrap() {
            let keyframe = frame.kind == FrameKind::Video
                && frame.payload.len() > 1
                && frame.payload[0] >> 4 == 1
                && frame.payload[1] == 1;
            frames.push(frame);
            if keyframe {
                return;
            }
        }
        panic!("{who}: the stream ended before a picture");
    })
    .await;
    let first_video = frames.iter().find(|f| f.kind == FrameKind::Video).unwrap();
    assert_eq!(
        first_video.payload[1], 0,
        "{who}: the AVC header comes first"
    );
    frames
}

/// Reads 20 frames from `viewer`, within 5 s.
async fn plays_on(viewer: &mut RtmpPlayer, what: &str) {
    within(5.0, what, async {
        for _ in 0..20 {
            viewer.next_frame().await.unwrap().expect(what);
        }
    })
    .await
}

/// The origin has the stream from `publisher`, published over and over.
async fn publishing_to(server: &Server) -> tokio::task::JoinHandle<()> {
    let publishing = publish_forever(server.publisher().await);
    until(5.0, "the origin has the stream", || {
        server.hub.stream(ROOM).is_some()
    })
    .await;
    publishing
}

/// Waits until `check` holds, up to `secs`.
async fn until(secs: f64, what: &str, check: impl Fn() -> bool) {
    within(secs, what, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_serves_every_viewer_from_one_pull_and_the_origins_hls() {
    let (origin, edge, _origins) = origin_and_edge(Duration::from_secs(10)).await;
    let publishing = publishing_to(&origin).await;

    let mut first = play(edge.rtmp, "live", ROOM)
        .await
        .expect("the edge plays it");
    starts_with_a_picture(&mut first, "the edge's first viewer").await;
    let mut second = play(edge.rtmp, "live", ROOM).await.unwrap();
    starts_with_a_picture(&mut second, "the edge's second viewer").await;
    let http = reqwest::get(edge.url("/live/42.flv")).await.unwrap();
    assert_eq!(http.status(), 200, "HTTP-FLV from the edge");

    let pulled = edge.hub.stream(ROOM).expect("the edge holds the stream");
    assert!(pulled.is_relay());
    assert_eq!(pulled.viewer_count(), 3);
    drop(http);
    assert_eq!(
        origin.hub.stream(ROOM).unwrap().viewer_count(),
        1,
        "one pull for all of the edge's viewers"
    );
    assert_eq!(
        origin.hub.stream(ROOM).unwrap().audience(),
        0,
        "a pull is not in the origin's audience: its viewers count on the edge"
    );
    assert_eq!(pulled.audience(), 1, "the edge's viewers, once per address");

    // HLS: the origin's own playlist and segments, not the edge's.
    let playlist = within(6.0, "a playlist", async {
        loop {
            let res = reqwest::get(origin.url("/live/42/index.m3u8"))
                .await
                .unwrap();
            if res.status() == 200 {
                return res.text().await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    let from_edge = reqwest::get(edge.url("/live/42/index.m3u8")).await.unwrap();
    assert_eq!(from_edge.status(), 200);
    let from_edge = from_edge.text().await.unwrap();
    let segment = playlist.lines().find(|l| l.ends_with(".ts")).unwrap();
    assert!(
        from_edge.contains(segment),
        "the same names:\n{playlist}\n{from_edge}"
    );
    let a = reqwest::get(origin.url(&format!("/live/42/{segment}")))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let b = reqwest::get(edge.url(&format!("/live/42/{segment}")))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(!a.is_empty());
    assert_eq!(a, b, "the same bytes from both nodes");
    let missing = reqwest::get(edge.url("/live/7/index.m3u8")).await.unwrap();
    assert_eq!(missing.status(), 404, "a stream live nowhere");
    publishing.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_stops_after_its_last_viewer_and_gives_way_to_an_encoder() {
    let (origin, edge, _origins) = origin_and_edge(Duration::from_millis(300)).await;
    let publishing = publishing_to(&origin).await;

    let mut viewer = play(edge.rtmp, "live", ROOM).await.unwrap();
    starts_with_a_picture(&mut viewer, "a viewer").await;
    drop(viewer);
    until(5.0, "the pull stops without viewers", || {
        edge.hub.stream(ROOM).is_none() && origin.hub.stream(ROOM).unwrap().viewer_count() == 0
    })
    .await;

    // Pulled again for a new viewer; then the encoder moves to the edge.
    let mut viewer = play(edge.rtmp, "live", ROOM).await.unwrap();
    starts_with_a_picture(&mut viewer, "a viewer again").await;
    let moved = publish_forever(edge.publisher().await);
    until(5.0, "the encoder here replaces the pull", || {
        edge.hub.stream(ROOM).is_some_and(|s| !s.is_relay())
            && origin.hub.stream(ROOM).unwrap().viewer_count() == 0
    })
    .await;
    plays_on(&mut viewer, "the viewer goes on").await;
    publishing.abort();
    moved.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_follows_its_stream_to_another_origin() {
    let (origin, edge, origins) = origin_and_edge(Duration::from_secs(10)).await;
    let publishing = publishing_to(&origin).await;
    let mut viewer = play(edge.rtmp, "live", ROOM).await.unwrap();
    starts_with_a_picture(&mut viewer, "a viewer").await;

    // The encoder moves to a third node; the old origin cuts its stream.
    let other = Server::start(hub(), RtmpConfig::default()).await;
    let moved = publishing_to(&other).await;
    origins.point_at(Some(&other));
    publishing.abort();
    assert!(origin.hub.cut(ROOM));

    until(5.0, "the edge pulls from the new origin", || {
        other.hub.stream(ROOM).unwrap().viewer_count() == 1
    })
    .await;
    plays_on(&mut viewer, "the viewer goes on").await;

    // Offline everywhere: the edge's viewers are let go at once.
    origins.point_at(None);
    assert!(other.hub.cut(ROOM));
    within(5.0, "the viewer is let go", async {
        while viewer.next_frame().await.ok().flatten().is_some() {}
    })
    .await;
    until(5.0, "the edge forgets the stream", || {
        edge.hub.stream(ROOM).is_none()
    })
    .await;
    moved.abort();
}
