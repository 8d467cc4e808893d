//! Private conversations end to end: messages stored with consecutive sequence numbers
//! before the sender's answer, pushed live to the recipient's WebSocket, and synced
//! exactly by a recipient who was away; idempotent retries, read positions, blocks.

use crate::common;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

async fn open(s: &common::TestServer, token: &str, peer: i64) -> i64 {
    let (status, body) = s
        .post(
            "/api/v1/conversations/direct",
            Some(token),
            json!({"user_id": peer}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["id"].as_i64().unwrap()
}

async fn say(
    s: &common::TestServer,
    token: &str,
    conv: i64,
    text: &str,
    client_id: &str,
) -> (StatusCode, Value) {
    s.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        Some(token),
        json!({"kind": "text", "content": {"text": text}, "client_id": client_id}),
    )
    .await
}

fn texts(history: &Value) -> Vec<String> {
    history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"]["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_offline_user_syncs_exactly_the_messages_it_missed() {
    each_backend!(|s| {
        let alice = s.register("alice").await;
        let bob = s.register("bob").await;
        let conv = open(&s, &alice.token, bob.id).await;
        assert_eq!(
            open(&s, &bob.token, alice.id).await,
            conv,
            "one conversation per pair"
        );

        // Bob is online: he gets the first message pushed.
        let url = format!("{}/ws", s.base.replace("http://", "ws://"));
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        ws.send(Message::Text(
            json!({"op": 7, "seq": 1, "body": {"token": bob.token}})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
        let (status, first) = say(&s, &alice.token, conv, "hi bob", "m1").await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(first["seq"], 1);
        let pushed = loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["op"] == 1000 {
                    break v;
                }
            }
        };
        assert_eq!(pushed["body"]["type"], "message");
        assert_eq!(pushed["body"]["message"]["seq"], 1);
        assert_eq!(pushed["body"]["message"]["content"]["text"], "hi bob");
        drop(ws); // Bob goes away.

        for i in 2..=6 {
            let (status, m) = say(
                &s,
                &alice.token,
                conv,
                &format!("msg {i}"),
                &format!("m{i}"),
            )
            .await;
            assert_eq!((status, m["seq"].as_i64()), (StatusCode::CREATED, Some(i)));
        }
        // Bob comes back knowing seq 1: he gets 2..=6, in order, page by page.
        let (status, page) = s
            .get(
                &format!("/api/v1/conversations/{conv}/messages?after_seq=1&limit=3"),
                Some(&bob.token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(texts(&page), ["msg 2", "msg 3", "msg 4"]);
        let next = page["next_after_seq"].as_i64().unwrap();
        let (_, page) = s
            .get(
                &format!("/api/v1/conversations/{conv}/messages?after_seq={next}&limit=3"),
                Some(&bob.token),
            )
            .await;
        assert_eq!(texts(&page), ["msg 5", "msg 6"]);
        assert!(page["next_after_seq"].is_null());

        // Unread counts and read positions.
        let (_, list) = s.get("/api/v1/conversations", Some(&bob.token)).await;
        assert_eq!(list[0]["id"], conv);
        assert_eq!(list[0]["peer_id"], alice.id);
        assert_eq!(list[0]["unread"], 6);
        let (status, read) = s
            .post(
                &format!("/api/v1/conversations/{conv}/read"),
                Some(&bob.token),
                json!({"seq": 4}),
            )
            .await;
        assert_eq!(
            (status, read["read_seq"].as_i64()),
            (StatusCode::OK, Some(4))
        );
        let (_, list) = s.get("/api/v1/conversations", Some(&bob.token)).await;
        assert_eq!(list[0]["unread"], 2);
        let (status, _) = s
            .post(
                &format!("/api/v1/conversations/{conv}/read"),
                Some(&bob.token),
                json!({"seq": 99}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (_, list) = s.get("/api/v1/conversations", Some(&alice.token)).await;
        assert_eq!(list[0]["unread"], 0, "the sender has read what it wrote");
    });
}

#[tokio::test]
async fn concurrent_sends_get_consecutive_numbers_and_retries_store_nothing() {
    each_backend!(|s| {
        let a = s.register("anna").await;
        let b = s.register("boris").await;
        let conv = open(&s, &a.token, b.id).await;
        let server = &s;
        let sends = (0..20).map(|i| {
            let (token, cid) = if i % 2 == 0 {
                (&a.token, format!("a{i}"))
            } else {
                (&b.token, format!("b{i}"))
            };
            async move { say(server, token, conv, &format!("n{i}"), &cid).await }
        });
        let results = futures::future::join_all(sends).await;
        let mut seqs: Vec<i64> = results
            .iter()
            .map(|(st, m)| {
                assert_eq!(*st, StatusCode::CREATED, "{m}");
                m["seq"].as_i64().unwrap()
            })
            .collect();
        seqs.sort();
        assert_eq!(seqs, (1..=20).collect::<Vec<_>>());

        // A retry with the same client_id answers the stored message again.
        let (status, again) = say(&s, &a.token, conv, "n0 (retry)", "a0").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["content"]["text"], "n0");
        let (_, page) = s
            .get(
                &format!("/api/v1/conversations/{conv}/messages?limit=200"),
                Some(&a.token),
            )
            .await;
        assert_eq!(page["items"].as_array().unwrap().len(), 20);
    });
}

#[tokio::test]
async fn strangers_blocks_and_bad_messages_are_refused() {
    each_backend!(|s| {
        let a = s.register("amy").await;
        let b = s.register("ben").await;
        let c = s.register("cat").await;
        let conv = open(&s, &a.token, b.id).await;

        let (status, body) = say(&s, &c.token, conv, "let me in", "x").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "conversation_not_found");
        let (status, _) = s
            .get(
                &format!("/api/v1/conversations/{conv}/messages"),
                Some(&c.token),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = s
            .post(
                "/api/v1/conversations/direct",
                Some(&a.token),
                json!({"user_id": a.id}),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("cannot_message_self"))
        );

        for (kind, content) in [
            ("text", json!({"text": ""})),
            ("text", json!({"text": "x".repeat(4001)})),
            ("image", json!({"url": "javascript:alert(1)"})),
            ("custom", json!({"blob": "y".repeat(9000)})),
        ] {
            let (status, body) = s
                .post(
                    &format!("/api/v1/conversations/{conv}/messages"),
                    Some(&a.token),
                    json!({"kind": kind, "content": content, "client_id": "bad"}),
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{kind}: {body}");
        }
        let (status, _) = s
            .post(
                &format!("/api/v1/conversations/{conv}/messages"),
                Some(&a.token),
                json!({"kind": "sticker", "content": {}, "client_id": "bad"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        s.call(
            reqwest::Method::POST,
            &format!("/api/v1/users/{}/block", a.id),
            Some(&b.token),
            None,
        )
        .await;
        let (status, body) = say(&s, &a.token, conv, "hello?", "h1").await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("blocked_by_user"))
        );
        let (status, body) = say(&s, &b.token, conv, "go away", "g1").await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("user_blocked"))
        );
        let (_, page) = s
            .get(
                &format!("/api/v1/conversations/{conv}/messages"),
                Some(&a.token),
            )
            .await;
        assert!(
            page["items"].as_array().unwrap().is_empty(),
            "nothing was stored"
        );
    });
}

/// The next text frame with `op`, skipping others.
async fn next_op(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    op: u64,
) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["op"] == op {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn a_client_syncs_and_reports_reading_over_the_socket() {
    each_backend!(|s| {
        let alice = s.register("alice").await;
        let bob = s.register("bob").await;
        let eve = s.register("eve").await;
        let conv = open(&s, &alice.token, bob.id).await;
        for i in 1..=5 {
            say(&s, &alice.token, conv, &format!("m{i}"), &format!("c{i}")).await;
        }
        let url = format!("{}/ws", s.base.replace("http://", "ws://"));
        let connect_as = |token: String| {
            let url = url.clone();
            async move {
                let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
                ws.send(Message::Text(
                    json!({"op": 7, "seq": 1, "body": {"token": token}})
                        .to_string()
                        .into(),
                ))
                .await
                .unwrap();
                ws
            }
        };
        let mut ws = connect_as(bob.token.clone()).await;
        next_op(&mut ws, 8).await;
        let positions = json!({"positions": {conv.to_string(): 2}});
        ws.send(Message::Text(
            json!({"op": 20, "seq": 2, "body": positions})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
        let synced = next_op(&mut ws, 21).await;
        let seqs: Vec<i64> = synced["body"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(synced["body"]["more"], false);
        ws.send(Message::Text(
            json!({"op": 22, "seq": 3, "body": {"conversation_id": conv, "seq": 5}})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
        assert_eq!(next_op(&mut ws, 23).await["body"]["read_seq"], 5);
        let (_, list) = s.get("/api/v1/conversations", Some(&bob.token)).await;
        assert_eq!(list[0]["unread"], 0);

        // Someone else's conversation is not theirs to sync.
        let mut intruder = connect_as(eve.token.clone()).await;
        next_op(&mut intruder, 8).await;
        intruder
            .send(Message::Text(
                json!({"op": 20, "seq": 2, "body": positions})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
        assert_eq!(
            next_op(&mut intruder, 24).await["body"]["code"],
            "conversation_not_found"
        );
    });
}

#[tokio::test]
async fn a_sender_gets_a_rate_of_new_messages_and_retries_are_free() {
    for backend in common::backends() {
        let s =
            common::TestServer::start_with(backend, |c| c.chat.conversation_send_per_sec = 1).await;
        let a = s.register("chatty").await;
        let b = s.register("listener").await;
        let c = s.register("another").await;
        let ab = open(&s, &a.token, b.id).await;
        let ac = open(&s, &a.token, c.id).await;
        // A burst of four, over both conversations: then 429.
        for (i, conv) in [ab, ac, ab, ac].into_iter().enumerate() {
            let (status, body) = say(&s, &a.token, conv, "hi", &format!("m{i}")).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let (status, body) = say(&s, &a.token, ab, "hi", "m9").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        // A retry of a stored message is answered as before, without a token.
        let (status, _) = say(&s, &a.token, ab, "hi", "m0").await;
        assert_eq!(status, StatusCode::OK);
        // Others are not held back.
        let (status, _) = say(&s, &b.token, ab, "hey", "b0").await;
        assert_eq!(status, StatusCode::CREATED);
        s.stop().await;
    }
}
