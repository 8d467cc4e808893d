//! Three nodes on one PostgreSQL database, NATS and Redis: a room's first member on a
//! node is shown what was said on the others, goim's TCP clients and pushes by key reach
//! connections wherever they are, and a node hears only the users it holds. Runs when
//! MOMO_TEST_POSTGRES_URL, MOMO_TEST_NATS_URL and MOMO_TEST_REDIS_URL are set (CI sets
//! them); otherwise it says SKIPPED.

use crate::cluster::{cluster_env, redis_env, start_nodes};
use crate::common;
use crate::goim::{expect_tcp, goim, packet};

use std::time::Duration;

use common::ws::{expect_op, send, signed_in};
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Node C also speaks goim's TCP; all share a Redis prefix of their own.
async fn three_nodes(pg: String, nats: String, redis: String) -> Vec<TestServer> {
    let prefix = format!("momo-e2e3-{}-{}", std::process::id(), kit::time::now_ms());
    start_nodes(3, pg, nats, move |c| {
        c.cluster.redis_url = Some(redis.clone());
        c.cluster.redis_prefix = Some(prefix.clone());
        c.chat.tcp = Some("127.0.0.1:0".into());
    })
    .await
}

/// Waits until `node` uses Redis (it connects in the background): `/readyz` says `ok`,
/// and its gateway's link has been handed the connection (at its next online tick).
async fn until_shared(node: &TestServer) {
    crate::cluster_faults::until_ready(node, "ok").await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
}

fn heard(node: &TestServer) -> (usize, usize) {
    node.gateway().nodes().expect("a cluster node").heard()
}

