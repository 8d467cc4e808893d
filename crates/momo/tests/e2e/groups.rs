//! Group chat end to end, with real WebSocket clients: live delivery to every member,
//! exact catch-up (system messages included, in order) for a member who was away,
//! roles, mutes, leaving, dissolving, recall, and ack and send over the socket.

use crate::common;

use std::time::Duration;

use common::ws::{self, Ws};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn create(
    s: &common::TestServer,
    token: &str,
    name: &str,
    members: &[i64],
) -> (StatusCode, Value) {
    s.post(
        "/api/v1/groups",
        Some(token),
        json!({"name": name, "member_ids": members}),
    )
    .await
}

async fn say(s: &common::TestServer, token: &str, conv: i64, text: &str) -> (StatusCode, Value) {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let client_id = format!("c-{n}");
    s.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        Some(token),
        json!({"kind": "text", "content": {"text": text}, "client_id": client_id}),
    )
    .await
}

async fn put(s: &common::TestServer, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    s.call(Method::PUT, path, Some(token), Some(body)).await
}

async fn patch(
    s: &common::TestServer,
    path: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    s.call(Method::PATCH, path, Some(token), Some(body)).await
}

/// The next pushed conversation message (op 1000, type `message`) on `ws`.
async fn next_message(ws: &mut Ws) -> Value {
    loop {
        let v = ws::expect_op(ws, 1000).await;
        if v["body"]["type"] == "message" {
            return v["body"]["message"].clone();
        }
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Kind of each message (`text` ones as their text, `system` ones as their event).
fn summary(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| match m["kind"].as_str().unwrap() {
            "text" => m["content"]["text"].as_str().unwrap().to_string(),
            "system" => format!("system:{}", m["content"]["event"].as_str().unwrap()),
            other => other.to_string(),
        })
        .collect()
}

async fn history(s: &common::TestServer, token: &str, conv: i64, after: i64) -> Vec<Value> {
    let (status, page) = s
        .get(
            &format!("/api/v1/conversations/{conv}/messages?after_seq={after}&limit=200"),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_group_of_four_talks_live_and_an_away_member_syncs_what_it_missed() {
    each_backend!(|s| {
        let owner = s.register("owner").await;
        let ann = s.register("ann").await;
        let bob = s.register("bob").await;
        let cat = s.register("cat").await;
        let (status, group) = create(
            &s,
            &owner.token,
            "  hikers  ",
            &[ann.id, bob.id, cat.id, ann.id],
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{group}");
        let g = group["id"].as_i64().unwrap();
        assert_eq!(group["name"], "hikers");
        assert_eq!(group["member_count"], 4);
        assert_eq!(group["owner_id"], owner.id);
        let roles: Vec<(i64, String)> = group["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["user_id"].as_i64().unwrap(),
                    m["role"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(roles[0], (owner.id, "owner".to_string()));
        assert_eq!(roles.len(), 4);
        assert!(roles[1..].iter().all(|(_, r)| r == "member"));

        let mut sockets = Vec::new();
        for u in [&owner, &ann, &bob, &cat] {
            sockets.push(ws::signed_in(&s, &u.token, None).await);
        }
        let (status, sent) = say(&s, &ann.token, g, "hello all").await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
        assert_eq!(sent["seq"], 2, "seq 1 is the created notice");
        for socket in sockets.iter_mut() {
            let m = next_message(socket).await;
            assert_eq!(
                (m["seq"].as_i64(), m["sender_id"].as_i64()),
                (Some(2), Some(ann.id))
            );
            assert_eq!(m["content"]["text"], "hello all");
        }

        // Cat goes away knowing seq 2; the group goes on.
        let cat_socket = sockets.pop().unwrap();
        drop(cat_socket);
        let (status, _) = put(
            &s,
            &format!("/api/v1/groups/{g}/members/{}/role", ann.id),
            &owner.token,
            json!({"role": "admin"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            say(&s, &ann.token, g, "I am admin now").await.0,
            StatusCode::CREATED
        );
        assert_eq!(
            say(&s, &bob.token, g, "congrats").await.0,
            StatusCode::CREATED
        );
        let (status, mute) = s
            .post(
                &format!("/api/v1/groups/{g}/mutes"),
                Some(&ann.token),
                json!({"user_id": bob.id, "duration_secs": 60}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{mute}");
        let (status, refused) = say(&s, &bob.token, g, "hey!").await;
        assert_eq!((status, code(&refused)), (StatusCode::FORBIDDEN, "muted"));
        assert_eq!(refused["error"]["until"], mute["until"]);
        assert_eq!(
            say(&s, &owner.token, g, "calm down").await.0,
            StatusCode::CREATED
        );

        // Cat comes back and syncs over the socket from seq 2: exactly what it missed.
        let mut cat_socket = ws::signed_in(&s, &cat.token, None).await;
        ws::send(
            &mut cat_socket,
            json!({"op": 20, "seq": 3, "body": {"positions": {g.to_string(): 2}}}),
        )
        .await;
        let reply = ws::expect_op(&mut cat_socket, 21).await;
        let missed = reply["body"]["messages"].as_array().unwrap().clone();
        assert_eq!(
            summary(&missed),
            [
                "system:role_changed",
                "I am admin now",
                "congrats",
                "system:muted",
                "calm down"
            ]
        );
        let seqs: Vec<i64> = missed.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, [3, 4, 5, 6, 7]);
        assert_eq!(missed[0]["content"]["user_id"], ann.id);
        assert_eq!(missed[0]["content"]["role"], "admin");
        assert_eq!(missed[3]["content"]["user_id"], bob.id);
        assert_eq!(reply["body"]["more"], false);

        // Unread counts and read positions work as in direct conversations.
        let (_, list) = s.get("/api/v1/conversations", Some(&cat.token)).await;
        assert_eq!(list[0]["id"], g);
        assert_eq!(list[0]["kind"], "group");
        assert_eq!(list[0]["name"], "hikers");
        assert!(list[0]["peer_id"].is_null());
        assert_eq!(list[0]["unread"], 7);
        ws::send(
            &mut cat_socket,
            json!({"op": 22, "seq": 4, "body": {"conversation_id": g, "seq": 7}}),
        )
        .await;
        assert_eq!(
            ws::expect_op(&mut cat_socket, 23).await["body"]["read_seq"],
            7
        );
        let (_, list) = s.get("/api/v1/conversations", Some(&cat.token)).await;
        assert_eq!(list[0]["unread"], 0);
    });
}

#[tokio::test]
async fn roles_decide_who_may_kick_mute_everyone_leave_and_dissolve() {
    each_backend!(|s| {
        let owner = s.register("owner").await;
        let ann = s.register("ann").await;
        let bob = s.register("bob").await;
        let cat = s.register("cat").await;
        let dan = s.register("dan").await;
        let (_, group) = create(&s, &owner.token, "crew", &[ann.id, bob.id, cat.id, dan.id]).await;
        let g = group["id"].as_i64().unwrap();
        let role = |who: i64| format!("/api/v1/groups/{g}/members/{who}/role");
        let member = |who: i64| format!("/api/v1/groups/{g}/members/{who}");
        for admin in [ann.id, dan.id] {
            let (status, body) =
                put(&s, &role(admin), &owner.token, json!({"role": "admin"})).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (status, body) = put(&s, &role(bob.id), &ann.token, json!({"role": "admin"})).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "not_group_owner")
        );

        // A member cannot kick; an admin cannot kick the owner or another admin.
        let (status, body) = s.delete(&member(cat.id), Some(&bob.token)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "not_group_admin")
        );
        let (status, body) = s.delete(&member(owner.id), Some(&ann.token)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "cannot_moderate_owner")
        );
        let (status, body) = s.delete(&member(dan.id), Some(&ann.token)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "cannot_moderate_group_admin")
        );
        let (status, body) = s.delete(&member(ann.id), Some(&ann.token)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "cannot_moderate_self")
        );

        // An admin kicks a member, who is a stranger from then on.
        let mut cat_socket = ws::signed_in(&s, &cat.token, None).await;
        let (status, _) = s.delete(&member(cat.id), Some(&ann.token)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let notice = next_message(&mut cat_socket).await;
        assert_eq!(
            notice["content"],
            json!({"event": "kicked", "user_id": cat.id, "by": ann.id})
        );
        let (status, body) = s
            .get(&format!("/api/v1/groups/{g}"), Some(&cat.token))
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "conversation_not_found")
        );
        let (status, body) = say(&s, &cat.token, g, "let me in").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "conversation_not_found")
        );
        let (status, body) = s.delete(&member(cat.id), Some(&ann.token)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "member_not_found")
        );

        // The whole group muted: only the owner and admins speak.
        let (status, body) = patch(
            &s,
            &format!("/api/v1/groups/{g}"),
            &bob.token,
            json!({"muted_all": true}),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "not_group_admin")
        );
        let (status, body) = patch(
            &s,
            &format!("/api/v1/groups/{g}"),
            &ann.token,
            json!({"muted_all": true}),
        )
        .await;
        assert_eq!(
            (status, body["muted_all"].as_bool()),
            (StatusCode::OK, Some(true))
        );
        let (status, body) = say(&s, &bob.token, g, "anyone?").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "group_muted")
        );
        assert_eq!(
            say(&s, &ann.token, g, "admins only").await.0,
            StatusCode::CREATED
        );
        assert_eq!(
            say(&s, &owner.token, g, "owner too").await.0,
            StatusCode::CREATED
        );
        patch(
            &s,
            &format!("/api/v1/groups/{g}"),
            &owner.token,
            json!({"muted_all": false}),
        )
        .await;
        assert_eq!(
            say(&s, &bob.token, g, "free again").await.0,
            StatusCode::CREATED
        );

        // Leaving: the owner must hand over first.
        let leave = format!("/api/v1/groups/{g}/members/me");
        let (status, body) = s.delete(&leave, Some(&owner.token)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "owner_cannot_leave")
        );
        let (status, _) = s.delete(&leave, Some(&bob.token)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = s
            .get(&format!("/api/v1/groups/{g}"), Some(&bob.token))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, view) = put(&s, &role(ann.id), &owner.token, json!({"role": "owner"})).await;
        assert_eq!(
            (status, view["owner_id"].as_i64()),
            (StatusCode::OK, Some(ann.id))
        );
        let roles: Vec<(i64, &str)> = view["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["user_id"].as_i64().unwrap(), m["role"].as_str().unwrap()))
            .collect();
        assert_eq!(
            roles,
            [(ann.id, "owner"), (owner.id, "admin"), (dan.id, "admin")]
        );
        assert_eq!(view["member_count"], 3);

        // Dissolving: the owner only; read-only afterwards.
        let (status, body) = s
            .delete(&format!("/api/v1/groups/{g}"), Some(&owner.token))
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "not_group_owner")
        );
        let mut dan_socket = ws::signed_in(&s, &dan.token, None).await;
        let (status, _) = s
            .delete(&format!("/api/v1/groups/{g}"), Some(&ann.token))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(
            next_message(&mut dan_socket).await["content"]["event"],
            "dissolved"
        );
        let (status, body) = say(&s, &dan.token, g, "hello?").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "group_dissolved")
        );
        let (status, body) = patch(
            &s,
            &format!("/api/v1/groups/{g}"),
            &ann.token,
            json!({"name": "x"}),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "group_dissolved")
        );
        let (status, body) = s
            .delete(&format!("/api/v1/groups/{g}"), Some(&ann.token))
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "group_dissolved")
        );
        let (status, body) = s
            .post(
                &format!("/api/v1/groups/{g}/members"),
                Some(&ann.token),
                json!({"user_ids": [bob.id]}),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "group_dissolved")
        );
        let (status, view) = s
            .get(&format!("/api/v1/groups/{g}"), Some(&dan.token))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(view["dissolved_at"].is_i64());
        let all = history(&s, &dan.token, g, 0).await;
        assert_eq!(
            summary(&all),
            [
                "system:created",
                "system:role_changed",
                "system:role_changed",
                "system:kicked",
                "system:updated",
                "admins only",
                "owner too",
                "system:updated",
                "free again",
                "system:left",
                "system:role_changed",
                "system:dissolved",
            ]
        );
        // A member may still leave a dissolved group; the owner too.
        assert_eq!(
            s.delete(&leave, Some(&ann.token)).await.0,
            StatusCode::NO_CONTENT
        );
    });
}

