//! Room moderation end to end: owners appoint room admins; owners, room admins and
//! platform admins mute and kick members; the chat gateway refuses a muted member's
//! danmaku (op 24 `muted` with `until`) and a kicked viewer's rejoin, while the rest of
//! the room carries on.

use crate::common;

use std::time::Duration;

use common::ws::{connect, expect_op, sees_op_within, send, signed_in, Ws};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn room_of(s: &common::TestServer, token: &str) -> i64 {
    let (status, room) = s.post("/api/v1/rooms", Some(token), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    room["id"].as_i64().unwrap()
}

async fn mute(
    s: &common::TestServer,
    token: &str,
    room: i64,
    user: i64,
    secs: i64,
) -> (StatusCode, Value) {
    s.post(
        &format!("/api/v1/rooms/{room}/mutes"),
        Some(token),
        json!({"user_id": user, "duration_secs": secs}),
    )
    .await
}

async fn say(ws: &mut Ws, seq: u64, text: &str) -> Value {
    send(ws, json!({"op": 4, "seq": seq, "body": {"text": text}})).await;
    loop {
        let v = common::ws::next_within(ws, Duration::from_secs(5))
            .await
            .expect("an answer to op 4");
        if (v["op"] == 5 || v["op"] == 24) && v["seq"] == seq {
            return v;
        }
    }
}

/// Waits for the danmaku saying `text`, skipping other pushes.
async fn hears(ws: &mut Ws, text: &str) {
    loop {
        let m = expect_op(ws, 1000).await;
        if m["body"]["text"] == text {
            return;
        }
    }
}

#[tokio::test]
async fn a_muted_member_cannot_speak_but_the_room_carries_on() {
    each_backend!(|s| {
        let owner = s.register("owner").await;
        let loud = s.register("loud").await;
        let calm = s.register("calm").await;
        let room = room_of(&s, &owner.token).await;
        let live = format!("live://{room}");
        let mut loud_ws = signed_in(&s, &loud.token, Some(&live)).await;
        let mut calm_ws = signed_in(&s, &calm.token, Some(&live)).await;
        assert_eq!(say(&mut loud_ws, 2, "first!").await["op"], 5);
        hears(&mut calm_ws, "first!").await;

        let (status, muted) = mute(&s, &owner.token, room, loud.id, 60).await;
        assert_eq!(status, StatusCode::OK, "{muted}");
        let until = muted["until_ms"].as_i64().unwrap();
        assert!(until > kit::time::now_ms() + 55_000);
        assert_eq!(muted["by_user"], owner.id);

        let refused = say(&mut loud_ws, 3, "SPAM SPAM").await;
        assert_eq!(refused["op"], 24, "{refused}");
        assert_eq!(refused["body"]["code"], "muted");
        assert_eq!(refused["body"]["op"], 4);
        assert_eq!(refused["body"]["until"], until);
        // The others still talk, and the muted member still reads them.
        assert_eq!(say(&mut calm_ws, 4, "hello all").await["op"], 5);
        hears(&mut calm_ws, "hello all").await;
        hears(&mut loud_ws, "hello all").await;
        let (_, list) = s
            .get(&format!("/api/v1/rooms/{room}/mutes"), Some(&owner.token))
            .await;
        assert_eq!(list["items"][0]["user_id"], loud.id);

        // Unmuted: heard again at once.
        let (status, _) = s
            .call(
                Method::DELETE,
                &format!("/api/v1/rooms/{room}/mutes/{}", loud.id),
                Some(&owner.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(say(&mut loud_ws, 5, "sorry").await["op"], 5);
        hears(&mut calm_ws, "sorry").await;
    });
}

#[tokio::test]
async fn a_mute_ends_by_itself() {
    each_backend!(|s| {
        let owner = s.register("owner").await;
        let viewer = s.register("viewer").await;
        let room = room_of(&s, &owner.token).await;
        let mut ws = signed_in(&s, &viewer.token, Some(&format!("live://{room}"))).await;
        assert_eq!(
            mute(&s, &owner.token, room, viewer.id, 1).await.0,
            StatusCode::OK
        );
        assert_eq!(say(&mut ws, 2, "now?").await["body"]["code"], "muted");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(say(&mut ws, 3, "now!").await["op"], 5);
    });
}

#[tokio::test]
async fn owners_appoint_room_admins_who_then_moderate() {
    each_backend!(|s| {
        let owner = s.register("owner").await;
        let helper = s.register("helper").await;
        let viewer = s.register("viewer").await;
        let stranger = s.register("stranger").await;
        let room = room_of(&s, &owner.token).await;
        let admins = format!("/api/v1/rooms/{room}/admins/{}", helper.id);

        // Nobody but the owner (or a platform admin) appoints; nobody else mutes.
        let (status, body) = mute(&s, &stranger.token, room, viewer.id, 60).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_room_admin"))
        );
        let (status, body) = s
            .call(Method::PUT, &admins, Some(&stranger.token), None)
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_room_owner"))
        );
        let (status, body) = mute(&s, &helper.token, room, viewer.id, 60).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

        let (status, added) = s.call(Method::PUT, &admins, Some(&owner.token), None).await;
        assert_eq!(status, StatusCode::OK, "{added}");
        assert_eq!(
            (added["room_id"].as_i64(), added["user_id"].as_i64()),
            (Some(room), Some(helper.id))
        );
        assert_eq!(added["nickname"], "helper");
        let (status, again) = s.call(Method::PUT, &admins, Some(&owner.token), None).await;
        assert_eq!(
            (status, &again["created_at"]),
            (StatusCode::OK, &added["created_at"])
        );
        let (status, list) = s.get(&format!("/api/v1/rooms/{room}/admins"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert_eq!(list["items"][0]["user_id"], helper.id);

        // The room admin mutes a viewer, but not the owner, and appoints nobody.
        let mut ws = signed_in(&s, &viewer.token, Some(&format!("live://{room}"))).await;
        let (status, body) = mute(&s, &helper.token, room, viewer.id, 60).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["by_user"], helper.id);
        assert_eq!(say(&mut ws, 2, "hi").await["body"]["code"], "muted");
        let (status, body) = mute(&s, &helper.token, room, owner.id, 60).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("cannot_moderate_owner"))
        );
        let other = format!("/api/v1/rooms/{room}/admins/{}", viewer.id);
        let (status, body) = s.call(Method::PUT, &other, Some(&helper.token), None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_room_owner"))
        );
        let (status, body) = mute(&s, &owner.token, room, owner.id, 60).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("cannot_moderate_self"))
        );
        let (status, body) = s
            .call(
                Method::PUT,
                &format!("/api/v1/rooms/{room}/admins/{}", owner.id),
                Some(&owner.token),
                None,
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("owner_is_not_admin"))
        );

        // Removed, the helper has no power left.
        let (status, _) = s
            .call(Method::DELETE, &admins, Some(&owner.token), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = mute(&s, &helper.token, room, viewer.id, 60).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_room_admin"))
        );

        // A platform admin moderates any room, and appoints in it.
        let root = s.admin_token("root").await;
        let (status, body) = mute(&s, &root, room, helper.id, 60).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = s.call(Method::PUT, &admins, Some(&root), None).await;
        assert_eq!(status, StatusCode::OK);
    });
}

