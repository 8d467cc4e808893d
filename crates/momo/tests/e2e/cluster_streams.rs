//! Live streams across nodes, with real encoders and players: ffmpeg publishes to one
//! node and ffprobe plays from another (RTMP, HTTP-FLV, HLS, and through nginx over
//! both nodes); an origin killed with `kill -9` while an edge has viewers; an origin
//! paused while its encoder moves to another node. Runs when MOMO_TEST_POSTGRES_URL
//! and MOMO_TEST_NATS_URL are set; the ffmpeg parts also need MOMO_TEST_FFMPEG=1, the
//! nginx part MOMO_TEST_NGINX=1 (each says SKIPPED otherwise).

use std::process::{Command, Stdio};
use std::time::Duration;

use media::client::rtmp::{RtmpPlayer, RtmpPublisher};
use serde_json::{json, Value};

use crate::cluster::{
    cluster_env, join, node_config, redis_env, shared_files, start_nodes, with_redis, SERVICE_TOKEN,
};
use crate::cluster_nodes::room_and_sessions;
use crate::common::cutoff::Cutoff;
use crate::common::videos::{codecs, probe};
use crate::common::{process, TestServer, SECRET};
use crate::live::{ffmpeg_enabled, publish_looping};
use crate::proxy::nginx;

/// A room of a new anchor on `node`: its id and stream key.
async fn room_on(node: &TestServer, anchor: &str) -> (i64, String, String) {
    let user = node.register(anchor).await;
    let (status, room) = node
        .post("/api/v1/rooms", Some(&user.token), json!({}))
        .await;
    assert!(status.is_success(), "{room}");
    let key = room["stream_key"].as_str().unwrap().to_owned();
    (room["id"].as_i64().unwrap(), key, user.token)
}

/// Waits until `node` says room `id` is `status`.
async fn until_room(node: &TestServer, id: i64, status: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let (_, room) = node.get(&format!("/api/v1/rooms/{id}"), None).await;
        if room["status"] == status {
            return room;
        }
        last = room;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("room {id} is not {status}: {last}");
}

fn assert_audio_and_video(probe: &Value, what: &str) {
    let codecs = codecs(probe);
    assert!(
        codecs.iter().any(|c| c == "h264") && codecs.iter().any(|c| c == "aac"),
        "{what}: {codecs:?}"
    );
}

/// A `momo serve` process on the cluster of `first` (same database, NATS, secrets).
fn node_process(
    first: &TestServer,
    nats: &str,
    name: &str,
    dir: &std::path::Path,
) -> process::Server {
    let db = first.database_url().expect("the first node's database");
    let files = shared_files();
    process::start(
        dir.to_str().unwrap(),
        &[
            ("MOMO_DATABASE_URL", db.as_str()),
            ("MOMO_CLUSTER__NATS_URL", nats),
            ("MOMO_CLUSTER__NODE_ID", name),
            ("MOMO_AUTH__JWT_SECRET", SECRET),
            ("MOMO_CHAT__SERVICE_TOKEN", SERVICE_TOKEN),
            ("MOMO_VIDEOS__STORAGE_URL", files.as_str()),
            ("MOMO_MEDIA__GRACE_SECS", "5"),
        ],
    )
}

/// `host:port` of `node`'s RTMP server.
fn rtmp_addr(node: &TestServer) -> String {
    node.rtmp_base
        .trim_start_matches("rtmp://")
        .trim_end_matches("/live")
        .to_owned()
}

/// The media tests' sample recording, as frames.
fn sample_frames() -> Vec<media::frame::Frame> {
    media::flv::read_all(include_bytes!("../../../media/tests/fixtures/sample.flv"))
        .unwrap()
        .1
}

