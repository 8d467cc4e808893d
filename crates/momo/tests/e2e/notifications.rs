//! The notifications inbox end to end: a new follower is pushed live (op 25) and kept in
//! the inbox; a user who was away catches up over REST and over the socket (op 26),
//! with no gaps; read positions never move back; announcements reach everyone, once;
//! a live notice fans out to a thousand followers.

use crate::common;

use std::time::{Duration, Instant};

use common::ws::{expect_op, sees_op_within, send, signed_in};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn follow(s: &common::TestServer, token: &str, target: i64) -> StatusCode {
    s.call(
        Method::POST,
        &format!("/api/v1/users/{target}/follow"),
        Some(token),
        None,
    )
    .await
    .0
}

fn seqs(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["seq"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_new_follower_is_pushed_live_and_kept_in_the_inbox() {
    each_backend!(|s| {
        let alice = s.register("alice").await;
        let bob = s.register("bob").await;
        let mut bob_ws = signed_in(&s, &bob.token, None).await;

        assert_eq!(follow(&s, &alice.token, bob.id).await, StatusCode::OK);
        let pushed = expect_op(&mut bob_ws, 25).await;
        assert_eq!(pushed["seq"], 0);
        let n = &pushed["body"];
        assert_eq!(n["seq"], 1, "{pushed}");
        assert_eq!(n["kind"], "follow");
        assert_eq!(n["actor_id"], alice.id);
        assert!(n["created_at"].as_i64().unwrap() > 0);

        // Following again creates no edge, and so no notification.
        assert_eq!(follow(&s, &alice.token, bob.id).await, StatusCode::OK);
        assert!(
            sees_op_within(&mut bob_ws, 25, Duration::from_millis(300))
                .await
                .is_none(),
            "a repeated follow notified again"
        );
        let (status, inbox) = s.get("/api/v1/notifications", Some(&bob.token)).await;
        assert_eq!(status, StatusCode::OK, "{inbox}");
        assert_eq!(seqs(&inbox["items"]), [1]);
        assert_eq!(inbox["items"][0]["kind"], "follow");
        assert_eq!(inbox["items"][0]["actor_id"], alice.id);
        assert_eq!(
            (inbox["last_seq"].as_i64(), inbox["read_seq"].as_i64()),
            (Some(1), Some(0))
        );
        assert!(inbox["next_after_seq"].is_null());
        // The follower's own inbox is untouched.
        let (_, unread) = s
            .get("/api/v1/notifications/unread", Some(&alice.token))
            .await;
        assert_eq!(unread["unread"], 0);
    });
}

#[tokio::test]
async fn an_offline_user_catches_up_over_rest_and_the_socket() {
    each_backend!(|s| {
        let carol = s.register("carol").await;
        let mut fans = Vec::new();
        for i in 0..5 {
            let fan = s.register(&format!("fan{i}")).await;
            assert_eq!(follow(&s, &fan.token, carol.id).await, StatusCode::OK);
            fans.push(fan);
        }
        let (_, unread) = s
            .get("/api/v1/notifications/unread", Some(&carol.token))
            .await;
        assert_eq!(unread, json!({"unread": 5, "last_seq": 5, "read_seq": 0}));

        // REST, page by page, in order, no gaps.
        let (status, page) = s
            .get(
                "/api/v1/notifications?after_seq=2&limit=2",
                Some(&carol.token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(seqs(&page["items"]), [3, 4]);
        assert_eq!(page["items"][0]["actor_id"], fans[2].id);
        assert_eq!(page["next_after_seq"], 4);
        let (_, page) = s
            .get(
                "/api/v1/notifications?after_seq=4&limit=2",
                Some(&carol.token),
            )
            .await;
        assert_eq!(seqs(&page["items"]), [5]);
        assert!(page["next_after_seq"].is_null());

        // The socket: sync after 3, then read up to 4.
        let mut ws = signed_in(&s, &carol.token, None).await;
        send(
            &mut ws,
            json!({"op": 26, "seq": 2, "body": {"after_seq": 3}}),
        )
        .await;
        let synced = expect_op(&mut ws, 27).await;
        assert_eq!(synced["seq"], 2);
        assert_eq!(seqs(&synced["body"]["notifications"]), [4, 5]);
        assert_eq!(synced["body"]["notifications"][1]["kind"], "follow");
        assert_eq!(synced["body"]["more"], false);
        assert_eq!(synced["body"]["last_seq"], 5);
        send(&mut ws, json!({"op": 28, "seq": 3, "body": {"seq": 4}})).await;
        let read = expect_op(&mut ws, 29).await;
        assert_eq!(read["body"], json!({"read_seq": 4, "unread": 1}));
        // An empty sync body means "from the start".
        send(&mut ws, json!({"op": 26, "seq": 4})).await;
        assert_eq!(
            seqs(&expect_op(&mut ws, 27).await["body"]["notifications"]),
            [1, 2, 3, 4, 5]
        );
        send(&mut ws, json!({"op": 28, "seq": 5, "body": {"seq": 9}})).await;
        let refused = expect_op(&mut ws, 24).await;
        assert_eq!(refused["body"]["code"], "bad_body");
        assert_eq!(refused["body"]["op"], 28);
        send(
            &mut ws,
            json!({"op": 26, "seq": 6, "body": {"after_seq": -1}}),
        )
        .await;
        assert_eq!(expect_op(&mut ws, 24).await["body"]["code"], "bad_body");

        // The read position never moves back.
        let (status, read) = s
            .post(
                "/api/v1/notifications/read",
                Some(&carol.token),
                json!({"seq": 2}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(read, json!({"unread": 1, "last_seq": 5, "read_seq": 4}));
        let (_, read) = s
            .post(
                "/api/v1/notifications/read",
                Some(&carol.token),
                json!({"seq": 5}),
            )
            .await;
        assert_eq!(read["unread"], 0);
        let (_, unread) = s
            .get("/api/v1/notifications/unread", Some(&carol.token))
            .await;
        assert_eq!(unread["unread"], 0);
    });
}

#[tokio::test]
async fn bad_inbox_requests_get_precise_errors() {
    each_backend!(|s| {
        let u = s.register("picky").await;
        let t = Some(u.token.as_str());
        for (path, field) in [
            ("/api/v1/notifications?limit=100000", "limit"),
            ("/api/v1/notifications?limit=0", "limit"),
            ("/api/v1/notifications?after_seq=-1", "after_seq"),
        ] {
            let (status, body) = s.get(path, t).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
            assert_eq!(body["error"]["code"], "validation_failed");
            assert!(body["error"]["fields"][field].is_string(), "{path}: {body}");
        }
        let (status, body) = s.get("/api/v1/notifications?limit=lots", t).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query"))
        );
        for seq in [-1, 1] {
            let (status, body) = s
                .post("/api/v1/notifications/read", t, json!({"seq": seq}))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{seq}: {body}");
            assert_eq!(body["error"]["code"], "validation_failed");
            assert!(body["error"]["fields"]["seq"].is_string());
        }
        let (status, body) = s
            .post("/api/v1/notifications/read", t, json!({"seq": "1"}))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
        );
        let (status, body) = s.get("/api/v1/notifications", None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("missing_token"))
        );
    });
}

#[tokio::test]
async fn an_announcement_reaches_everyone_once() {
    each_backend!(|s| {
        let admin = s.admin_token("root").await;
        let ann = s.register("ann").await;
        let ben = s.register("ben").await;
        let cid = s.register("cid").await;
        let mut ann_ws = signed_in(&s, &ann.token, None).await;
        let mut ben_ws = signed_in(&s, &ben.token, Some("live://3")).await;
        // cid has a notification already: the announcement takes the next number.
        assert_eq!(follow(&s, &ann.token, cid.id).await, StatusCode::OK);

        let (status, made) = s
            .post(
                "/api/v1/admin/announcements",
                Some(&admin),
                json!({"title": "Maintenance", "body": "Tonight 02:00-03:00 UTC"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let id = made["id"].as_i64().unwrap();
        for ws in [&mut ann_ws, &mut ben_ws] {
            let pushed = expect_op(ws, 25).await;
            assert_eq!(pushed["body"]["kind"], "announcement");
            assert!(pushed["body"]["seq"].is_null());
            assert_eq!(pushed["body"]["payload"]["announcement_id"], id);
            assert_eq!(pushed["body"]["payload"]["title"], "Maintenance");
        }

        // cid was away: the announcement is in the inbox, after what was there, once.
        for _ in 0..2 {
            let (_, inbox) = s.get("/api/v1/notifications", Some(&cid.token)).await;
            assert_eq!(seqs(&inbox["items"]), [1, 2], "{inbox}");
            let a = &inbox["items"][1];
            assert_eq!(a["kind"], "announcement");
            assert_eq!(a["payload"]["body"], "Tonight 02:00-03:00 UTC");
            assert!(a["actor_id"].is_null());
        }
        let (_, unread) = s
            .get("/api/v1/notifications/unread", Some(&ann.token))
            .await;
        assert_eq!(unread["unread"], 1, "{unread}");
        // Over the socket too, for someone who had never read the inbox.
        send(
            &mut ben_ws,
            json!({"op": 26, "seq": 7, "body": {"after_seq": 0}}),
        )
        .await;
        let synced = expect_op(&mut ben_ws, 27).await;
        assert_eq!(
            synced["body"]["notifications"][0]["payload"]["announcement_id"],
            id
        );

        // Accounts made after it do not get it.
        let late = s.register("late").await;
        let (_, inbox) = s.get("/api/v1/notifications", Some(&late.token)).await;
        assert!(inbox["items"].as_array().unwrap().is_empty(), "{inbox}");

        let (status, body) = s
            .post(
                "/api/v1/admin/announcements",
                Some(&ann.token),
                json!({"title": "x", "body": "y"}),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("admin_required"))
        );
        let (status, body) = s
            .post(
                "/api/v1/admin/announcements",
                Some(&admin),
                json!({"title": " ", "body": "y"}),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("validation_failed"))
        );
        assert!(body["error"]["fields"]["title"].is_string());
    });
}

#[tokio::test]
async fn a_live_notice_fans_out_to_a_thousand_followers() {
    each_backend!(|s| {
        let anchor = s.register("anchor").await;
        let watcher = s.register("watcher").await;
        assert_eq!(follow(&s, &watcher.token, anchor.id).await, StatusCode::OK);
        let (status, room) = s
            .post(
                "/api/v1/rooms",
                Some(&anchor.token),
                json!({"title": "Late show"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{room}");
        let room_id = room["id"].as_i64().unwrap();

        // 999 more followers, written straight into the database (registering each
        // through the API would hash 999 passwords).
        let state = s.app_state().await;
        let pool = state.store().pool();
        let now = kit::time::now_ms();
        for chunk in (0..999).collect::<Vec<i64>>().chunks(200) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(${}, ${}, ${}, ${}, 'x', $1, $1)",
                        2 + 4 * i,
                        3 + 4 * i,
                        4 + 4 * i,
                        5 + 4 * i
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO users (username, username_key, nickname, nickname_key, password_hash, \
                 created_at, updated_at) VALUES {}",
                rows.join(", ")
            );
            let mut q = store::sqlx::query(&sql).bind(now);
            for i in chunk {
                let name = format!("follower{i}");
                q = q
                    .bind(name.clone())
                    .bind(name.clone())
                    .bind(name.clone())
                    .bind(name);
            }
            q.execute(pool).await.expect("insert followers");
        }
        store::sqlx::query(
            "INSERT INTO follows (follower_id, followee_id, created_at) \
             SELECT id, $1, $2 FROM users WHERE username LIKE 'follower%'",
        )
        .bind(anchor.id)
        .bind(now)
        .execute(pool)
        .await
        .expect("insert follows");

        let mut ws = signed_in(&s, &watcher.token, None).await;
        let started = Instant::now();
        let notified = app::notifications::notify_followers_live(
            state.identity(),
            anchor.id,
            room_id,
            "Late show",
        )
        .await
        .expect("notify followers");
        let took = started.elapsed();
        eprintln!(
            "notify_followers_live to {notified} followers on {:?}: {took:?}",
            s.backend
        );
        assert_eq!(notified, 1000);
        let pushed = expect_op(&mut ws, 25).await;
        assert_eq!(pushed["body"]["kind"], "live");
        assert_eq!(pushed["body"]["actor_id"], anchor.id);
        assert_eq!(
            pushed["body"]["payload"],
            json!({"room_id": room_id, "title": "Late show"})
        );
        assert_eq!(pushed["body"]["seq"], 1);

        let (live, users): (i64, i64) = store::sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM notifications WHERE kind = 'live'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!((live, users), (1000, 1000));
        // A second fan-out takes the next number in every inbox.
        app::notifications::notify_followers_live(state.identity(), anchor.id, room_id, "Encore")
            .await
            .unwrap();
        let (min, max): (i64, i64) = store::sqlx::query_as(
            "SELECT MIN(last_seq), MAX(last_seq) FROM notification_inboxes \
             WHERE user_id IN (SELECT follower_id FROM follows WHERE followee_id = $1)",
        )
        .bind(anchor.id)
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!((min, max), (2, 2));
        let (_, inbox) = s.get("/api/v1/notifications", Some(&watcher.token)).await;
        assert_eq!(inbox["items"][1]["payload"]["title"], "Encore");
        // Unknown ids are skipped, not an error.
        let n = app::notifications::notify_many(
            state.identity(),
            &[watcher.id, watcher.id, 987_654_321],
            app::notifications::Notification {
                kind: app::notifications::NotificationKind::Gift,
                actor_id: Some(anchor.id),
                payload: json!({"gift_id": 1, "count": 3}),
            },
        )
        .await
        .unwrap();
        assert_eq!(n, 1);
        let single = app::notifications::notify(
            state.identity(),
            987_654_321,
            app::notifications::Notification {
                kind: app::notifications::NotificationKind::Gift,
                actor_id: None,
                payload: json!({}),
            },
        )
        .await
        .unwrap();
        assert!(single.is_none());
        state.store().close().await;
    });
}

#[tokio::test]
async fn going_live_notifies_followers_once_per_session() {
    each_backend!(|s| {
        let anchor = s.register("anchor").await;
        let fan = s.register("fan").await;
        assert_eq!(follow(&s, &fan.token, anchor.id).await, StatusCode::OK);
        let (_, room) = s
            .post(
                "/api/v1/rooms",
                Some(&anchor.token),
                json!({"title": "Morning show"}),
            )
            .await;
        let room_id = room["id"].as_i64().unwrap();
        let mut ws = signed_in(&s, &fan.token, None).await;
        let state = s.app_state().await;
        let started = |resumed| media::hub::MediaEvent::PublishStarted {
            key: room_id.to_string(),
            resumed,
        };

        app::live::streams::apply(state.live(), &started(false))
            .await
            .unwrap();
        let pushed = expect_op(&mut ws, 25).await;
        assert_eq!(pushed["body"]["kind"], "live");
        assert_eq!(
            pushed["body"]["payload"],
            json!({"room_id": room_id, "title": "Morning show"})
        );
        // The publisher drops and comes back within the grace period: same session.
        app::live::streams::apply(state.live(), &started(true))
            .await
            .unwrap();
        assert!(
            sees_op_within(&mut ws, 25, Duration::from_millis(500))
                .await
                .is_none(),
            "a resumed stream notified again"
        );
        let (_, unread) = s
            .get("/api/v1/notifications/unread", Some(&fan.token))
            .await;
        assert_eq!(unread["unread"], 1);
        state.store().close().await;
    });
}

/// A notice request (`notices.deliver`) whose job runs twice, as when a worker dies after
/// storing it, leaves one notice; a request written by a newer momo waits for a node
/// that can read it.
#[tokio::test]
async fn a_notice_request_run_twice_is_stored_once() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let alice = s.register("alice").await;
        let bob = s.register("bob").await;
        let request = api::notices::NoticeRequest::new(
            alice.id,
            api::Notification {
                kind: api::NotificationKind::VideoLike,
                actor_id: Some(bob.id),
                payload: json!({"video_id": 7, "title": "美食"}),
            },
        );
        let job = |payload: Value| jobs::JobContext {
            id: 4_242,
            kind: api::notices::DELIVER.into(),
            payload,
            attempt: 1,
            max_attempts: 10,
            unique_key: None,
            queue: state.jobs().clone(),
        };
        let payload = serde_json::to_value(&request).unwrap();
        for _ in 0..2 {
            app::notifications::deliver::run_job(state.identity(), &job(payload.clone()))
                .await
                .unwrap_or_else(|e| panic!("delivered: {}", e.message()));
        }
        let (_, inbox) = s
            .get("/api/v1/notifications?after_seq=0", Some(&alice.token))
            .await;
        let items = inbox["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{inbox}");
        assert_eq!(items[0]["kind"], "video_like");
        assert_eq!(items[0]["payload"]["title"], "美食");

        let mut newer = payload.clone();
        newer["v"] = json!(api::notices::VERSION + 1);
        let Err(e) = app::notifications::deliver::run_job(state.identity(), &job(newer)).await
        else {
            panic!("a newer request is not stored by this node");
        };
        assert!(e.deferred().is_some(), "{}", e.message());
        state.store().close().await;
    });
}
