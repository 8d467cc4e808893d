//! Two nodes on one PostgreSQL database, their events carried by a real NATS server:
//! what one node does reaches the sockets of the other. Runs when both
//! MOMO_TEST_POSTGRES_URL and MOMO_TEST_NATS_URL are set (CI sets them); otherwise it
//! says SKIPPED.

use crate::common;

use common::ws::{expect_op, next_json, send, signed_in};
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

pub(crate) const SERVICE_TOKEN: &str = "cluster-service-token-for-tests";

pub(crate) fn cluster_env() -> Option<(String, String)> {
    let pg = std::env::var("MOMO_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty());
    let nats = std::env::var("MOMO_TEST_NATS_URL")
        .ok()
        .filter(|s| !s.is_empty());
    match (pg, nats) {
        (Some(pg), Some(nats)) => Some((pg, nats)),
        _ => {
            eprintln!(
                "SKIPPED: set MOMO_TEST_POSTGRES_URL and MOMO_TEST_NATS_URL to run the \
                 two-node tests"
            );
            None
        }
    }
}

/// Node A on a fresh PostgreSQL database, node B on the same one, both on NATS.
async fn two_nodes(pg: String, nats: String) -> (TestServer, TestServer) {
    two_nodes_with(pg, nats, |_| {}).await
}

/// [`two_nodes`], each node's configuration changed by `tweak` too.
async fn two_nodes_with(
    pg: String,
    nats: String,
    tweak: impl Fn(&mut momo::Config) + Clone + Send + 'static,
) -> (TestServer, TestServer) {
    let mut nodes = start_nodes(2, pg, nats, tweak).await;
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    (a, b)
}

/// `count` nodes, `test-a`, `test-b`, …: the first on a fresh PostgreSQL database, the
/// others on the same one, all on NATS at `nats`, each configuration changed by `tweak`.
pub(crate) async fn start_nodes(
    count: usize,
    pg: String,
    nats: String,
    tweak: impl Fn(&mut momo::Config) + Clone + Send + 'static,
) -> Vec<TestServer> {
    let mut nodes: Vec<TestServer> = Vec::with_capacity(count);
    // The nodes' video files: one directory they all use (declared shared).
    let files = shared_files();
    for i in 0..count {
        let name = format!("test-{}", (b'a' + i as u8) as char);
        let config = node_config(&name, &nats, &files, tweak.clone());
        let node = match nodes.first() {
            None => TestServer::start_with(common::Backend::Postgres(pg.clone()), config).await,
            Some(first) => {
                let db = first.database_url().expect("the first node's database");
                join(db, config).await
            }
        };
        nodes.push(node);
    }
    nodes
}

/// What makes node `name` a node of the tests' cluster, then `tweak`.
pub(crate) fn node_config(
    name: &str,
    nats: &str,
    files: &str,
    tweak: impl Fn(&mut momo::Config) + Send + 'static,
) -> impl FnOnce(&mut momo::Config) + Send + 'static {
    let (name, nats, files) = (name.to_owned(), nats.to_owned(), files.to_owned());
    move |c: &mut momo::Config| {
        c.cluster.nats_url = Some(nats);
        c.cluster.node_id = Some(name);
        c.app.videos.storage_url = files;
        c.chat.service_token = Some(SERVICE_TOKEN.into());
        tweak(c);
    }
}

/// A node on database `db` (a cluster's, or a way to it) configured by `config`.
pub(crate) async fn join(
    db: String,
    config: impl FnOnce(&mut momo::Config) + Send + 'static,
) -> TestServer {
    TestServer::start_with(common::Backend::Sqlite, move |c| {
        c.database_url = Some(db);
        config(c);
    })
    .await
}

/// A directory for the video files of one test's nodes, as `file:///…` (left in the
/// system's temporary directory, like the tests' databases' files).
pub(crate) fn shared_files() -> String {
    let dir = std::env::temp_dir().join(format!(
        "momo-e2e-files-{}-{}",
        std::process::id(),
        kit::time::now_ms()
    ));
    std::fs::create_dir_all(&dir).expect("a directory for the nodes' files");
    format!("file://{}", dir.display())
}

