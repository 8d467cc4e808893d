//! Engaging with videos end to end: likes and favourites (idempotent, exact under a
//! storm), comments and replies with their counts, comment likes, deleting comments,
//! views and shares, and the notices the author gets.

use crate::common;

use common::seed::{self, Seed};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn call(s: &common::TestServer, m: Method, path: &str, token: &str) -> (StatusCode, Value) {
    s.call(m, path, Some(token), None).await
}

async fn video(s: &common::TestServer, id: i64, token: Option<&str>) -> Value {
    let (status, v) = s.get(&format!("/api/v1/videos/{id}"), token).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

/// The caller's inbox, once every notice asked for so far has been delivered.
async fn notices(s: &common::TestServer, state: &app::AppState, token: &str) -> Vec<Value> {
    common::notices_delivered(state).await;
    let (status, page) = s
        .get("/api/v1/notifications?after_seq=0", Some(token))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

fn kinds(n: &[Value]) -> Vec<String> {
    n.iter()
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn likes_and_favourites_are_idempotent_and_counted_once() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let author = s.register("author").await;
        let fan = s.register("fan").await;
        let id = seed::video(&state, author.id, Seed::default()).await;
        let like = format!("/api/v1/videos/{id}/like");
        let fav = format!("/api/v1/videos/{id}/favorite");
        let before = video(&s, id, None).await["like_count"].as_i64().unwrap();
        assert_eq!(before, 0);
        for _ in 0..3 {
            let (status, m) = call(&s, Method::POST, &like, &fan.token).await;
            assert_eq!(status, StatusCode::OK, "{m}");
            assert_eq!(
                (m["active"].as_bool(), m["like_count"].as_i64()),
                (Some(true), Some(1))
            );
        }
        let (_, m) = call(&s, Method::POST, &fav, &fan.token).await;
        assert_eq!(m["favorite_count"], 1);
        call(&s, Method::POST, &fav, &fan.token).await;
        let v = video(&s, id, Some(&fan.token)).await;
        assert_eq!(
            (v["like_count"].as_i64(), v["favorite_count"].as_i64()),
            (Some(1), Some(1))
        );
        assert_eq!(
            (v["liked"].as_bool(), v["favorited"].as_bool()),
            (Some(true), Some(true))
        );

        let (status, favs) = s.get("/api/v1/users/me/favorites", Some(&fan.token)).await;
        assert_eq!(status, StatusCode::OK, "{favs}");
        assert_eq!(favs["items"][0]["id"], id);

        // The author hears of the like once, however often it is taken back and given.
        for _ in 0..2 {
            call(&s, Method::DELETE, &like, &fan.token).await;
            call(&s, Method::POST, &like, &fan.token).await;
        }
        call(&s, Method::POST, &like, &author.token).await;
        let n = notices(&s, &state, &author.token).await;
        assert_eq!(kinds(&n), ["video_like"], "{n:?}");
        assert_eq!(n[0]["actor_id"], fan.id);
        assert_eq!(n[0]["payload"]["video_id"], id);

        for _ in 0..2 {
            let (_, m) = call(&s, Method::DELETE, &like, &fan.token).await;
            assert_eq!(
                (m["active"].as_bool(), m["like_count"].as_i64()),
                (Some(false), Some(1))
            );
        }
        call(&s, Method::DELETE, &fav, &fan.token).await;
        let (_, favs) = s.get("/api/v1/users/me/favorites", Some(&fan.token)).await;
        assert!(favs["items"].as_array().unwrap().is_empty());
        let v = video(&s, id, None).await;
        assert_eq!(
            (v["like_count"].as_i64(), v["favorite_count"].as_i64()),
            (Some(1), Some(0))
        );

        let (status, e) = call(&s, Method::POST, "/api/v1/videos/99999/like", &fan.token).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("video_not_found"))
        );
        let (status, _) = s.call(Method::POST, &like, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        state.store().close().await;
    });
}

