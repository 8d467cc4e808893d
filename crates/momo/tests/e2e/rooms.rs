//! Live rooms as an app uses them: editing, finding (hot, new, by category, of people I
//! follow), live sessions with their income, gifts announced in the room's chat, and
//! operators cutting and banning a stream published by a real RTMP client.

use crate::common;

use std::time::Duration;

use media::client::rtmp::{ClientIoError, RtmpPublisher};
use media::frame::{Frame, FrameKind};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use common::ws::{expect_op, signed_in};
use common::TestServer;

async fn create_room(s: &TestServer, token: &str) -> Value {
    let (status, room) = s.post("/api/v1/rooms", Some(token), json!({})).await;
    assert!(status.is_success(), "{room}");
    room
}

async fn patch(s: &TestServer, token: &str, room: i64, body: Value) -> (StatusCode, Value) {
    s.call(
        Method::PATCH,
        &format!("/api/v1/rooms/{room}"),
        Some(token),
        Some(body),
    )
    .await
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn rooms_are_edited_found_and_keep_their_sessions() {
    for backend in common::backends() {
        let s = TestServer::start_with(backend, |c| c.media.grace_secs = 0).await;
        let admin = s.admin_token("boss").await;
        let (_, gift) = s
            .post(
                "/api/v1/admin/gifts",
                Some(&admin),
                json!({"name": "Rocket", "price_coins": 100}),
            )
            .await;
        let gift = gift["id"].as_i64().unwrap();
        let (a, b, c) = (
            s.register("alice").await,
            s.register("bob").await,
            s.register("carol").await,
        );
        let fan = s.register("fan").await;
        let room_a = create_room(&s, &a.token).await["id"].as_i64().unwrap();
        let room_b = create_room(&s, &b.token).await["id"].as_i64().unwrap();
        let (status, room_c) = s
            .post(
                "/api/v1/rooms",
                Some(&c.token),
                json!({"title": "Ranked games", "category": "Games", "tags": ["fps"], "cover_url": "/covers/c.jpg"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{room_c}");
        assert_eq!(
            (&room_c["category"], &room_c["tags"], &room_c["cover_url"]),
            (&json!("games"), &json!(["fps"]), &json!("/covers/c.jpg"))
        );
        let (status, _) = s
            .post(
                "/api/v1/rooms",
                Some(&fan.token),
                json!({"tags": vec!["a"; 9]}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "fields are checked on create too"
        );
        let room_c = room_c["id"].as_i64().unwrap();

        // The owner edits; others cannot; bad fields are named.
        let (status, edited) = patch(&s, &a.token, room_a, json!({"title": "  Night songs ", "cover_url": "https://img.example/c.jpg", "category": "Music", "tags": ["guitar", "chill"]})).await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert_eq!(
            (&edited["title"], &edited["category"], &edited["tags"]),
            (
                &json!("Night songs"),
                &json!("music"),
                &json!(["guitar", "chill"])
            )
        );
        assert_eq!(edited["owner"]["nickname"], "alice");
        let (status, err) = patch(&s, &b.token, room_a, json!({"title": "mine now"})).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::FORBIDDEN, &json!("not_room_owner"))
        );
        let (status, err) = patch(&s, &a.token, room_a, json!({"cover_url": "javascript:alert(1)", "tags": ["1", "2", "3", "4", "5", "6"], "title": ""})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        for field in ["cover_url", "tags", "title"] {
            assert!(err["error"]["fields"][field].is_string(), "{field}: {err}");
        }
        let (status, _) = patch(&s, &a.token, 999_999, json!({"title": "x"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Live now: A, then B. Nothing else shows in the live lists.
        let pa = s.go_live(room_a).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        let pb = s.go_live(room_b).await;
        let (_, new) = s.get("/api/v1/rooms?order=new", None).await;
        assert_eq!(ids(&new), [room_b, room_a]);
        let (_, music) = s.get("/api/v1/rooms?category=music", None).await;
        assert_eq!(ids(&music), [room_a]);
        // Gifts make a room hot.
        let (status, _) = s.post("/api/v1/admin/wallet/adjustments", Some(&admin), json!({"user_id": fan.id, "asset": "coin", "amount": 1000, "reason": "test", "idempotency_key": "f"})).await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, hot) = s.get("/api/v1/rooms", None).await;
        assert_eq!(ids(&hot), [room_b, room_a], "equal scores: newest id first");
        let (status, _) = s
            .post(
                &format!("/api/v1/rooms/{room_a}/gifts"),
                Some(&fan.token),
                json!({"gift_id": gift, "count": 2, "idempotency_key": "g1"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, hot) = s.get("/api/v1/rooms?status=live&order=hot", None).await;
        assert_eq!(ids(&hot), [room_a, room_b]);
        let (_, first) = s.get("/api/v1/rooms?limit=1", None).await;
        assert_eq!(ids(&first), [room_a]);
        let cursor = first["next_cursor"].as_str().expect("a second page");
        let (_, second) = s
            .get(&format!("/api/v1/rooms?limit=1&cursor={cursor}"), None)
            .await;
        assert_eq!(ids(&second), [room_b]);
        assert!(second["next_cursor"].is_null());
        // Every room, newest first, paged.
        let (_, all) = s.get("/api/v1/rooms?status=all&limit=2", None).await;
        assert_eq!(ids(&all), [room_c, room_b]);
        let cursor = all["next_cursor"].as_str().unwrap();
        let (_, rest) = s
            .get(
                &format!("/api/v1/rooms?status=all&limit=2&cursor={cursor}"),
                None,
            )
            .await;
        assert_eq!(ids(&rest), [room_a]);
        // Rooms of people I follow.
        let (status, _) = s
            .post(
                &format!("/api/v1/users/{}/follow", a.id),
                Some(&fan.token),
                json!({}),
            )
            .await;
        assert!(status.is_success());
        let (_, following) = s.get("/api/v1/rooms/following", Some(&fan.token)).await;
        assert_eq!(ids(&following), [room_a]);
        let (status, _) = s.get("/api/v1/rooms/following", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        for bad in [
            "status=maybe",
            "order=cold",
            "order=hot&status=all",
            "limit=0",
            "cursor=zzz",
        ] {
            let (status, body) = s.get(&format!("/api/v1/rooms?{bad}"), None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        }
        // Stream keys never leak into lists.
        assert!(hot["items"][0].get("stream_key").is_none());

        // A ends; its session keeps its income, visible to the owner and operators only.
        drop(pa);
        for _ in 0..100 {
            let (_, room) = s.get(&format!("/api/v1/rooms/{room_a}"), None).await;
            if room["status"] == "offline" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (status, sessions) = s
            .get(&format!("/api/v1/rooms/{room_a}/sessions"), Some(&a.token))
            .await;
        assert_eq!(status, StatusCode::OK, "{sessions}");
        let session = &sessions["items"][0];
        assert_eq!(
            (
                &session["end_reason"],
                &session["gift_coins"],
                &session["gift_diamonds"]
            ),
            (&json!("ended"), &json!(200), &json!(200)),
            "{session}"
        );
        assert!(session["ended_at"].as_i64().unwrap() >= session["started_at"].as_i64().unwrap());
        let (status, _) = s
            .get(
                &format!("/api/v1/rooms/{room_a}/sessions"),
                Some(&fan.token),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = s
            .get(&format!("/api/v1/rooms/{room_a}/sessions"), Some(&admin))
            .await;
        assert_eq!(status, StatusCode::OK);
        // The last session's ranking stays readable after it ends.
        let (_, ranking) = s
            .get(
                &format!("/api/v1/rooms/{room_a}/rankings?period=session"),
                None,
            )
            .await;
        assert_eq!(ranking["items"][0]["coins"], 200, "{ranking}");
        let (_, live) = s.get("/api/v1/rooms", None).await;
        assert_eq!(ids(&live), [room_b]);
        drop(pb);
        s.stop().await;
    }
}

#[tokio::test]
async fn a_gift_is_announced_in_the_room_chat() {
    let s = TestServer::start(common::Backend::Sqlite).await;
    let admin = s.admin_token("boss").await;
    let (_, gift) = s
        .post("/api/v1/admin/gifts", Some(&admin), json!({"name": "Heart", "price_coins": 1, "animation_url": "https://cdn.example/heart.svga", "kind": "animated"}))
        .await;
    let anchor = s.register("anchor").await;
    let fan = s.register("fan").await;
    let watcher = s.register("watcher").await;
    let room = create_room(&s, &anchor.token).await["id"].as_i64().unwrap();
    let _live = s.go_live(room).await;
    let mut ws = signed_in(&s, &watcher.token, Some(&format!("live://{room}"))).await;
    s.post("/api/v1/admin/wallet/adjustments", Some(&admin), json!({"user_id": fan.id, "asset": "coin", "amount": 5, "reason": "test", "idempotency_key": "f"})).await;
    let (status, _) = s
        .post(
            &format!("/api/v1/rooms/{room}/gifts"),
            Some(&fan.token),
            json!({"gift_id": gift["id"], "count": 3, "idempotency_key": "g"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let msg = expect_op(&mut ws, 1000).await;
    let body = &msg["body"];
    assert_eq!(body["type"], "gift", "{msg}");
    assert_eq!(
        (
            &body["count"],
            &body["sender"]["nickname"],
            &body["gift"]["animation_url"]
        ),
        (
            &json!(3),
            &json!("fan"),
            &json!("https://cdn.example/heart.svga")
        )
    );
    s.stop().await;
}

/// A keyframe-only H.264 stream header and frame: enough for the hub to carry.
fn frames(ts: u32) -> [Frame; 2] {
    let seq_header = Frame {
        kind: FrameKind::Video,
        timestamp: 0,
        payload: bytes::Bytes::from_static(&[
            0x17, 0x00, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0,
        ]),
    };
    let key = Frame {
        kind: FrameKind::Video,
        timestamp: ts,
        payload: bytes::Bytes::from_static(&[0x17, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x65]),
    };
    [seq_header, key]
}

/// Publishes with `key` until the server hangs up (or 10 s pass); returns how it ended.
async fn publish_until_cut(addr: &str, key: &str) -> ClientIoError {
    let mut p = RtmpPublisher::connect(addr, "live", key)
        .await
        .expect("publish accepted");
    for n in 0..500u32 {
        for f in frames(n * 20) {
            if let Err(e) = p.send(&f).await {
                return e;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the publisher was never cut");
}

async fn status_of(s: &TestServer, room: i64) -> Value {
    s.get(&format!("/api/v1/rooms/{room}"), None).await.1
}

async fn wait_status(s: &TestServer, room: i64, want: &str) {
    for _ in 0..250 {
        if status_of(s, room).await["status"] == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("room {room} never became {want}");
}

#[tokio::test]
async fn operators_cut_and_ban_a_stream_from_a_real_encoder() {
    for backend in common::backends() {
        let s = TestServer::start_with(backend, |c| c.media.grace_secs = 0).await;
        let admin = s.admin_token("boss").await;
        let anchor = s.register("anchor").await;
        let room = create_room(&s, &anchor.token).await;
        let (id, key) = (
            room["id"].as_i64().unwrap(),
            room["stream_key"].as_str().unwrap().to_string(),
        );
        let rtmp = s
            .rtmp_base
            .trim_start_matches("rtmp://")
            .trim_end_matches("/live")
            .to_string();

        // Cut: the encoder is hung up on and the room goes offline; it may come back.
        let encoder = tokio::spawn(publish_until_cut_owned(rtmp.clone(), key.clone()));
        wait_status(&s, id, "live").await;
        let (_, listed) = s.get("/api/v1/admin/rooms", Some(&admin)).await;
        assert_eq!(listed["items"][0]["id"], id, "{listed}");
        assert!(
            listed["items"][0]["stream"]["frames_in"].as_u64().unwrap() > 0,
            "{listed}"
        );
        let (status, _) = s
            .post(
                &format!("/api/v1/admin/rooms/{id}/cut"),
                Some(&anchor.token),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, cut) = s
            .post(
                &format!("/api/v1/admin/rooms/{id}/cut"),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{cut}");
        assert_eq!(
            (&cut["stream_cut"], &cut["banned"]),
            (&json!(true), &json!(false))
        );
        tokio::time::timeout(Duration::from_secs(5), encoder)
            .await
            .expect("hung up")
            .unwrap();
        wait_status(&s, id, "offline").await;
        let (_, sessions) = s
            .get(&format!("/api/v1/rooms/{id}/sessions"), Some(&anchor.token))
            .await;
        assert_eq!(sessions["items"][0]["end_reason"], "cut", "{sessions}");

        // Ban: cut again, and the key is refused until the ban is lifted.
        let encoder = tokio::spawn(publish_until_cut_owned(rtmp.clone(), key.clone()));
        wait_status(&s, id, "live").await;
        let (status, ban) = s
            .post(
                &format!("/api/v1/admin/rooms/{id}/ban"),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ban}");
        assert_eq!(ban["stream_cut"], true);
        tokio::time::timeout(Duration::from_secs(5), encoder)
            .await
            .expect("hung up")
            .unwrap();
        wait_status(&s, id, "offline").await;
        assert_eq!(status_of(&s, id).await["banned"], true);
        match RtmpPublisher::connect(rtmp.as_str(), "live", &key).await {
            Err(ClientIoError::Refused { .. }) => {}
            Err(e) => panic!("expected a refusal, got {e}"),
            Ok(_) => panic!("a banned room published"),
        }
        let (status, _) = s
            .delete(&format!("/api/v1/admin/rooms/{id}/ban"), Some(&admin))
            .await;
        assert_eq!(status, StatusCode::OK);
        let p = RtmpPublisher::connect(rtmp.as_str(), "live", &key)
            .await
            .expect("unbanned rooms publish");
        drop(p);
        let (status, _) = s
            .post("/api/v1/admin/rooms/999999/ban", Some(&admin), json!({}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        s.stop().await;
    }
}

async fn publish_until_cut_owned(addr: String, key: String) -> ClientIoError {
    publish_until_cut(&addr, &key).await
}

#[tokio::test]
async fn rotating_the_stream_key_cuts_the_stream_live_with_the_old_one() {
    for backend in common::backends() {
        let s = TestServer::start_with(backend, |c| c.media.grace_secs = 30).await;
        let anchor = s.register("leaky").await;
        let room = create_room(&s, &anchor.token).await;
        let (id, key) = (
            room["id"].as_i64().unwrap(),
            room["stream_key"].as_str().unwrap().to_string(),
        );
        let rtmp = s
            .rtmp_base
            .trim_start_matches("rtmp://")
            .trim_end_matches("/live")
            .to_string();
        let encoder = tokio::spawn(publish_until_cut_owned(rtmp.clone(), key.clone()));
        wait_status(&s, id, "live").await;
        let (status, rotated) = s
            .post(
                &format!("/api/v1/rooms/{id}/stream-key"),
                Some(&anchor.token),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        // Hung up at once, though a 30 s grace period would have kept the stream.
        tokio::time::timeout(Duration::from_secs(5), encoder)
            .await
            .expect("the old key's publisher is hung up")
            .unwrap();
        wait_status(&s, id, "offline").await;
        let (_, sessions) = s
            .get(&format!("/api/v1/rooms/{id}/sessions"), Some(&anchor.token))
            .await;
        assert_eq!(
            sessions["items"][0]["end_reason"], "key_rotated",
            "{sessions}"
        );
        match RtmpPublisher::connect(rtmp.as_str(), "live", &key).await {
            Err(ClientIoError::Refused { .. }) => {}
            Err(e) => panic!("expected a refusal, got {e}"),
            Ok(_) => panic!("the old key published"),
        }
        let new_key = rotated["stream_key"].as_str().unwrap();
        let p = RtmpPublisher::connect(rtmp.as_str(), "live", new_key)
            .await
            .expect("the new key publishes");
        drop(p);
        s.stop().await;
    }
}