/// Sends frames to `publisher`, 50 a second, until the server lets it go; false if it
/// still takes them after `secs`.
async fn let_go_within(
    publisher: &mut RtmpPublisher,
    frames: &[media::frame::Frame],
    secs: u64,
) -> bool {
    tokio::time::timeout(Duration::from_secs(secs), async {
        for frame in frames.iter().cycle() {
            if publisher.send(frame).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .is_ok()
}

/// Reads `frames` frames from `player`, within `secs`.
async fn plays_on(player: &mut RtmpPlayer, frames: usize, secs: u64, what: &str) {
    tokio::time::timeout(Duration::from_secs(secs), async {
        for _ in 0..frames {
            player
                .next_frame()
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"))
                .unwrap_or_else(|| panic!("{what}: the stream ended"));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: no {frames} frames within {secs} s"));
}

#[tokio::test]
async fn ffmpeg_publishes_to_one_node_and_every_node_plays_it() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    if !ffmpeg_enabled() {
        return;
    }
    let nodes = start_nodes(2, pg, nats, |c| c.media.hls_segment_secs = 1).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let (id, key, _) = room_on(a, "edge_anchor").await;
    let _encoder = publish_looping(&format!("{}/{key}", a.rtmp_base));
    let room = until_room(b, id, "live").await;

    // From node B, which the stream was not published to.
    let rtmp = probe(&format!("{}/{id}", b.rtmp_base)).await;
    assert_audio_and_video(&rtmp, "RTMP from the edge");
    let pulled = b
        .hub()
        .stream(&id.to_string())
        .expect("B pulled the stream");
    assert!(pulled.is_relay(), "B is an edge for this stream");
    let flv = probe(&b.url(&format!("/live/{id}.flv"))).await;
    assert_audio_and_video(&flv, "HTTP-FLV from the edge");
    // The room's play URL, as B hands it out, plays.
    let flv = probe(room["play"]["flv"].as_str().unwrap()).await;
    assert_audio_and_video(&flv, "the room's play URL");

    // HLS: B serves A's segments, under A's names.
    let playlist = |node: &TestServer| {
        let url = node.url(&format!("/live/{id}/index.m3u8"));
        async move {
            for _ in 0..100 {
                let res = reqwest::get(&url).await.unwrap();
                if res.status() == 200 {
                    return res.text().await.unwrap();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("no playlist at {url}");
        }
    };
    let from_a = playlist(a).await;
    let from_b = playlist(b).await;
    let segment = |text: &str| {
        text.lines()
            .rfind(|l| l.ends_with(".ts"))
            .map(str::to_owned)
    };
    let (sa, sb) = (segment(&from_a).unwrap(), segment(&from_b).unwrap());
    assert!(
        from_a.contains(&sb) || from_b.contains(&sa),
        "both nodes name the same segments:\n{from_a}\n{from_b}"
    );
    let hls = probe(&b.url(&format!("/live/{id}/index.m3u8"))).await;
    assert_audio_and_video(&hls, "HLS from the edge");

    if let Some(bin) = nginx() {
        behind_nginx(bin, a, b, id).await;
    }
    for node in nodes {
        node.stop().await;
    }
}

/// nginx spreads HTTP and RTMP over both nodes, one request or connection each in turn:
/// every playlist, segment and stream plays whichever node nginx picks.
async fn behind_nginx(bin: &str, a: &TestServer, b: &TestServer, id: i64) {
    let dir = tempfile::tempdir().unwrap();
    let port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (http, rtmp) = (port(), port());
    let host = |base: &str| base.trim_start_matches("http://").to_owned();
    let rtmp_host = |base: &str| {
        base.trim_start_matches("rtmp://")
            .trim_end_matches("/live")
            .to_owned()
    };
    let prelude = crate::proxy::prelude(dir.path());
    let stream_module = "/usr/lib/nginx/modules/ngx_stream_module.so";
    let load = if std::path::Path::new(stream_module).exists() {
        format!("load_module {stream_module};")
    } else {
        String::new()
    };
    let conf = format!(
        r#"{load}
{prelude}  upstream momo {{ server {a_http}; server {b_http}; }}
  server {{
    listen 127.0.0.1:{http};
    location / {{
      proxy_pass http://momo;
      proxy_http_version 1.1;
      proxy_buffering off;
    }}
  }}
}}
stream {{
  upstream momo_rtmp {{ server {a_rtmp}; server {b_rtmp}; }}
  server {{ listen 127.0.0.1:{rtmp}; proxy_pass momo_rtmp; }}
}}
"#,
        a_http = host(&a.base),
        b_http = host(&b.base),
        a_rtmp = rtmp_host(&a.rtmp_base),
        b_rtmp = rtmp_host(&b.rtmp_base),
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let mut nginx = Command::new(bin)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{http}");
    let mut up = false;
    for _ in 0..100 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "nginx listens");

    // Each playlist and each segment it names, from alternating nodes.
    for _ in 0..4 {
        let res = reqwest::get(format!("{base}/live/{id}/index.m3u8"))
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "a playlist through nginx");
        let text = res.text().await.unwrap();
        for seg in text.lines().filter(|l| l.ends_with(".ts")) {
            let res = reqwest::get(format!("{base}/live/{id}/{seg}"))
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{seg} through nginx:\n{text}");
        }
    }
    let hls = probe(&format!("{base}/live/{id}/index.m3u8")).await;
    assert_audio_and_video(&hls, "HLS through nginx");
    for _ in 0..2 {
        let flv = probe(&format!("{base}/live/{id}.flv")).await;
        assert_audio_and_video(&flv, "HTTP-FLV through nginx");
        if !load.is_empty() {
            let rtmp = probe(&format!("rtmp://127.0.0.1:{rtmp}/live/{id}")).await;
            assert_audio_and_video(&rtmp, "RTMP through nginx");
        }
    }
    if load.is_empty() {
        eprintln!("SKIPPED: RTMP through nginx (no {stream_module})");
    }
    let _ = nginx.kill();
    let _ = nginx.wait();
}

/// An origin dies with `kill -9` while an edge has viewers; the encoder reconnects to
/// the edge, which becomes the origin: its viewers play on, the room stays live on one
/// session.
#[tokio::test]
async fn an_origin_killed_hard_leaves_its_edge_viewers_playing_when_the_encoder_moves() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    if !ffmpeg_enabled() {
        return;
    }
    let nodes = start_nodes(1, pg, nats.clone(), |c| c.media.grace_secs = 5).await;
    let edge = &nodes[0];
    let dir = tempfile::tempdir().unwrap();
    let origin = node_process(edge, &nats, "doomed-origin", dir.path());
    let (id, key, token) = room_on(edge, "doomed_anchor").await;
    let mut encoder = publish_looping(&format!("rtmp://{}/live/{key}", origin.rtmp));
    until_room(edge, id, "live").await;

    let mut viewer = tokio::time::timeout(
        Duration::from_secs(10),
        RtmpPlayer::connect(
            edge.rtmp_base
                .trim_start_matches("rtmp://")
                .trim_end_matches("/live"),
            "live",
            &id.to_string(),
        ),
    )
    .await
    .expect("the edge answers")
    .expect("the edge plays the origin's stream");
    plays_on(&mut viewer, 50, 10, "the edge's viewer").await;

    origin.kill_hard();
    let _ = encoder.kill().await;
    // The encoder comes back through the edge.
    let _encoder = publish_looping(&format!("{}/{key}", edge.rtmp_base));
    plays_on(
        &mut viewer,
        100,
        15,
        "the edge's viewer after its origin died",
    )
    .await;
    let stream = edge.hub().stream(&id.to_string()).unwrap();
    assert!(!stream.is_relay(), "the edge is the origin now");
    let (status, sessions) = room_and_sessions(edge, id, &token).await;
    assert_eq!(status, "live");
    assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");
    for node in nodes {
        node.stop().await;
    }
}

/// An origin that stops (SIGSTOP) while its encoder reconnects to another node: when it
/// wakes, it finds the stream's room owned elsewhere and cuts the publisher it still
/// holds; the room stays live on one session, published by one node.
#[tokio::test]
async fn a_paused_origin_cuts_its_stale_publisher_when_it_wakes() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    let nodes = start_nodes(1, pg, nats.clone(), |_| {}).await;
    let b = &nodes[0];
    let dir = tempfile::tempdir().unwrap();
    let a = node_process(b, &nats, "sleepy-origin", dir.path());
    let (id, key, token) = room_on(b, "sleepy_anchor").await;
    let frames = sample_frames();
    let mut on_a = RtmpPublisher::connect(a.rtmp.as_str(), "live", &key)
        .await
        .expect("A takes the key");
    on_a.send_all(&frames[..20], false).await.unwrap();
    until_room(b, id, "live").await;

    a.pause(true);
    let mut on_b = RtmpPublisher::connect(rtmp_addr(b), "live", &key)
        .await
        .expect("B takes the key while A sleeps");
    on_b.send_all(&frames[..20], false).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    a.pause(false);

    // A cuts its old publisher: sending to it fails soon.
    assert!(
        let_go_within(&mut on_a, &frames, 15).await,
        "A still takes the stale publisher's frames"
    );
    on_b.send_all(&frames[20..40], false)
        .await
        .expect("B's publisher stays");
    let (status, sessions) = room_and_sessions(b, id, &token).await;
    assert_eq!(status, "live");
    assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");
    drop(a);
    for node in nodes {
        node.stop().await;
    }
}

/// An origin cut off from the database (partitioned) cannot renew its hold on its
/// streams: it lets go of its publisher, the other nodes stop counting it as up, the
/// encoder comes back through another node, which takes the room over; when the
/// partition heals the old origin claims nothing back. The room stays live on one
/// session throughout.
#[tokio::test]
async fn a_partitioned_origin_lets_go_of_its_publisher() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    let nodes = start_nodes(1, pg, nats.clone(), |_| {}).await;
    let b = &nodes[0];
    let db = reqwest::Url::parse(&b.database_url().unwrap()).unwrap();
    let server = format!("{}:{}", db.host_str().unwrap(), db.port().unwrap_or(5432));
    let cutoff = Cutoff::start(server.parse().expect("PostgreSQL at an IP address")).await;
    let mut through = db.clone();
    through.set_host(Some("127.0.0.1")).unwrap();
    through.set_port(Some(cutoff.addr.port())).unwrap();
    let config = node_config("test-partitioned", &nats, &shared_files(), |_| {});
    let a = join(through.to_string(), config).await;

    let (id, key, token) = room_on(b, "partitioned_anchor").await;
    let frames = sample_frames();
    let mut on_a = RtmpPublisher::connect(rtmp_addr(&a), "live", &key)
        .await
        .expect("A takes the key");
    on_a.send_all(&frames[..20], false).await.unwrap();
    until_room(b, id, "live").await;

    cutoff.cut();
    assert!(
        let_go_within(&mut on_a, &frames, 30).await,
        "A keeps a publisher it cannot hold"
    );
    // The encoder comes back through B, which takes the room over.
    let mut on_b = RtmpPublisher::connect(rtmp_addr(b), "live", &key)
        .await
        .expect("B takes the key");
    on_b.send_all(&frames[..40], false).await.unwrap();
    cutoff.heal();
    tokio::time::sleep(Duration::from_secs(3)).await;
    on_b.send_all(&frames[40..60], false)
        .await
        .expect("B's publisher stays after A is back");
    let stream = b.hub().stream(&id.to_string()).expect("B has the stream");
    assert!(stream.is_publishing() && !stream.is_relay());
    assert!(a.hub().stream(&id.to_string()).is_none_or(|s| s.is_relay()));
    let (status, sessions) = room_and_sessions(b, id, &token).await;
    assert_eq!(status, "live");
    assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");
    a.stop().await;
    for node in nodes {
        node.stop().await;
    }
}

/// Room `id`'s audience as `node` shows it.
async fn room_viewers(node: &TestServer, id: i64) -> Option<i64> {
    node.get(&format!("/api/v1/rooms/{id}"), None).await.1["viewers"].as_i64()
}

/// A room's audience is counted over every node: players of its stream on an edge count
/// in the room's figures on its origin too (through Redis), and the edge's pull does not
/// count on the origin.
#[tokio::test]
async fn a_rooms_audience_counts_the_players_of_every_node() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    let Some(redis) = redis_env() else {
        return;
    };
    let nodes = start_nodes(2, pg, nats, with_redis(redis)).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let (id, key, _) = room_on(a, "counted_anchor").await;
    let mut encoder = RtmpPublisher::connect(rtmp_addr(a), "live", &key)
        .await
        .expect("A takes the key");
    let frames = sample_frames();
    encoder.send_all(&frames[..40], false).await.unwrap();
    until_room(a, id, "live").await;
    let mut on_b = RtmpPlayer::connect(rtmp_addr(b), "live", &id.to_string())
        .await
        .expect("B plays A's stream");
    plays_on(&mut on_b, 5, 5, "the edge's viewer").await;

    let mut seen = (None, None);
    for _ in 0..60 {
        seen = (room_viewers(a, id).await, room_viewers(b, id).await);
        if seen == (Some(1), Some(1)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen,
        (Some(1), Some(1)),
        "one viewer, on B, counted on both nodes"
    );
    drop(on_b);
    for node in nodes {
        node.stop().await;
    }
}

/// A WebRTC viewer on an edge that lost a picture asks for a keyframe: the request
/// crosses the bus to the origin, whose publisher is asked (a WHIP publisher answers
/// with a keyframe; [`media::hub::Hub::want_keyframe`]).
#[tokio::test]
async fn a_keyframe_wanted_on_an_edge_reaches_the_publisher_on_the_origin() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    let nodes = start_nodes(2, pg, nats, |_| {}).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let (id, _, _) = room_on(a, "keyframe_anchor").await;
    let publisher = a.go_live(id).await;
    let key = id.to_string();
    let _viewer = b
        .hub()
        .subscribe_or_pull(&key, media::hub::Protocol::WebRtc, None)
        .await
        .expect("B pulls the stream");
    assert!(b.hub().stream(&key).unwrap().is_relay());
    let wanted = |secs| {
        let stream = publisher.stream().clone();
        async move {
            tokio::time::timeout(Duration::from_secs(secs), stream.keyframe_wanted())
                .await
                .is_ok()
        }
    };
    assert!(!wanted(1).await, "nobody asked yet");
    b.hub().want_keyframe(&key);
    assert!(wanted(10).await, "the origin's publisher was asked");
    // The origin does not send it back: B's pull is not asked.
    let pulled = b.hub().stream(&key).unwrap();
    let back = tokio::time::timeout(Duration::from_millis(500), pulled.keyframe_wanted()).await;
    assert!(back.is_err(), "the request went round");
    drop(publisher);
    for node in nodes {
        node.stop().await;
    }
}