#[tokio::test]
async fn a_like_storm_leaves_the_count_exact() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let author = s.register("author").await;
        let id = seed::video(&state, author.id, Seed::default()).await;
        let mut fans = Vec::new();
        for i in 0..50 {
            fans.push(s.register(&format!("fan{i:02}")).await);
        }
        let like = format!("/api/v1/videos/{id}/like");
        let storm = |m: Method, who: &[common::User]| {
            let tasks: Vec<_> = who
                .iter()
                .flat_map(|f| [f.token.clone(), f.token.clone()])
                .map(|t| {
                    let c = s.client.clone();
                    let url = s.url(&like);
                    let m = m.clone();
                    tokio::spawn(async move { c.request(m, url).bearer_auth(t).send().await })
                })
                .collect();
            async move {
                for t in tasks {
                    let res = t.await.unwrap().expect("request sent");
                    assert_eq!(res.status(), StatusCode::OK);
                }
            }
        };
        // Every fan likes twice at once: 100 requests, 50 likes.
        storm(Method::POST, &fans).await;
        let v = video(&s, id, None).await;
        assert_eq!(v["like_count"], 50);
        let rows: i64 =
            store::sqlx::query_scalar("SELECT COUNT(*) FROM video_likes WHERE video_id = $1")
                .bind(id)
                .fetch_one(state.store().pool())
                .await
                .unwrap();
        assert_eq!(rows, 50);
        // Half take it back, twice each, at once.
        storm(Method::DELETE, &fans[..25]).await;
        assert_eq!(video(&s, id, None).await["like_count"], 25);
        let score: f64 = store::sqlx::query_scalar("SELECT hot_score FROM videos WHERE id = $1")
            .bind(id)
            .fetch_one(state.store().pool())
            .await
            .unwrap();
        let created = v["created_at"].as_i64().unwrap();
        let expected = app::videos::model::hot_score(25, 0, 0, 0, 0, created);
        assert!(
            (score - expected).abs() < 1e-9,
            "score {score} != {expected}"
        );
        state.store().close().await;
    });
}

#[tokio::test]
async fn comments_replies_and_their_counts() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let author = s.register("author").await;
        let alice = s.register("alice").await;
        let bob = s.register("bob").await;
        let admin = s.admin_token("root").await;
        let id = seed::video(&state, author.id, Seed::default()).await;
        let path = format!("/api/v1/videos/{id}/comments");
        let mut top = Vec::new();
        for (who, text) in [(&alice, "first!"), (&bob, "second"), (&alice, "third")] {
            let (status, c) = s.post(&path, Some(&who.token), json!({"body": text})).await;
            assert_eq!(status, StatusCode::CREATED, "{c}");
            assert_eq!(c["body"], text);
            assert!(c["parent_id"].is_null());
            top.push(c["id"].as_i64().unwrap());
        }
        // Bob answers Alice's first comment, Alice answers Bob's reply.
        let (status, r1) = s
            .post(
                &format!("/api/v1/comments/{}/replies", top[0]),
                Some(&bob.token),
                json!({"body": "hi alice"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{r1}");
        assert_eq!(
            (r1["parent_id"].as_i64(), r1["reply_to_user_id"].as_i64()),
            (Some(top[0]), Some(alice.id))
        );
        let r1 = r1["id"].as_i64().unwrap();
        let (_, r2) = s
            .post(
                &format!("/api/v1/comments/{r1}/replies"),
                Some(&alice.token),
                json!({"body": "hi bob"}),
            )
            .await;
        assert_eq!(
            (r2["parent_id"].as_i64(), r2["reply_to_user_id"].as_i64()),
            (Some(top[0]), Some(bob.id))
        );
        let r2 = r2["id"].as_i64().unwrap();

        assert_eq!(video(&s, id, None).await["comment_count"], 5);
        let (_, newest) = s.get(&path, None).await;
        let got: Vec<i64> = newest["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        assert_eq!(got, vec![top[2], top[1], top[0]]);
        assert_eq!(newest["items"][2]["reply_count"], 2);
        let (_, oldest) = s.get(&format!("{path}?order=oldest&limit=2"), None).await;
        assert_eq!(oldest["items"][0]["id"], top[0]);
        let next = oldest["next_cursor"].as_str().unwrap();
        let (_, rest) = s
            .get(&format!("{path}?order=oldest&limit=2&cursor={next}"), None)
            .await;
        assert_eq!(rest["items"][0]["id"], top[2]);
        let (_, replies) = s
            .get(&format!("/api/v1/comments/{}/replies", top[0]), None)
            .await;
        let got: Vec<i64> = replies["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        assert_eq!(got, vec![r1, r2]);

        // Comment likes.
        let like = format!("/api/v1/comments/{}/like", top[1]);
        for _ in 0..2 {
            let (status, l) = call(&s, Method::POST, &like, &alice.token).await;
            assert_eq!(
                (status, l["like_count"].as_i64()),
                (StatusCode::OK, Some(1)),
                "{l}"
            );
        }
        let (_, l) = call(&s, Method::DELETE, &like, &alice.token).await;
        assert_eq!(l["like_count"], 0);

        // Deleting: the author of the comment, of the video, or an admin; nobody else.
        let (status, e) = call(
            &s,
            Method::DELETE,
            &format!("/api/v1/comments/{}", top[1]),
            &alice.token,
        )
        .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_comment_author"))
        );
        let (status, _) = call(
            &s,
            Method::DELETE,
            &format!("/api/v1/comments/{}", top[1]),
            &author.token,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = call(
            &s,
            Method::DELETE,
            &format!("/api/v1/comments/{}", top[1]),
            &author.token,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "deleting twice is no error and counts once"
        );
        let (status, _) = call(
            &s,
            Method::DELETE,
            &format!("/api/v1/comments/{r2}"),
            &alice.token,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = call(
            &s,
            Method::DELETE,
            &format!("/api/v1/comments/{}", top[0]),
            &admin,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(video(&s, id, None).await["comment_count"], 2);
        let (_, listed) = s.get(&path, None).await;
        let items = listed["items"].as_array().unwrap();
        // The deleted first comment stays (a reply hangs off it), emptied.
        assert_eq!(items.len(), 2, "{listed}");
        assert_eq!(
            (items[1]["id"].as_i64(), items[1]["deleted"].as_bool()),
            (Some(top[0]), Some(true))
        );
        assert_eq!(
            (items[1]["body"].as_str(), items[1]["reply_count"].as_i64()),
            (Some(""), Some(1))
        );
        let (status, _) = s
            .post(
                &format!("/api/v1/comments/{}/replies", top[1]),
                Some(&bob.token),
                json!({"body": "late"}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "no replies to a deleted comment"
        );

        // The notices: the author of the video for each comment by someone else, the
        // one answered for each reply.
        assert_eq!(
            kinds(&notices(&s, &state, &author.token).await),
            ["video_comment"; 3]
        );
        assert_eq!(
            kinds(&notices(&s, &state, &alice.token).await),
            ["comment_reply"]
        );
        assert_eq!(
            kinds(&notices(&s, &state, &bob.token).await),
            ["comment_reply"]
        );
        state.store().close().await;
    });
}

#[tokio::test]
async fn bad_comments_are_refused_precisely() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let author = s.register("author").await;
        let troll = s.register("troll").await;
        let id = seed::video(&state, author.id, Seed::default()).await;
        let path = format!("/api/v1/videos/{id}/comments");
        let huge = "x".repeat(100 * 1024);
        let (status, e) = s
            .post(&path, Some(&troll.token), json!({"body": huge}))
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
        );
        let (status, e) = s
            .post(&path, Some(&troll.token), json!({"body": "y".repeat(501)}))
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("comment_too_long"))
        );
        let (status, _) = s
            .post(&path, Some(&troll.token), json!({"body": "好".repeat(500)}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "500 characters, not bytes");
        let (status, e) = s
            .post(&path, Some(&troll.token), json!({"body": "   "}))
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("validation_failed"))
        );
        let (status, e) = s
            .post(&path, Some(&troll.token), json!({"text": "hi"}))
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
        );
        let (status, e) = s.get(&format!("{path}?order=random"), None).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_order"))
        );

        // Blocked either way: no comments.
        call(
            &s,
            Method::POST,
            &format!("/api/v1/users/{}/block", troll.id),
            &author.token,
        )
        .await;
        let (status, e) = s
            .post(&path, Some(&troll.token), json!({"body": "let me in"}))
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("blocked"))
        );
        let own = seed::video(&state, troll.id, Seed::default()).await;
        let (status, _) = s
            .post(
                &format!("/api/v1/videos/{own}/comments"),
                Some(&author.token),
                json!({"body": "hm"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(video(&s, id, None).await["comment_count"], 1);
        state.store().close().await;
    });
}