#[tokio::test]
async fn three_nodes_share_recent_messages_tcp_clients_keys_and_users() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    let Some(redis) = redis_env() else { return };
    let nodes = three_nodes(pg, nats, redis).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    until_shared(a).await;
    let admin = a.admin_token("boss3").await;
    let speaker = a.register("speaker3").await;
    let viewer = a.register("viewer3").await;
    let phone = a.register("phone3").await;
    let room = 990_000 + (kit::time::now_ms() % 1000);
    let live = format!("live://{room}");

    // Said on A before anyone on C is in the room.
    let mut on_a = signed_in(a, &speaker.token, Some(&live)).await;
    for i in 0..3 {
        send(
            &mut on_a,
            json!({"op": 4, "seq": 10 + i, "body": {"text": format!("early {i}")}}),
        )
        .await;
        let echo = expect_op(&mut on_a, 1000).await;
        assert_eq!(echo["body"]["text"], format!("early {i}"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The room's first member on C is shown them, in order, once each.
    let mut on_c = signed_in(c, &viewer.token, Some(&live)).await;
    for i in 0..3 {
        let msg = expect_op(&mut on_c, 1000).await;
        assert_eq!(msg["body"]["text"], format!("early {i}"), "{msg}");
    }
    send(
        &mut on_a,
        json!({"op": 4, "seq": 20, "body": {"text": "late"}}),
    )
    .await;
    let msg = expect_op(&mut on_c, 1000).await;
    assert_eq!(
        msg["body"]["text"], "late",
        "no repeat of the early ones: {msg}"
    );

    // goim's TCP client on C: in the room, and reached by key from A.
    let addr = c.chat_tcp_addr().expect("C speaks TCP");
    let mut sock = TcpStream::connect(addr).await.unwrap();
    let auth = json!({"token": phone.token, "mid": phone.id, "key": "phone-on-c", "room_id": live});
    sock.write_all(&packet(1, 7, 1, auth.to_string().as_bytes()))
        .await
        .unwrap();
    expect_tcp(&mut sock, 8).await;
    send(
        &mut on_a,
        json!({"op": 4, "seq": 21, "body": {"text": "to tcp"}}),
    )
    .await;
    loop {
        let (_, _, _, body) = expect_tcp(&mut sock, 1000).await;
        let m: Value = serde_json::from_slice(&body).unwrap();
        if m["text"] == "to tcp" {
            break;
        }
    }
    let post = reqwest::Method::POST;
    let (status, body) = goim(
        a,
        post.clone(),
        "/goim/push/keys?operation=1000&keys=phone-on-c",
        Some(&admin),
        "to the phone on C",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(expect_tcp(&mut sock, 1000).await.3, b"to the phone on C");
    // By member through B's goim API.
    let mids = format!("/goim/push/mids?operation=1000&mids={}", phone.id);
    let (status, body) = goim(b, post, &mids, Some(&admin), "to you on C").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(expect_tcp(&mut sock, 1000).await.3, b"to you on C");

    // Each node hears the users it holds and no other: A the speaker (and the admin's
    // none), B nobody, C the viewer and the phone; the room on A and C only.
    assert_eq!(heard(a), (1, 1), "A");
    assert_eq!(heard(b), (0, 0), "B");
    assert_eq!(heard(c), (1, 2), "C");
    // When the phone hangs up, C stops hearing it; when the room empties on C, the room.
    drop(sock);
    drop(on_c);
    for _ in 0..100 {
        if heard(c) == (0, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(heard(c), (0, 0), "C lets go of what it no longer holds");
    drop(on_a);
    for node in nodes {
        node.stop().await;
    }
}

/// A phone's resumable upload whose chunks reach different nodes, processed by
/// whichever node's worker takes the job, and served by every node: the nodes keep
/// video files in one place they all reach, a directory declared shared and an
/// S3-compatible server (when MOMO_TEST_S3_URL names one).
#[tokio::test]
async fn a_resumable_upload_spread_over_nodes_is_processed_and_served_by_all() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    if !crate::videos_upload::ffmpeg_enabled() {
        return;
    }
    let small = |c: &mut momo::Config| {
        c.app.videos.min_chunk_bytes = 10_000;
        c.app.videos.max_duration_secs = 4;
    };
    spread_upload(start_nodes(2, pg.clone(), nats.clone(), small).await).await;
    let Some(endpoint) = crate::videos_s3::s3_url() else {
        return;
    };
    let bucket = crate::videos_s3::new_bucket(&endpoint, "momo-cluster").await;
    let on_s3 = move |c: &mut momo::Config| {
        crate::videos_s3::s3(&endpoint, &bucket, true)(c);
        small(c);
    };
    spread_upload(start_nodes(2, pg, nats, on_s3).await).await;
}

/// Uploads a clip in three chunks to alternating nodes, waits for it to be processed
/// and plays it from each node; stops the nodes.
async fn spread_upload(nodes: Vec<TestServer>) {
    let (a, b) = (&nodes[0], &nodes[1]);
    let ana = a.register("spread_uploader").await;
    let tmp = tempfile::tempdir().unwrap();
    let file = common::videos::make_clip(
        tmp.path(),
        "spread.mp4",
        2,
        &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"],
    );
    assert!(file.len() > 30_000, "a clip of {} bytes", file.len());
    let (status, up) = b
        .post(
            "/api/v1/uploads",
            Some(&ana.token),
            json!({"length": file.len(), "filename": "spread.mp4", "title": "Over two nodes"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    let id = up["id"].as_str().unwrap().to_owned();
    let third = file.len() / 3;
    let cuts = [0, third, 2 * third, file.len()];
    let mut video = Value::Null;
    for (i, w) in cuts.windows(2).enumerate() {
        let node = if i % 2 == 0 { a } else { b };
        let res = reqwest::Client::new()
            .patch(node.url(&format!("/api/v1/uploads/{id}")))
            .bearer_auth(&ana.token)
            .header("Upload-Offset", w[0].to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(file[w[0]..w[1]].to_vec())
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(
            status,
            StatusCode::OK,
            "chunk {i} on node {}: {body}",
            i % 2
        );
        assert_eq!(body["offset"], w[1]);
        video = body["video"].clone();
    }
    let vid = video["id"]
        .as_i64()
        .expect("the last chunk answers the video");
    let (status, reason, key) = crate::videos_upload::processed(a, vid).await;
    assert_eq!(status, "ready", "{reason:?}");
    let key = key.unwrap();
    for node in [a, b] {
        let probe = common::videos::probe(&node.url(&format!("/files/{key}"))).await;
        assert_eq!(common::videos::codecs(&probe), ["h264", "aac"]);
    }
    for node in nodes {
        node.stop().await;
    }
}

/// The room's status and its sessions, as the anchor reads them through `node`.
pub(crate) async fn room_and_sessions(node: &TestServer, room: i64, token: &str) -> (Value, Value) {
    let (_, r) = node.get(&format!("/api/v1/rooms/{room}"), None).await;
    let (_, sessions) = node
        .get(&format!("/api/v1/rooms/{room}/sessions"), Some(token))
        .await;
    (r["status"].clone(), sessions["items"].clone())
}

/// An encoder that moves to another node keeps its room live and its session whole:
/// the old node's publisher is cut when the new one starts (a half-open connection
/// does not linger as a second publisher), the stream that ends there does not take
/// the room offline, and when the stream ends on its new node the room goes offline
/// with one session.
#[tokio::test]
async fn a_stream_that_moves_to_another_node_keeps_its_room_and_its_session() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    let nodes = start_nodes(2, pg, nats, |c| c.media.grace_secs = 1).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let anchor = a.register("moving_anchor").await;
    let (status, room) = a
        .post("/api/v1/rooms", Some(&anchor.token), json!({}))
        .await;
    assert!(status.is_success(), "{room}");
    let room = room["id"].as_i64().unwrap();
    let key = room.to_string();

    let on_a = a.go_live(room).await;
    // The encoder comes back through node B while A still holds its old connection.
    let on_b = b.hub().publish(&key).expect("B takes the stream");
    let mut cut = false;
    for _ in 0..100 {
        if a.hub().stream(&key).is_none() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cut, "A cut its publisher once the stream moved to B");
    // Past A's grace period: the room is still live, on its first session.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (status, sessions) = room_and_sessions(a, room, &anchor.token).await;
    assert_eq!(status, "live", "{sessions}");
    assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");
    assert!(sessions[0]["ended_at"].is_null(), "{sessions}");
    drop(on_a);

    // The stream ends on B: offline after B's grace, one session, closed.
    drop(on_b);
    let mut last = (Value::Null, Value::Null);
    for _ in 0..100 {
        last = room_and_sessions(b, room, &anchor.token).await;
        if last.0 == "offline" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last.0, "offline", "{:?}", last.1);
    assert_eq!(last.1.as_array().map(Vec::len), Some(1), "{}", last.1);
    assert_eq!(last.1[0]["end_reason"], "ended", "{}", last.1);
    for node in nodes {
        node.stop().await;
    }
}