#[tokio::test]
async fn a_kicked_viewer_leaves_the_room_and_cannot_rejoin_for_a_while() {
    each_backend!(|s| {
        let owner = s.register("owner").await;
        let troll = s.register("troll").await;
        let fan = s.register("fan").await;
        let room = room_of(&s, &owner.token).await;
        let live = format!("live://{room}");
        let mut troll_ws = signed_in(&s, &troll.token, Some(&live)).await;
        let mut fan_ws = signed_in(&s, &fan.token, Some(&live)).await;

        let (status, kick) = s
            .post(
                &format!("/api/v1/rooms/{room}/kicks"),
                Some(&owner.token),
                json!({"user_id": troll.id}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{kick}");
        assert_eq!(kick["connections_removed"], 1);
        let until = kick["until_ms"].as_i64().unwrap();
        assert!(
            until > kit::time::now_ms() + 590_000,
            "10 minutes by default"
        );

        // Out of the room, the connection still open.
        let notice = expect_op(&mut troll_ws, 13).await;
        assert_eq!(notice["seq"], 0);
        assert!(notice["body"]["room_id"].is_null());
        assert_eq!(
            notice["body"]["kicked"],
            json!({"room_id": live, "until": until})
        );
        assert_eq!(
            say(&mut troll_ws, 2, "still here").await["body"]["code"],
            "not_in_room"
        );
        send(&mut fan_ws, json!({"op": 2, "seq": 3})).await;
        assert_eq!(expect_op(&mut fan_ws, 3).await["body"]["online"], 1);
        assert_eq!(say(&mut fan_ws, 4, "peace at last").await["op"], 5);
        assert!(
            sees_op_within(&mut troll_ws, 1000, Duration::from_millis(300))
                .await
                .is_none(),
            "the kicked viewer still hears the room"
        );

        // Rejoining is refused, by op 12 and by a new connection.
        send(
            &mut troll_ws,
            json!({"op": 12, "seq": 5, "body": {"room_id": live}}),
        )
        .await;
        let refused = expect_op(&mut troll_ws, 24).await;
        assert_eq!(refused["body"]["code"], "kicked");
        assert_eq!(refused["body"]["until"], until);
        assert_eq!(refused["body"]["op"], 12);
        let mut again = connect(&s, &troll.token, Some(&live)).await;
        expect_op(&mut again, 8).await;
        let refused = expect_op(&mut again, 24).await;
        assert_eq!(
            (
                refused["body"]["code"].as_str(),
                refused["body"]["op"].as_u64()
            ),
            (Some("kicked"), Some(7))
        );
        send(&mut again, json!({"op": 2, "seq": 2})).await;
        assert_eq!(
            expect_op(&mut again, 3).await["body"]["online"],
            0,
            "in no room, but connected"
        );
        // Other rooms are open to them.
        send(
            &mut troll_ws,
            json!({"op": 12, "seq": 6, "body": {"room_id": "live://other"}}),
        )
        .await;
        assert_eq!(
            expect_op(&mut troll_ws, 13).await["body"]["room_id"],
            "live://other"
        );
    });
}

#[tokio::test]
async fn bad_moderation_requests_get_precise_errors() {
    each_backend!(|s| {
        let owner = s.register("owner").await;
        let viewer = s.register("viewer").await;
        let room = room_of(&s, &owner.token).await;
        let t = Some(owner.token.as_str());
        let mutes = format!("/api/v1/rooms/{room}/mutes");

        let (status, body) = mute(&s, &owner.token, room, 987_654, 60).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("user_not_found"))
        );
        let (status, body) = mute(&s, &owner.token, 987_654, viewer.id, 60).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("room_not_found"))
        );
        for secs in [-5, 0, 30 * 24 * 3600 + 1] {
            let (status, body) = mute(&s, &owner.token, room, viewer.id, secs).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{secs}: {body}");
            assert_eq!(body["error"]["code"], "validation_failed");
            assert!(
                body["error"]["fields"]["duration_secs"].is_string(),
                "{body}"
            );
        }
        let (status, body) = s
            .post(&mutes, t, json!({"user_id": -3, "duration_secs": 60}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"]["fields"]["user_id"].is_string(), "{body}");
        let (status, body) = s.post(&mutes, t, json!({"user_id": viewer.id})).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
        );
        let (status, body) = s
            .post(
                &mutes,
                t,
                json!({"user_id": viewer.id, "duration_secs": 60, "why": "x"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, body) = s
            .post(
                &format!("/api/v1/rooms/{room}/kicks"),
                t,
                json!({"user_id": viewer.id, "duration_secs": -1}),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("validation_failed"))
        );
        let (status, body) = s
            .post(
                &format!("/api/v1/rooms/{room}/kicks"),
                t,
                json!({"user_id": owner.id}),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("cannot_moderate_self"))
        );
        let (status, body) = s
            .call(
                Method::PUT,
                &format!("/api/v1/rooms/{room}/admins/abc"),
                t,
                None,
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_id"))
        );
        let (status, body) = s
            .call(
                Method::PUT,
                &format!("/api/v1/rooms/{room}/admins/987654"),
                t,
                None,
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("user_not_found"))
        );
        let (status, body) = s.get("/api/v1/rooms/987654/admins", None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("room_not_found"))
        );
        // A stranger learns only that it may not, whatever it sends.
        let (status, body) = mute(&s, &viewer.token, room, owner.id, -1).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_room_admin"))
        );
        let (status, _) = s
            .post(
                &mutes,
                None,
                json!({"user_id": viewer.id, "duration_secs": 60}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    });
}