#[tokio::test]
async fn views_are_counted_in_batches_and_shares_at_once() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let author = s.register("author").await;
        let mut fans = Vec::new();
        for i in 0..5 {
            fans.push(s.register(&format!("fan{i}")).await);
        }
        let fan = fans[0].clone();
        let id = seed::video(&state, author.id, Seed::default()).await;
        // Each fan plays it three times and a guest (one address) five: a view counts
        // once per viewer in the window, so six.
        let mut plays: Vec<Option<String>> = Vec::new();
        for _ in 0..3 {
            plays.extend(fans.iter().map(|f| Some(f.token.clone())));
        }
        plays.extend(std::iter::repeat_n(None, 5));
        for token in &plays {
            let (status, _) = s
                .call(
                    Method::POST,
                    &format!("/api/v1/videos/{id}/views"),
                    token.as_deref(),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED);
        }
        let mut views = 0;
        for _ in 0..50 {
            views = video(&s, id, None).await["view_count"].as_i64().unwrap();
            if views == 6 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        views = views.max(video(&s, id, None).await["view_count"].as_i64().unwrap());
        assert_eq!(views, 6, "replays within the window counted");
        let (status, c) = call(
            &s,
            Method::POST,
            &format!("/api/v1/videos/{id}/shares"),
            &fan.token,
        )
        .await;
        assert_eq!(
            (status, c["share_count"].as_i64()),
            (StatusCode::OK, Some(1)),
            "{c}"
        );
        assert_eq!(c["view_count"], 6);
        let (status, _) = s
            .call(Method::POST, "/api/v1/videos/424242/views", None, None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        state.store().close().await;
    });
}