/// Both nodes keep their counts in the test Redis, under a prefix of their own.
pub(crate) fn with_redis(redis: String) -> impl Fn(&mut momo::Config) + Clone + Send + 'static {
    let prefix = format!("momo-e2e-{}-{}", std::process::id(), kit::time::now_ms());
    move |c: &mut momo::Config| {
        c.cluster.redis_url = Some(redis.clone());
        c.cluster.redis_prefix = Some(prefix.clone());
        // Every sign-in failure counts; the fourth locks the (user, address) pair.
        c.app.auth.login_free_failures = 0;
        c.app.auth.login_max_failures = 4;
        // Two room messages a second, bursts of four, over all of a member's sockets;
        // one conversation message a second, bursts of four.
        c.chat.send_per_sec = 2;
        c.chat.conversation_send_per_sec = 1;
    }
}

pub(crate) fn redis_env() -> Option<String> {
    let url = std::env::var("MOMO_TEST_REDIS_URL")
        .ok()
        .filter(|s| !s.is_empty());
    if url.is_none() {
        eprintln!("SKIPPED: set MOMO_TEST_REDIS_URL to run the shared-limits tests");
    }
    url
}

/// With Redis, a guesser who spreads sign-in attempts over the nodes meets one count,
/// and a room's audience is counted over the nodes.
#[tokio::test]
async fn sign_in_limits_and_online_counts_are_cluster_wide() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    let Some(redis) = redis_env() else { return };
    let (a, b) = two_nodes_with(pg, nats, with_redis(redis)).await;
    a.register("victim").await;
    let wrong = json!({"username": "victim", "password": "not-the-password"});
    for (i, node) in [&a, &b, &a, &b].into_iter().enumerate() {
        let (status, body) = node.post("/api/v1/auth/login", None, wrong.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}: {body}");
    }
    // Two failures on each node, four in all: both nodes refuse now.
    for node in [&a, &b] {
        let (status, body) = node.post("/api/v1/auth/login", None, wrong.clone()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }

    let x = a.register("member_x").await;
    let y = a.register("member_y").await;
    let room = 880_000 + (kit::time::now_ms() % 1000);
    let _on_a = signed_in(&a, &x.token, Some(&format!("live://{room}"))).await;
    let _on_b = signed_in(&b, &y.token, Some(&format!("live://{room}"))).await;
    let mut seen = Vec::new();
    for _ in 0..100 {
        let (_, on_a) = a
            .get(&format!("/api/v1/online/rooms/{room}"), Some(SERVICE_TOKEN))
            .await;
        let (_, on_b) = b
            .get(&format!("/api/v1/online/rooms/{room}"), Some(SERVICE_TOKEN))
            .await;
        seen = vec![on_a["online"].clone(), on_b["online"].clone()];
        if seen == [json!(2), json!(2)] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, [json!(2), json!(2)], "each node counts both members");
    for node in [&a, &b] {
        let (status, health) = node.get("/readyz", None).await;
        assert_eq!(
            (status, health["status"].as_str()),
            (StatusCode::OK, Some("ok")),
            "{health}"
        );
    }
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_gift_and_a_ban_on_one_node_reach_a_socket_on_the_other() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    let (a, b) = two_nodes(pg, nats).await;
    for node in [&a, &b] {
        let (status, health) = node.get("/readyz", None).await;
        assert_eq!(
            (status, health["status"].as_str()),
            (StatusCode::OK, Some("ok")),
            "{health}"
        );
    }
    let admin = a.admin_token("boss").await;
    let anchor = a.register("anchor").await;
    let fan = a.register("fan").await;
    let watcher = a.register("watcher").await;
    let (_, room) = a
        .post("/api/v1/rooms", Some(&anchor.token), json!({}))
        .await;
    let room = room["id"].as_i64().unwrap();
    let _live = a.go_live(room).await;

    // The watcher's socket is on node B; the gift is sent through node A.
    let mut ws = signed_in(&b, &watcher.token, Some(&format!("live://{room}"))).await;
    let (_, catalogue) = a.get("/api/v1/gifts", None).await;
    let gift = catalogue[0]["id"].clone();
    let (status, body) = a
        .post(
            "/api/v1/admin/wallet/adjustments",
            Some(&admin),
            json!({"user_id": fan.id, "asset": "coin", "amount": 50, "reason": "test", "idempotency_key": "c1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = a
        .post(
            &format!("/api/v1/rooms/{room}/gifts"),
            Some(&fan.token),
            json!({"gift_id": gift, "count": 2, "idempotency_key": "g1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let msg = expect_op(&mut ws, 1000).await;
    assert_eq!(msg["body"]["type"], "gift", "{msg}");
    assert_eq!(msg["body"]["count"], 2, "{msg}");

    // An operator bans the watcher through node A: the socket on node B is told and
    // closed.
    let (status, body) = a
        .post(
            &format!("/api/v1/admin/users/{}/ban", watcher.id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(expect_op(&mut ws, 6).await["op"], 6);
    assert!(next_json(&mut ws).await.is_none(), "closed");
    b.stop().await;
    a.stop().await;
}

/// Room chat across nodes: a danmaku sent on node A reaches a member on node B in the
/// order it was sent, the first member to join on B misses nothing sent after the join
/// was answered, and the push APIs of either node reach sockets on the other.
#[tokio::test]
async fn room_chat_and_pushes_cross_nodes_in_order() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    let (a, b) = two_nodes(pg, nats).await;
    let admin = a.admin_token("boss").await;
    let speaker = a.register("speaker").await;
    let listener = a.register("listener").await;
    let loner = a.register("loner").await;
    // The listener is the room's first member on B; its join is answered only once B
    // hears the room.
    let mut on_b = signed_in(&b, &listener.token, Some("live://77")).await;
    let mut on_a = signed_in(&a, &speaker.token, Some("live://77")).await;
    for i in 0..5 {
        send(
            &mut on_a,
            json!({"op": 4, "seq": 10 + i, "body": {"text": format!("line {i}")}}),
        )
        .await;
    }
    for i in 0..5 {
        let msg = expect_op(&mut on_b, 1000).await;
        assert_eq!(msg["body"]["type"], "danmaku", "{msg}");
        assert_eq!(msg["body"]["text"], format!("line {i}"), "in order: {msg}");
        assert_eq!(msg["body"]["user"]["id"], speaker.id);
    }
    // The speaker's own node has them once each (not again from the bus).
    for i in 0..5 {
        let msg = expect_op(&mut on_a, 1000).await;
        assert_eq!(msg["body"]["text"], format!("line {i}"), "{msg}");
    }
    assert!(
        common::ws::sees_op_within(&mut on_a, 1000, std::time::Duration::from_millis(300))
            .await
            .is_none(),
        "no echo from the other node"
    );

    // The push APIs: to a room through B reaches A's member; to a user through A
    // reaches the user's socket on B; to everyone through B reaches A.
    let mut lone = signed_in(&b, &loner.token, None).await;
    let (status, body) = b
        .post(
            "/api/v1/push/rooms/77",
            Some(SERVICE_TOKEN),
            json!({"op": 1001, "body": {"gift": "rocket"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(expect_op(&mut on_a, 1001).await["body"]["gift"], "rocket");
    assert_eq!(expect_op(&mut on_b, 1001).await["body"]["gift"], "rocket");
    let (status, body) = a
        .post(
            "/api/v1/push/users",
            Some(&admin),
            json!({"user_ids": [loner.id], "body": {"hi": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(expect_op(&mut lone, 1000).await["body"]["hi"], 1);
    let (status, body) = b
        .post(
            "/api/v1/push/all",
            Some(SERVICE_TOKEN),
            json!({"body": {"notice": "all"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(expect_op(&mut on_a, 1000).await["body"]["notice"], "all");
    b.stop().await;
    a.stop().await;
}

/// A change made through one node is seen at once through the other, not after the
/// cache's time to live: a new nickname, a password change revoking access tokens, a
/// mute in a room.
#[tokio::test]
async fn changes_on_one_node_drop_the_other_nodes_caches() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    let (a, b) = two_nodes_with(pg, nats, |c| {
        // Far longer than the test: only the event can make B forget.
        c.app.cache.profile_ttl_secs = 600;
    })
    .await;
    let u = a.register("changer").await;
    let profile = format!("/api/v1/users/{}", u.id);
    let (status, before) = b.get(&profile, None).await;
    assert_eq!(
        (status, before["nickname"].as_str()),
        (StatusCode::OK, Some("changer"))
    );
    let (status, _) = b.get("/api/v1/users/me", Some(&u.token)).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = a
        .call(
            reqwest::Method::PATCH,
            "/api/v1/users/me",
            Some(&u.token),
            Some(json!({"nickname": "renamed"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut seen = Value::Null;
    for _ in 0..50 {
        seen = b.get(&profile, None).await.1["nickname"].clone();
        if seen == "renamed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
    assert_eq!(seen, "renamed", "node B dropped its cached profile");

    let (status, body) = a
        .post(
            "/api/v1/auth/password",
            Some(&u.token),
            json!({"old_password": "password-123", "new_password": "password-456"}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let mut status = StatusCode::OK;
    for _ in 0..50 {
        status = b.get("/api/v1/users/me", Some(&u.token)).await.0;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old token is refused on node B"
    );

    // A mute set through node A silences the member's socket on node B.
    let owner = a.register("owner").await;
    let member = a.register("member").await;
    let (_, room) = a.post("/api/v1/rooms", Some(&owner.token), json!({})).await;
    let room = room["id"].as_i64().unwrap();
    let mut ws = signed_in(&b, &member.token, Some(&format!("live://{room}"))).await;
    send(
        &mut ws,
        json!({"op": 4, "seq": 1, "body": {"text": "before"}}),
    )
    .await;
    assert_eq!(expect_op(&mut ws, 5).await["seq"], 1);
    let (status, body) = a
        .post(
            &format!("/api/v1/rooms/{room}/mutes"),
            Some(&owner.token),
            json!({"user_id": member.id, "duration_secs": 600}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let mut refused = Value::Null;
    for seq in 2..50 {
        send(
            &mut ws,
            json!({"op": 4, "seq": seq, "body": {"text": "after"}}),
        )
        .await;
        let reply = loop {
            let msg = next_json(&mut ws).await.expect("a reply");
            if msg["op"] != 1000 {
                break msg;
            }
        };
        if reply["body"]["code"] == "muted" {
            refused = reply;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
    assert_eq!(refused["body"]["code"], "muted", "{refused}");
    b.stop().await;
    a.stop().await;
}

/// A member's socket on another node over a real WebSocket: signed in (op 7/8).
async fn socket_at(base: &str, token: &str) -> common::ws::Ws {
    use futures::SinkExt;
    let url = format!("{}/ws", base.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connects");
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        json!({"op": 7, "seq": 1, "body": {"token": token}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    expect_op(&mut ws, 8).await;
    ws
}

/// `kill -9` of a node: a conversation's messages were pushed live to the member's
/// socket there (from the other node); after the kill the member connects to the other
/// node and syncs from the last message seen, and gets every message sent meanwhile,
/// once each, in order.
#[tokio::test]
async fn after_kill_9_a_member_syncs_elsewhere_with_no_gap_and_no_duplicate() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    let n = nats.clone();
    let files = shared_files();
    let f = files.clone();
    let b = TestServer::start_with(common::Backend::Postgres(pg), move |c| {
        c.cluster.nats_url = Some(n);
        c.cluster.node_id = Some("test-b".into());
        c.chat.service_token = Some(SERVICE_TOKEN.into());
        c.app.videos.storage_url = f;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = b.database_url().expect("node B's database");
    let a = common::process::start(
        dir.path().to_str().unwrap(),
        &[
            ("MOMO_DATABASE_URL", db.as_str()),
            ("MOMO_CLUSTER__NATS_URL", nats.as_str()),
            ("MOMO_CLUSTER__NODE_ID", "test-a"),
            ("MOMO_AUTH__JWT_SECRET", common::SECRET),
            ("MOMO_CHAT__SERVICE_TOKEN", SERVICE_TOKEN),
            ("MOMO_VIDEOS__STORAGE_URL", files.as_str()),
        ],
    );
    let alice = b.register("alice").await;
    let bob = b.register("bob").await;
    let (status, conv) = b
        .post(
            "/api/v1/conversations/direct",
            Some(&alice.token),
            json!({"user_id": bob.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{conv}");
    let conv = conv["id"].as_i64().unwrap();
    let say = |i: u32| {
        let b = &b;
        let token = alice.token.clone();
        async move {
            let (status, body) = b
                .post(
                    &format!("/api/v1/conversations/{conv}/messages"),
                    Some(&token),
                    json!({"kind": "text", "content": {"text": format!("m{i}")}, "client_id": format!("c{i}")}),
                )
                .await;
            assert!(status.is_success(), "{body}");
        }
    };

    // Bob is on node A; Alice writes through node B: each message reaches him live.
    let mut on_a = socket_at(&a.base, &bob.token).await;
    let mut last_seen = 0;
    for i in 1..=3 {
        say(i).await;
        let msg = expect_op(&mut on_a, 1000).await;
        assert_eq!(msg["body"]["type"], "message", "{msg}");
        last_seen = msg["body"]["message"]["seq"].as_i64().unwrap();
    }
    assert_eq!(last_seen, 3);

    a.kill_hard();
    for i in 4..=6 {
        say(i).await;
    }
    // Bob comes back through node B and syncs from what he last saw.
    let mut on_b = signed_in(&b, &bob.token, None).await;
    send(
        &mut on_b,
        json!({"op": 20, "seq": 2, "body": {"positions": {conv.to_string(): last_seen}}}),
    )
    .await;
    let synced = expect_op(&mut on_b, 21).await;
    let got: Vec<(i64, String)> = synced["body"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["seq"].as_i64().unwrap(),
                m["content"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (4, "m4".to_string()),
            (5, "m5".to_string()),
            (6, "m6".to_string())
        ],
        "{synced}"
    );
    let (status, health) = b.get("/readyz", None).await;
    assert_eq!(
        (status, health["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    b.stop().await;
}

/// Redis away from the start: the nodes serve, count on their own (a sign-in limit
/// still holds on each), and `/readyz` says what is degraded.
#[tokio::test]
async fn without_redis_nodes_serve_and_say_they_are_degraded() {
    let Some((pg, nats)) = cluster_env() else {
        return;
    };
    let (a, b) = two_nodes_with(pg, nats, |c| {
        c.cluster.redis_url = Some("redis://127.0.0.1:1".into());
        c.app.auth.login_free_failures = 0;
        c.app.auth.login_max_failures = 2;
    })
    .await;
    for node in [&a, &b] {
        let (status, health) = node.get("/readyz", None).await;
        assert_eq!(status, StatusCode::OK, "{health}");
        assert_eq!(health["status"], "degraded", "{health}");
        assert!(
            health["degraded"][0].as_str().unwrap().contains("Redis"),
            "{health}"
        );
    }
    a.register("alone").await;
    let wrong = json!({"username": "alone", "password": "not-the-password"});
    for _ in 0..2 {
        let (status, _) = a.post("/api/v1/auth/login", None, wrong.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = a.post("/api/v1/auth/login", None, wrong.clone()).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "node A's own count holds"
    );
    // Node B counts alone: its first failure is its first.
    let (status, _) = b.post("/api/v1/auth/login", None, wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_node_refuses_cluster_mode_without_what_nodes_must_share() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_momo"))
        .args(["serve", "--data-dir", dir.path().to_str().unwrap()])
        .env("MOMO_CLUSTER__NATS_URL", "nats://127.0.0.1:4222")
        .env("MOMO_HTTP", "127.0.0.1:0")
        .env("MOMO_RTMP", "127.0.0.1:0")
        .env_remove("MOMO_DATABASE_URL")
        .env_remove("MOMO_AUTH__JWT_SECRET")
        .env_remove("MOMO_CHAT__SERVICE_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "cluster mode",
        "auth.jwt_secret",
        "chat.service_token",
        "PostgreSQL",
        "videos.storage_url",
    ] {
        assert!(err.contains(want), "no {want:?} in {err}");
    }
}
