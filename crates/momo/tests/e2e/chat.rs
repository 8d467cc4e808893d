//! The chat gateway with real WebSocket clients: goim binary packets and JSON text
//! frames, authentication with the API's access tokens, rooms, heartbeats with online
//! counts, the push API, and bad input.

use crate::common;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use common::ws::{expect_op, next_json, open, send, signed_in};

#[tokio::test]
async fn users_chat_in_a_room_and_see_who_is_online() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let mut clients = Vec::new();
    for i in 0..20 {
        let u = s.register(&format!("viewer{i}")).await;
        clients.push(signed_in(&s, &u.token, Some("live://7")).await);
    }
    // Heartbeat: the reply carries the room's online count.
    send(&mut clients[0], json!({"op": 2, "seq": 9})).await;
    let hb = expect_op(&mut clients[0], 3).await;
    assert_eq!(hb["seq"], 9);
    assert_eq!(hb["body"]["online"], 20);

    send(
        &mut clients[3],
        json!({"op": 4, "seq": 2, "body": {"text": "hello <b>room</b>"}}),
    )
    .await;
    let ack = expect_op(&mut clients[3], 5).await;
    assert_eq!(ack["body"]["ok"], true);
    for ws in clients.iter_mut() {
        let m = expect_op(ws, 1000).await;
        assert_eq!(m["body"]["type"], "danmaku");
        assert_eq!(m["body"]["text"], "hello <b>room</b>");
        assert_eq!(m["body"]["user"]["name"], "viewer3");
        assert_eq!(m["body"]["room_id"], "live://7");
    }
    // A latecomer gets the recent messages on joining.
    let late = s.register("late").await;
    let mut ws = signed_in(&s, &late.token, Some("live://7")).await;
    let m = expect_op(&mut ws, 1000).await;
    assert_eq!(m["body"]["text"], "hello <b>room</b>");

    // Changing room: the old room no longer counts it.
    send(
        &mut ws,
        json!({"op": 12, "seq": 3, "body": {"room_id": "live://8"}}),
    )
    .await;
    let changed = expect_op(&mut ws, 13).await;
    assert_eq!(changed["body"]["room_id"], "live://8");
    assert_eq!(changed["body"]["online"], 1);
    send(&mut clients[0], json!({"op": 2, "seq": 10})).await;
    assert_eq!(expect_op(&mut clients[0], 3).await["body"]["online"], 20);
    s.stop().await;
}