#[tokio::test]
async fn recall_leaves_a_tombstone_that_pushes_and_syncs_and_is_refused_late() {
    each_backend!(|s| {
        let owner = s.register("owner").await;
        let ann = s.register("ann").await;
        let bob = s.register("bob").await;
        let (_, group) = create(&s, &owner.token, "recallers", &[ann.id, bob.id]).await;
        let g = group["id"].as_i64().unwrap();
        let recall = |seq: i64| format!("/api/v1/conversations/{g}/messages/{seq}/recall");
        let mut bob_socket = ws::signed_in(&s, &bob.token, None).await;
        let (_, oops) = say(&s, &ann.token, g, "oops, wrong group").await;
        let seq = oops["seq"].as_i64().unwrap();
        assert_eq!(next_message(&mut bob_socket).await["seq"], seq);

        // Someone else's message: no.
        let (status, body) = s.post(&recall(seq), Some(&bob.token), json!({})).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "cannot_recall")
        );
        let (status, body) = s.post(&recall(1), Some(&ann.token), json!({})).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "cannot_recall"),
            "a system message"
        );
        // The sender, in time: a tombstone.
        let (status, tomb) = s.post(&recall(seq), Some(&ann.token), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{tomb}");
        assert_eq!(tomb["kind"], "recalled");
        assert_eq!(tomb["content"], json!({}));
        assert_eq!(tomb["recalled_by"], ann.id);
        assert_eq!(tomb["seq"], seq);
        let pushed = ws::expect_op(&mut bob_socket, 1000).await;
        assert_eq!(pushed["body"]["type"], "recall");
        assert_eq!(
            (
                pushed["body"]["conversation_id"].as_i64(),
                pushed["body"]["seq"].as_i64()
            ),
            (Some(g), Some(seq))
        );
        assert_eq!(pushed["body"]["recalled_by"], ann.id);
        let notice = next_message(&mut bob_socket).await;
        assert_eq!(
            notice["content"],
            json!({"event": "recalled", "seq": seq, "by": ann.id})
        );
        // Again: the same tombstone.
        let (status, again) = s.post(&recall(seq), Some(&ann.token), json!({})).await;
        assert_eq!(
            (status, &again["recalled_at"]),
            (StatusCode::OK, &tomb["recalled_at"])
        );

        // History and sync show the tombstone in its place, then the notice.
        let all = history(&s, &owner.token, g, 0).await;
        assert_eq!(
            summary(&all),
            ["system:created", "recalled", "system:recalled"]
        );
        assert!(!all[1].to_string().contains("wrong group"));
        ws::send(
            &mut bob_socket,
            json!({"op": 20, "seq": 9, "body": {"positions": {g.to_string(): 0}}}),
        )
        .await;
        let synced = ws::expect_op(&mut bob_socket, 21).await;
        assert_eq!(synced["body"]["messages"][1]["kind"], "recalled");
        assert_eq!(synced["body"]["messages"][1]["recalled_by"], ann.id);

        // Past the window (the message made old in the database): the sender may not,
        // the owner still may.
        let (_, late) = say(&s, &ann.token, g, "said long ago").await;
        let late_seq = late["seq"].as_i64().unwrap();
        let state = s.app_state().await;
        store::sqlx::query("UPDATE messages SET created_at = created_at - 600000 WHERE conversation_id = $1 AND seq = $2")
            .bind(g)
            .bind(late_seq)
            .execute(state.store().pool())
            .await
            .unwrap();
        state.store().close().await;
        let (status, body) = s.post(&recall(late_seq), Some(&ann.token), json!({})).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "recall_window_passed")
        );
        let (status, body) = s
            .post(&recall(late_seq), Some(&owner.token), json!({}))
            .await;
        assert_eq!(
            (status, body["recalled_by"].as_i64()),
            (StatusCode::OK, Some(owner.id))
        );
        let (status, body) = s.post(&recall(999), Some(&owner.token), json!({})).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "message_not_found")
        );
        let stranger = s.register("stranger").await;
        let (status, body) = s.post(&recall(2), Some(&stranger.token), json!({})).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "conversation_not_found")
        );
    });
}

