//! NATS and Redis going away under running nodes, and a node that starts while NATS is
//! away: the nodes keep serving what they can alone, `/readyz` says what is degraded,
//! and they recover by themselves. Each test runs a NATS or Redis server of its own (the
//! machine's are shared by every test); they run when MOMO_TEST_POSTGRES_URL is set and
//! the machine has `nats-server` and `redis-server` (CI has both); otherwise SKIPPED.

use crate::cluster::{start_nodes, SERVICE_TOKEN};
use crate::common;

use std::time::Duration;

use common::services::OwnServer;
use common::ws::{expect_op, send, signed_in, Ws};
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn postgres() -> Option<String> {
    let pg = std::env::var("MOMO_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty());
    if pg.is_none() {
        eprintln!("SKIPPED: set MOMO_TEST_POSTGRES_URL to run the cluster fault tests");
    }
    pg
}

/// Polls `/readyz` until its status is `want` (within 40 s: NATS's client waits longer
/// between attempts the longer a server is away); returns the last answer.
pub(crate) async fn until_ready(node: &TestServer, want: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..400 {
        let (status, health) = node.get("/readyz", None).await;
        assert_eq!(status, StatusCode::OK, "{health}");
        if health["status"] == want {
            return health;
        }
        last = health;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz never said {want}: {last}");
}

/// Sends room messages from `from` until one reaches `to` (a subscription restored
/// after an outage takes effect a moment after the connection): the text that arrived.
async fn until_crosses(from: &mut Ws, to: &mut Ws) -> String {
    for i in 0..50 {
        let text = format!("probe {i}");
        send(
            from,
            json!({"op": 4, "seq": 100 + i, "body": {"text": text}}),
        )
        .await;
        if let Some(m) = common::ws::sees_op_within(to, 1000, Duration::from_millis(400)).await {
            return m["body"]["text"].as_str().unwrap_or_default().to_owned();
        }
    }
    panic!("no room message crossed the nodes");
}

/// Waits until `node` counts `want` people in `room` (counts are written and read
/// every 2 s).
async fn until_online(node: &TestServer, room: i64, want: i64) {
    let path = format!("/api/v1/online/rooms/{room}");
    let mut last = Value::Null;
    for _ in 0..150 {
        let (_, body) = node.get(&path, Some(SERVICE_TOKEN)).await;
        if body["online"] == want {
            return;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the room's count never became {want}: {last}");
}

/// `username` (registered with the tests' password) signs in through `node`.
async fn signs_in(node: &TestServer, username: &str) {
    let login = json!({"username": username, "password": "password-123"});
    let (status, body) = node.post("/api/v1/auth/login", None, login).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn danmaku_limit_off(c: &mut momo::Config) {
    c.chat.send_per_sec = 100;
}

#[tokio::test]
async fn nats_away_mid_run_then_back() {
    let Some(pg) = postgres() else { return };
    let Some(mut nats) = OwnServer::nats() else {
        return;
    };
    nats.start();
    let nodes = start_nodes(2, pg, nats.url(), danmaku_limit_off).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let speaker = a.register("nats_speaker").await;
    let near = a.register("nats_near").await;
    let far = a.register("nats_far").await;
    let room = "live://4401";
    let mut s = signed_in(a, &speaker.token, Some(room)).await;
    let mut n = signed_in(a, &near.token, Some(room)).await;
    let mut f = signed_in(b, &far.token, Some(room)).await;
    until_crosses(&mut s, &mut f).await;

    nats.stop();
    for node in [a, b] {
        let health = until_ready(node, "degraded").await;
        assert!(
            health["degraded"][0].as_str().unwrap().contains("NATS"),
            "{health}"
        );
    }
    // A serves its own members alone: the room on A, sign-in, the API.
    send(
        &mut s,
        json!({"op": 4, "seq": 50, "body": {"text": "while away"}}),
    )
    .await;
    loop {
        let m = expect_op(&mut n, 1000).await;
        if m["body"]["text"] == "while away" {
            break;
        }
    }
    signs_in(b, "nats_far").await;

    nats.start();
    for node in [a, b] {
        until_ready(node, "ok").await;
    }
    until_crosses(&mut s, &mut f).await;
    drop((s, n, f));
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test]
async fn a_node_started_while_nats_is_away_joins_when_it_comes() {
    let Some(pg) = postgres() else { return };
    let Some(mut nats) = OwnServer::nats() else {
        return;
    };
    // Nothing listens at the URL yet: both nodes start all the same.
    let nodes = start_nodes(2, pg, nats.url(), danmaku_limit_off).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    for node in [a, b] {
        let health = until_ready(node, "degraded").await;
        assert!(
            health["degraded"][0].as_str().unwrap().contains("NATS"),
            "{health}"
        );
    }
    let speaker = a.register("early_speaker").await;
    let far = a.register("early_far").await;
    let room = "live://4402";
    // Joined while NATS is away: the room's subscription waits in the client.
    let mut s = signed_in(a, &speaker.token, Some(room)).await;
    let mut f = signed_in(b, &far.token, Some(room)).await;

    nats.start();
    for node in [a, b] {
        until_ready(node, "ok").await;
    }
    until_crosses(&mut s, &mut f).await;
    // And a push to the far member's account through A reaches B.
    let (status, body) = a
        .post(
            "/api/v1/push/users",
            Some(SERVICE_TOKEN),
            json!({"user_ids": [far.id], "body": {"hello": "late"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    loop {
        let m = expect_op(&mut f, 1000).await;
        if m["body"]["hello"] == "late" {
            break;
        }
    }
    drop((s, f));
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test]
async fn redis_away_mid_run_then_back() {
    let Some(pg) = postgres() else { return };
    let (Some(mut nats), Some(mut redis)) = (OwnServer::nats(), OwnServer::redis()) else {
        return;
    };
    nats.start();
    redis.start();
    let redis_url = redis.url();
    let nodes = start_nodes(2, pg, nats.url(), move |c| {
        c.cluster.redis_url = Some(redis_url.clone());
        c.chat.heartbeat_timeout_secs = 600;
    })
    .await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let x = a.register("redis_x").await;
    let y = a.register("redis_y").await;
    let room = 4403;
    let live = format!("live://{room}");
    let _on_a = signed_in(a, &x.token, Some(&live)).await;
    let _on_b = signed_in(b, &y.token, Some(&live)).await;
    until_online(a, room, 2).await;

    redis.stop();
    for node in [a, b] {
        let health = until_ready(node, "degraded").await;
        assert!(health.to_string().contains("Redis"), "{health}");
    }
    // Each node counts its own members, and signs people in.
    until_online(a, room, 1).await;
    signs_in(b, "redis_y").await;

    redis.start();
    for node in [a, b] {
        until_ready(node, "ok").await;
    }
    until_online(b, room, 2).await;
    for node in nodes {
        node.stop().await;
    }
}