#[tokio::test]
async fn goim_binary_packets_work_byte_for_byte() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let u = s.register("binary").await;
    let mut ws = open(&s).await;
    let packet = |op: u32, seq: u32, body: &[u8]| {
        let mut p = Vec::new();
        p.extend_from_slice(&((16 + body.len()) as u32).to_be_bytes());
        p.extend_from_slice(&16u16.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        p.extend_from_slice(&op.to_be_bytes());
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(body);
        p
    };
    let auth = json!({"token": u.token, "room_id": "live://5"}).to_string();
    // Auth and a heartbeat in one frame: several packets may share one.
    let mut frame = packet(7, 1, auth.as_bytes());
    frame.extend(packet(2, 2, b""));
    ws.send(Message::Binary(frame.into())).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Binary(b) = msg {
            assert_eq!(u16::from_be_bytes([b[4], b[5]]), 16, "header length");
            let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            assert_eq!(len, b.len());
            let op = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
            seen.push((op, b[16..].to_vec()));
        }
    }
    assert_eq!(seen[0].0, 8, "auth reply");
    let reply: serde_json::Value = serde_json::from_slice(&seen[0].1).unwrap();
    assert_eq!(reply["mid"], u.id, "who the connection is");
    assert_eq!(
        seen[1],
        (3, 1u32.to_be_bytes().to_vec()),
        "heartbeat reply: online count"
    );

    // A header length that is not 16: an error packet (op 24), then the close.
    let mut bad = packet(2, 3, b"");
    bad[5] = 20;
    ws.send(Message::Binary(bad.into())).await.unwrap();
    let mut got_error = false;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        match msg {
            Message::Binary(b) => {
                got_error |= u32::from_be_bytes([b[8], b[9], b[10], b[11]]) == 24;
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    assert!(got_error);
    s.stop().await;
}

#[tokio::test]
async fn bad_tokens_silence_and_garbage_are_refused_and_the_gateway_serves_on() {
    let s =
        common::TestServer::start_with(common::Backend::Sqlite, |c| c.chat.auth_timeout_secs = 1)
            .await;
    // Not auth first.
    let mut ws = open(&s).await;
    send(&mut ws, json!({"op": 2, "seq": 1})).await;
    assert_eq!(
        next_json(&mut ws).await.unwrap()["body"]["code"],
        "auth_required"
    );
    assert!(next_json(&mut ws).await.is_none(), "closed");
    // A forged token.
    let mut ws = open(&s).await;
    send(
        &mut ws,
        json!({"op": 7, "seq": 1, "body": {"token": "forged"}}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await.unwrap()["body"]["code"],
        "invalid_token"
    );
    assert!(next_json(&mut ws).await.is_none(), "closed");
    // Not JSON.
    let mut ws = open(&s).await;
    ws.send(Message::Text("{not json".into())).await.unwrap();
    let err = next_json(&mut ws).await.unwrap();
    assert_eq!(err["op"], 24, "{err}");
    // Silence: closed after the auth timeout.
    let mut ws = open(&s).await;
    let t = std::time::Instant::now();
    assert!(next_json(&mut ws).await.is_none());
    assert!(t.elapsed() < Duration::from_secs(4));

    // Unknown operations and bad bodies get an error reply; the connection lives on.
    let u = s.register("tester").await;
    let mut ws = signed_in(&s, &u.token, None).await;
    send(&mut ws, json!({"op": 77, "seq": 4})).await;
    let e = expect_op(&mut ws, 24).await;
    assert_eq!(e["body"]["code"], "unknown_operation");
    send(&mut ws, json!({"op": 4, "seq": 5, "body": {"text": "hi"}})).await;
    assert_eq!(expect_op(&mut ws, 24).await["body"]["code"], "not_in_room");
    send(
        &mut ws,
        json!({"op": 12, "seq": 6, "body": {"room_id": "live://7"}}),
    )
    .await;
    expect_op(&mut ws, 13).await;
    send(
        &mut ws,
        json!({"op": 4, "seq": 7, "body": {"text": "x".repeat(201)}}),
    )
    .await;
    assert_eq!(expect_op(&mut ws, 24).await["body"]["code"], "bad_text");
    // A flood: the first burst passes, then rate_limited.
    for seq in 10..30 {
        send(
            &mut ws,
            json!({"op": 4, "seq": seq, "body": {"text": "flood"}}),
        )
        .await;
    }
    let mut limited = 0;
    let mut ok = 0;
    while ok + limited < 20 {
        let v = next_json(&mut ws).await.unwrap();
        match v["op"].as_u64() {
            Some(5) => ok += 1,
            Some(24) => {
                assert_eq!(v["body"]["code"], "rate_limited");
                limited += 1
            }
            _ => {}
        }
    }
    assert!(ok >= 5 && limited >= 5, "ok {ok}, limited {limited}");
    send(&mut ws, json!({"op": 2, "seq": 99})).await;
    expect_op(&mut ws, 3).await;
    s.stop().await;
}

#[tokio::test]
async fn heartbeats_keep_a_connection_open_and_silence_closes_it() {
    let s = common::TestServer::start_with(common::Backend::Sqlite, |c| {
        c.chat.heartbeat_timeout_secs = 5
    })
    .await;
    let u = s.register("beating").await;
    let mut ws = signed_in(&s, &u.token, None).await;
    // Heartbeats every two seconds carry the connection past the 5 s timeout.
    for seq in 1..=4 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        send(&mut ws, json!({"op": 2, "seq": seq})).await;
        assert_eq!(expect_op(&mut ws, 3).await["seq"], seq);
    }
    // Then silence: closed about five seconds after the last heartbeat, not before.
    let quiet = std::time::Instant::now();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("closed within 10 s of silence");
        match frame {
            Some(Ok(Message::Text(t))) => panic!("nothing but the close is sent: {t}"),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            Some(Ok(_)) => continue,
        }
    }
    let after = quiet.elapsed();
    assert!(
        after >= Duration::from_secs(4) && after < Duration::from_secs(9),
        "closed {after:?} after the last heartbeat"
    );
    s.stop().await;
}