#[tokio::test]
async fn recall_window_is_a_setting() {
    for backend in common::backends() {
        let s = common::TestServer::start_with(backend, |c| c.chat.recall_window_secs = 1).await;
        let ann = s.register("ann").await;
        let bob = s.register("bob").await;
        let (_, conv) = s
            .post(
                "/api/v1/conversations/direct",
                Some(&ann.token),
                json!({"user_id": bob.id}),
            )
            .await;
        let c = conv["id"].as_i64().unwrap();
        let (_, m) = say(&s, &ann.token, c, "quick").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (status, body) = s
            .post(
                &format!("/api/v1/conversations/{c}/messages/{}/recall", m["seq"]),
                Some(&ann.token),
                json!({}),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "recall_window_passed")
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn socket_send_is_stored_then_pushed_and_ack_only_moves_forward() {
    each_backend!(|s| {
        let owner = s.register("owner").await;
        let ann = s.register("ann").await;
        let bob = s.register("bob").await;
        let (_, group) = create(&s, &owner.token, "sockets", &[ann.id, bob.id]).await;
        let g = group["id"].as_i64().unwrap();
        let mut ann_socket = ws::signed_in(&s, &ann.token, None).await;
        let mut bob_socket = ws::signed_in(&s, &bob.token, None).await;

        let send = json!({"op": 30, "seq": 5, "body": {
            "conversation_id": g, "kind": "text", "content": {"text": "over the socket"},
            "client_id": "sock-1",
        }});
        ws::send(&mut ann_socket, send.clone()).await;
        let reply = ws::expect_op(&mut ann_socket, 31).await;
        assert_eq!(reply["seq"], 5);
        assert_eq!(
            (
                reply["body"]["seq"].as_i64(),
                reply["body"]["sender_id"].as_i64()
            ),
            (Some(2), Some(ann.id))
        );
        let pushed = next_message(&mut bob_socket).await;
        assert_eq!(
            (pushed["seq"].as_i64(), &pushed["content"]["text"]),
            (Some(2), &json!("over the socket"))
        );
        // A retry is answered with what was stored, and stores nothing.
        ws::send(&mut ann_socket, send).await;
        assert_eq!(ws::expect_op(&mut ann_socket, 31).await["body"]["seq"], 2);
        assert_eq!(history(&s, &owner.token, g, 0).await.len(), 2);

        // Refusals carry the REST codes.
        let bad = |body: Value| json!({"op": 30, "seq": 6, "body": body});
        ws::send(&mut ann_socket, bad(json!({"conversation_id": g, "kind": "text", "content": {"text": ""}, "client_id": "x"}))).await;
        let e = ws::expect_op(&mut ann_socket, 24).await;
        assert_eq!(
            (e["body"]["code"].as_str(), e["body"]["op"].as_i64()),
            (Some("validation_failed"), Some(30))
        );
        ws::send(&mut ann_socket, bad(json!({"conversation_id": 987654, "kind": "text", "content": {"text": "hi"}, "client_id": "y"}))).await;
        assert_eq!(
            ws::expect_op(&mut ann_socket, 24).await["body"]["code"],
            "conversation_not_found"
        );
        ws::send(&mut ann_socket, bad(json!({"kind": "text"}))).await;
        assert_eq!(
            ws::expect_op(&mut ann_socket, 24).await["body"]["code"],
            "bad_body"
        );
        let (_, mute) = s
            .post(
                &format!("/api/v1/groups/{g}/mutes"),
                Some(&owner.token),
                json!({"user_id": ann.id, "duration_secs": 30}),
            )
            .await;
        ws::send(&mut ann_socket, bad(json!({"conversation_id": g, "kind": "text", "content": {"text": "hi"}, "client_id": "z"}))).await;
        let e = ws::expect_op(&mut ann_socket, 24).await;
        assert_eq!(e["body"]["code"], "muted");
        assert_eq!(e["body"]["until"], mute["until"]);

        // Ack: the delivered position moves forward only, and shows in the group.
        let ack =
            |seq: i64| json!({"op": 18, "seq": 7, "body": {"conversation_id": g, "seq": seq}});
        ws::send(&mut bob_socket, ack(2)).await;
        let r = ws::expect_op(&mut bob_socket, 19).await;
        assert_eq!(r["body"], json!({"conversation_id": g, "delivered_seq": 2}));
        ws::send(&mut bob_socket, ack(1)).await;
        assert_eq!(
            ws::expect_op(&mut bob_socket, 19).await["body"]["delivered_seq"],
            2
        );
        ws::send(&mut bob_socket, ack(99)).await;
        assert_eq!(
            ws::expect_op(&mut bob_socket, 24).await["body"]["code"],
            "bad_body"
        );
        let (_, view) = s
            .get(&format!("/api/v1/groups/{g}"), Some(&owner.token))
            .await;
        let bob_row = view["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user_id"] == bob.id)
            .unwrap()
            .clone();
        assert_eq!(
            (
                bob_row["delivered_seq"].as_i64(),
                bob_row["read_seq"].as_i64()
            ),
            (Some(2), Some(0))
        );
        let ann_row = view["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user_id"] == ann.id)
            .unwrap()
            .clone();
        assert_eq!(ann_row["muted_until"], mute["until"]);

        // In a direct conversation the sender sees the peer's delivered position.
        let (_, conv) = s
            .post(
                "/api/v1/conversations/direct",
                Some(&owner.token),
                json!({"user_id": bob.id}),
            )
            .await;
        let d = conv["id"].as_i64().unwrap();
        say(&s, &owner.token, d, "ping").await;
        ws::send(
            &mut bob_socket,
            json!({"op": 18, "seq": 8, "body": {"conversation_id": d, "seq": 1}}),
        )
        .await;
        ws::expect_op(&mut bob_socket, 19).await;
        let (_, list) = s.get("/api/v1/conversations", Some(&owner.token)).await;
        let direct = list
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == d)
            .unwrap()
            .clone();
        assert_eq!(
            (
                direct["peer_delivered_seq"].as_i64(),
                direct["peer_read_seq"].as_i64()
            ),
            (Some(1), Some(0))
        );
    });
}

#[tokio::test]
async fn bad_group_requests_get_precise_errors() {
    for backend in common::backends() {
        let s = common::TestServer::start_with(backend, |c| c.chat.max_group_members = 3).await;
        let owner = s.register("owner").await;
        let ann = s.register("ann").await;
        let bob = s.register("bob").await;
        let cat = s.register("cat").await;

        let (status, body) = create(&s, &owner.token, "   ", &[]).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "validation_failed")
        );
        assert!(body["error"]["fields"]["name"].is_string(), "{body}");
        let (status, body) = create(&s, &owner.token, &"x".repeat(65), &[]).await;
        assert!(
            body["error"]["fields"]["name"].is_string(),
            "{status} {body}"
        );
        let (status, body) = create(&s, &owner.token, &"x".repeat(100 * 1024), &[]).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        );
        let (status, body) = create(&s, &owner.token, "g", &[987654]).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "user_not_found")
        );
        let (status, body) = create(&s, &owner.token, "g", &[-3]).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "validation_failed")
        );
        let (status, body) = create(&s, &owner.token, "g", &[ann.id, bob.id, cat.id]).await;
        assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "group_full"));
        let (status, body) = s
            .post(
                "/api/v1/groups",
                Some(&owner.token),
                json!({"name": "g", "colour": "red"}),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
        );

        let (status, group) = create(&s, &owner.token, "small", &[ann.id]).await;
        assert_eq!(status, StatusCode::CREATED);
        let g = group["id"].as_i64().unwrap();
        let invite = format!("/api/v1/groups/{g}/members");
        let (status, body) = s
            .post(
                &invite,
                Some(&ann.token),
                json!({"user_ids": [bob.id, cat.id]}),
            )
            .await;
        assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "group_full"));
        // Cat blocks Ann: Ann's invitation skips her.
        s.post(
            &format!("/api/v1/users/{}/block", ann.id),
            Some(&cat.token),
            json!({}),
        )
        .await;
        let (status, body) = s
            .post(
                &invite,
                Some(&ann.token),
                json!({"user_ids": [cat.id, owner.id]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["added"], json!([]));
        assert_eq!(
            body["skipped"],
            json!([
                {"user_id": owner.id.min(cat.id), "reason": if owner.id < cat.id { "already_member" } else { "blocked" }},
                {"user_id": owner.id.max(cat.id), "reason": if owner.id < cat.id { "blocked" } else { "already_member" }},
            ])
        );
        let (status, body) = s
            .post(&invite, Some(&ann.token), json!({"user_ids": []}))
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "validation_failed")
        );
        let (status, body) = s
            .post(&invite, Some(&ann.token), json!({"user_ids": [bob.id]}))
            .await;
        assert_eq!(
            (status, body["added"].clone()),
            (StatusCode::OK, json!([bob.id]))
        );

        // Invite by admins only.
        patch(
            &s,
            &format!("/api/v1/groups/{g}"),
            &owner.token,
            json!({"admins_invite_only": true}),
        )
        .await;
        let (status, body) = s
            .post(&invite, Some(&ann.token), json!({"user_ids": [cat.id]}))
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "not_group_admin")
        );

        let (status, body) = put(
            &s,
            &format!("/api/v1/groups/{g}/members/{}/role", ann.id),
            &owner.token,
            json!({"role": "king"}),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "validation_failed")
        );
        assert!(body["error"]["fields"]["role"].is_string());
        let (status, body) = put(
            &s,
            &format!("/api/v1/groups/{g}/members/{}/role", cat.id),
            &owner.token,
            json!({"role": "admin"}),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "member_not_found")
        );
        let (status, body) =
            patch(&s, &format!("/api/v1/groups/{g}"), &owner.token, json!({})).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "validation_failed")
        );
        let (status, body) = s
            .post(
                &format!("/api/v1/groups/{g}/mutes"),
                Some(&owner.token),
                json!({"user_id": ann.id, "duration_secs": 0}),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "validation_failed")
        );
        let (status, body) = s
            .post(
                &format!("/api/v1/groups/{g}/mutes"),
                Some(&ann.token),
                json!({"user_id": owner.id, "duration_secs": 60}),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "not_group_admin")
        );

        // Unknown groups, strangers, and direct conversations look alike: not found.
        for (path, token) in [
            ("/api/v1/groups/987654".to_string(), &owner.token),
            (format!("/api/v1/groups/{g}"), &cat.token),
        ] {
            let (status, body) = s.get(&path, Some(token)).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::NOT_FOUND, "conversation_not_found"),
                "{path}"
            );
        }
        let (_, conv) = s
            .post(
                "/api/v1/conversations/direct",
                Some(&owner.token),
                json!({"user_id": cat.id}),
            )
            .await;
        let (status, body) = s
            .get(
                &format!("/api/v1/groups/{}", conv["id"]),
                Some(&owner.token),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "conversation_not_found")
        );
        let (status, body) = s.get("/api/v1/groups/abc", Some(&owner.token)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_id")
        );
        let (status, _) = s.get(&format!("/api/v1/groups/{g}"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        s.stop().await;
    }
}