#[tokio::test]
async fn the_push_api_reaches_users_rooms_and_everyone_for_operators_only() {
    let s = common::TestServer::start_with(common::Backend::Sqlite, |c| {
        c.chat.service_token = Some("service-secret".into());
    })
    .await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let admin = s.admin_token("boss").await;
    // Alice on two devices, Bob in room 3.
    let mut a1 = signed_in(&s, &alice.token, None).await;
    let mut a2 = signed_in(&s, &alice.token, None).await;
    let mut b = signed_in(&s, &bob.token, Some("live://3")).await;

    let (status, body) = s
        .post(
            "/api/v1/push/users",
            Some(&admin),
            json!({"user_ids": [alice.id], "body": {"hi": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["delivered"], 2);
    assert_eq!(expect_op(&mut a1, 1000).await["body"]["hi"], 1);
    assert_eq!(expect_op(&mut a2, 1000).await["body"]["hi"], 1);

    let (status, body) = s
        .post(
            "/api/v1/push/rooms/3",
            Some("service-secret"),
            json!({"op": 1001, "body": {"gift": "rocket"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["delivered"], 1);
    assert_eq!(expect_op(&mut b, 1001).await["body"]["gift"], "rocket");

    let (status, body) = s
        .post(
            "/api/v1/push/all",
            Some(&admin),
            json!({"body": {"notice": "maintenance"}}),
        )
        .await;
    assert_eq!(
        (status, body["delivered"].as_u64()),
        (StatusCode::OK, Some(3))
    );
    expect_op(&mut b, 1000).await;

    let (status, body) = s.get("/api/v1/online/rooms/3", Some(&admin)).await;
    assert_eq!((status, body["online"].as_u64()), (StatusCode::OK, Some(1)));
    let (status, body) = s.get("/api/v1/online/top", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["rooms"][0]["room_id"], "live://3");

    // Not for ordinary users, nor anonymous callers; bad requests are refused.
    let (status, body) = s
        .post("/api/v1/push/all", Some(&alice.token), json!({"body": {}}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "admin_required");
    let (status, _) = s.post("/api/v1/push/all", None, json!({"body": {}})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .post(
            "/api/v1/push/all",
            Some(&admin),
            json!({"op": 3, "body": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .post(
            "/api/v1/push/users",
            Some(&admin),
            json!({"user_ids": "x", "body": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    s.stop().await;
}

#[tokio::test]
async fn a_reader_that_stalls_loses_messages_without_delaying_the_room() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let stalled = s.register("stalled").await;
    let reader = s.register("reader").await;
    let _stalled_ws = signed_in(&s, &stalled.token, Some("live://9")).await; // never read again
    let mut ws = signed_in(&s, &reader.token, Some("live://9")).await;
    let gw = s.gateway();
    let filler = "x".repeat(2000);
    let started = std::time::Instant::now();
    let total = 3000;
    let mut received = 0;
    for i in 0..total {
        let body = json!({"n": i, "filler": filler}).to_string();
        gw.push_room("9", 1000, body.into());
        // Read as we go, as a live client does, keeping its backlog under its queue.
        if i % 100 == 99 {
            while received + 50 < i + 1 {
                match next_json(&mut ws).await {
                    Some(v) if v["op"] == 1000 => received += 1,
                    Some(_) => {}
                    None => panic!("the reading client was closed"),
                }
            }
        }
    }
    while received < total {
        match next_json(&mut ws).await {
            Some(v) if v["op"] == 1000 => received += 1,
            Some(_) => {}
            None => panic!("the reading client was closed"),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the room was held up: {:?}",
        started.elapsed()
    );
    // Six megabytes to a client that reads nothing: most of it was dropped, not queued.
    let metrics = s.metrics().await;
    let dropped: f64 = metrics
        .lines()
        .find(|l| l.starts_with("im_dropped_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("im_dropped_total in /metrics");
    assert!(dropped > 0.0, "nothing was dropped for the stalled client");
    s.stop().await;
}

#[tokio::test]
async fn subscriptions_filter_pushed_operations() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let u = s.register("picky").await;
    let mut ws = open(&s).await;
    send(
        &mut ws,
        json!({"op": 7, "seq": 1, "body": {"token": u.token, "accepts": [1001]}}),
    )
    .await;
    expect_op(&mut ws, 8).await;
    let gw = s.gateway();
    gw.push_users(&[u.id], 1000, r#"{"n":1}"#.into());
    gw.push_users(&[u.id], 1001, r#"{"n":2}"#.into());
    assert_eq!(
        expect_op(&mut ws, 1001).await["body"]["n"],
        2,
        "op 1000 was filtered out"
    );
    // Add 1002, then remove 1001.
    send(
        &mut ws,
        json!({"op": 14, "seq": 2, "body": {"ops": [1002]}}),
    )
    .await;
    assert_eq!(
        expect_op(&mut ws, 15).await["body"]["ops"],
        json!([1001, 1002])
    );
    send(
        &mut ws,
        json!({"op": 16, "seq": 3, "body": {"ops": [1001]}}),
    )
    .await;
    assert_eq!(expect_op(&mut ws, 17).await["body"]["ops"], json!([1002]));
    gw.push_users(&[u.id], 1001, r#"{"n":3}"#.into());
    gw.push_users(&[u.id], 1002, r#"{"n":4}"#.into());
    assert_eq!(expect_op(&mut ws, 1002).await["body"]["n"], 4);
    s.stop().await;
}

#[tokio::test]
async fn sensitive_words_are_masked_or_refused_as_configured() {
    for (mode, expect_masked) in [("replace", true), ("reject", false)] {
        let s = common::TestServer::start_with(common::Backend::Sqlite, |c| {
            c.chat.sensitive_words = vec!["spam".into(), "坏话".into()];
            c.chat.sensitive_mode = if mode == "replace" {
                momo::config::SensitiveMode::Replace
            } else {
                momo::config::SensitiveMode::Reject
            };
        })
        .await;
        let u = s.register("talker").await;
        let mut ws = signed_in(&s, &u.token, Some("live://4")).await;
        send(
            &mut ws,
            json!({"op": 4, "seq": 1, "body": {"text": "no SPAM, 坏话 here"}}),
        )
        .await;
        if expect_masked {
            let m = expect_op(&mut ws, 1000).await;
            assert_eq!(m["body"]["text"], "no ****, ** here");
        } else {
            let e = expect_op(&mut ws, 24).await;
            assert_eq!(e["body"]["code"], "sensitive_words");
        }
        s.stop().await;
    }
}

/// A node that committed a ban and died before publishing it leaves the event in the
/// outbox; another node's sweep publishes it, and the sockets close anyway.
#[tokio::test]
async fn a_ban_left_in_the_outbox_by_a_dead_node_still_closes_sockets() {
    for backend in common::backends() {
        let s = common::TestServer::start(backend).await;
        let u = s.register("troll").await;
        let mut ws = signed_in(&s, &u.token, Some("live://1")).await;
        // The "dead node": the ban and its event committed, never published.
        let state = s.app_state().await;
        let old = kit::time::now_ms() - 10_000;
        let event = app::admin::events::UserBanned { user_id: u.id };
        let mut tx = state.store().begin().await.unwrap();
        sqlx::query("UPDATE users SET status = 'banned' WHERE id = $1")
            .bind(u.id)
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("INSERT INTO outbox (subject, payload, created_at) VALUES ($1, $2, $3)")
            .bind(bus::Event::subject(&event).as_str())
            .bind(String::from_utf8(bus::encode(&event).to_vec()).unwrap())
            .bind(old)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // The server's sweep (every second) publishes it; its relay closes the socket.
        assert_eq!(expect_op(&mut ws, 6).await["op"], 6);
        assert!(next_json(&mut ws).await.is_none());
        // Deleted once published (the socket may close first).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
                .fetch_one(state.store().pool())
                .await
                .unwrap();
            if left == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "a published row is deleted"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        state.store().close().await;
        s.stop().await;
    }
}

/// A relay whose moderation queue overflowed resyncs from the database: banned users'
/// sockets close and kicked users leave their rooms, with no event at all.
#[tokio::test]
async fn moderation_resyncs_from_the_database_after_a_gap() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let owner = s.register("owner").await;
    let (_, room) = s
        .post("/api/v1/rooms", Some(&owner.token), json!({"title": "r"}))
        .await;
    let room_id = room["id"].as_i64().unwrap();
    let troll = s.register("troll").await;
    let pest = s.register("pest").await;
    let mut banned_ws = signed_in(&s, &troll.token, Some("live://1")).await;
    let live = format!("live://{room_id}");
    let mut kicked_ws = signed_in(&s, &pest.token, Some(&live)).await;
    let state = s.app_state().await;
    sqlx::query("UPDATE users SET status = 'banned' WHERE id = $1")
        .bind(troll.id)
        .execute(state.store().writer())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO room_kicks (room_id, user_id, until_ms, by_user, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(room_id)
    .bind(pest.id)
    .bind(kit::time::now_ms() + 60_000)
    .bind(owner.id)
    .bind(kit::time::now_ms())
    .execute(state.store().writer())
    .await
    .unwrap();
    app::relay::resync(&state, &s.gateway()).await.unwrap();
    assert_eq!(expect_op(&mut banned_ws, 6).await["op"], 6);
    let out = expect_op(&mut kicked_ws, 13).await;
    assert_eq!(out["body"]["kicked"]["room_id"], live.as_str());
    state.store().close().await;
    s.stop().await;
}

#[tokio::test]
async fn a_banned_user_is_disconnected_and_kept_out_until_unbanned() {
    for backend in common::backends() {
        let s = common::TestServer::start(backend).await;
        let admin = s.admin_token("boss").await;
        let u = s.register("troll").await;
        let mut ws = signed_in(&s, &u.token, Some("live://1")).await;

        let path = format!("/api/v1/admin/users/{}/ban", u.id);
        let (status, body) = s.post(&path, Some(&u.token), json!({})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = s.post(&path, Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["connections_closed"], 1);
        // The open connection is told (op 6) and closed.
        assert_eq!(expect_op(&mut ws, 6).await["op"], 6);
        assert!(next_json(&mut ws).await.is_none());
        // New connections, sign-ins, refreshes and the profile are refused.
        let mut again = open(&s).await;
        send(
            &mut again,
            json!({"op": 7, "seq": 1, "body": {"token": u.token}}),
        )
        .await;
        assert_eq!(
            next_json(&mut again).await.unwrap()["body"]["code"],
            "account_banned"
        );
        let (status, body) = s
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "troll", "password": "password-123"}),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("account_banned"))
        );
        let (status, _) = s
            .post(
                "/api/v1/auth/refresh",
                None,
                json!({"refresh_token": u.refresh}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = s.get(&format!("/api/v1/users/{}", u.id), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = s.get("/api/v1/users/me", Some(&u.token)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("account_banned"))
        );

        let (status, body) = s
            .call(reqwest::Method::DELETE, &path, Some(&admin), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = s
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "troll", "password": "password-123"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        s.stop().await;
    }
}

/// Opens `/ws` by hand on a raw socket: what a broken client can send that a
/// WebSocket library would not.
async fn raw_upgrade(s: &common::TestServer) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        conn.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    conn
}

/// Everything the server sends until it closes, within 3 s.
async fn read_until_closed(conn: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(3), conn.read_to_end(&mut all))
        .await
        .expect("the server closes the connection")
        .ok();
    all
}

#[tokio::test]
async fn broken_websocket_framing_is_closed_with_its_code_and_the_gateway_serves_on() {
    use tokio::io::AsyncWriteExt;
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let masked = |first: u8, payload: &[u8]| {
        let mut f = vec![first];
        if payload.len() < 126 {
            f.push(0x80 | payload.len() as u8);
        } else {
            f.push(0x80 | 126);
            f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        f.extend_from_slice(&[1, 2, 3, 4]);
        f.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]),
        );
        f
    };
    let mut too_long = vec![0x82, 0xFF];
    too_long.extend_from_slice(&u64::MAX.wrapping_shr(1).to_be_bytes());
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("unmasked", vec![0x81, 0x02, b'{', b'}'], 1002),
        ("reserved bits", masked(0xC1, b"{}"), 1002),
        ("unknown opcode", masked(0x83, b"{}"), 1002),
        ("stray continuation", masked(0x80, b"{}"), 1002),
        ("fragmented ping", masked(0x09, b""), 1002),
        ("text not UTF-8", masked(0x81, &[0xC3, 0x28]), 1007),
        ("a length of 2^63 - 1", too_long, 1009),
    ];
    for (what, bytes, code) in cases {
        let mut conn = raw_upgrade(&s).await;
        conn.write_all(&bytes).await.unwrap();
        let got = read_until_closed(&mut conn).await;
        // A close frame: 0x88, length 2, the code.
        assert_eq!(got[..2], [0x88, 0x02], "{what}: {got:02x?}");
        assert_eq!(u16::from_be_bytes([got[2], got[3]]), code, "{what}");
    }
    // Not an upgrade at all: a JSON error.
    let res = reqwest::get(format!("{}/ws", s.base)).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_a_websocket_upgrade", "{body}");
    // A ping before auth is answered; a client that then signs in is served.
    let u = s.register("after_garbage").await;
    let mut conn = raw_upgrade(&s).await;
    conn.write_all(&masked(0x89, b"hi")).await.unwrap();
    let auth = json!({"op": 7, "seq": 1, "body": {"token": u.token}}).to_string();
    conn.write_all(&masked(0x81, auth.as_bytes()))
        .await
        .unwrap();
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while !String::from_utf8_lossy(&got).contains("\"op\":8") {
        use tokio::io::AsyncReadExt;
        assert!(std::time::Instant::now() < deadline, "{got:02x?}");
        let mut b = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(3), conn.read(&mut b))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early: {got:02x?}");
        got.extend_from_slice(&b[..n]);
    }
    assert_eq!(got[..4], [0x8A, 0x02, b'h', b'i'], "a pong first");
    s.stop().await;
}

/// A node that is stopping tells each chat client to connect again (op 6,
/// `node_stopping`), each after its own wait within five seconds so that they do not all
/// come back at once, and closes the socket.
#[tokio::test]
async fn a_stopping_node_tells_its_chat_clients_when_to_reconnect() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let u = s.register("drained").await;
    let mut clients = Vec::new();
    for _ in 0..12 {
        clients.push(signed_in(&s, &u.token, Some("live://5")).await);
    }
    let stopping = tokio::spawn(s.stop());
    let mut waits = Vec::new();
    for ws in &mut clients {
        let msg = expect_op(ws, 6).await;
        assert_eq!(msg["body"]["code"], "node_stopping", "{msg}");
        let after = msg["body"]["reconnect_after_ms"].as_u64().expect("a wait");
        assert!(after < 5_000, "{after}");
        waits.push(after);
        assert!(next_json(ws).await.is_none(), "closed after op 6");
    }
    waits.sort_unstable();
    waits.dedup();
    assert!(waits.len() > 1, "spread, not all at once: {waits:?}");
    stopping.await.unwrap();
}
