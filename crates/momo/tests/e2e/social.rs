//! The social graph end to end: follows, counts, pages, friends and blocks.

use crate::common;

use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn follow(s: &common::TestServer, token: &str, id: i64) -> (StatusCode, Value) {
    s.call(
        Method::POST,
        &format!("/api/v1/users/{id}/follow"),
        Some(token),
        None,
    )
    .await
}

async fn unfollow(s: &common::TestServer, token: &str, id: i64) -> (StatusCode, Value) {
    s.call(
        Method::DELETE,
        &format!("/api/v1/users/{id}/follow"),
        Some(token),
        None,
    )
    .await
}

async fn counts(s: &common::TestServer, id: i64) -> (i64, i64) {
    let (_, u) = s.get(&format!("/api/v1/users/{id}"), None).await;
    (
        u["follower_count"].as_i64().unwrap(),
        u["following_count"].as_i64().unwrap(),
    )
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn follow_and_unfollow_are_idempotent_and_counts_exact() {
    each_backend!(|s| {
        let a = s.register("anchor").await;
        let f = s.register("fan").await;
        for _ in 0..3 {
            let (status, body) = follow(&s, &f.token, a.id).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["is_following"], true);
        }
        assert_eq!(counts(&s, a.id).await, (1, 0));
        assert_eq!(counts(&s, f.id).await, (0, 1));
        let (_, seen) = s
            .get(&format!("/api/v1/users/{}", a.id), Some(&f.token))
            .await;
        assert_eq!(seen["is_following"], true);
        assert_eq!(seen["is_followed_by"], false);
        for _ in 0..2 {
            let (status, body) = unfollow(&s, &f.token, a.id).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body["is_following"], false);
        }
        assert_eq!(counts(&s, a.id).await, (0, 0));
        assert_eq!(counts(&s, f.id).await, (0, 0));
    });
}

#[tokio::test]
async fn concurrent_follows_keep_counts_exact() {
    each_backend!(|s| {
        let a = s.register("popular").await;
        let mut fans = Vec::new();
        for i in 0..12 {
            fans.push(s.register(&format!("fan_{i}")).await);
        }
        // Every fan follows twice at once, and each pair follows each other.
        let mut jobs = Vec::new();
        for f in &fans {
            jobs.push(follow(&s, &f.token, a.id));
            jobs.push(follow(&s, &f.token, a.id));
        }
        for r in futures::future::join_all(jobs).await {
            assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        }
        assert_eq!(counts(&s, a.id).await, (12, 0));
        let pair = futures::future::join_all(vec![
            follow(&s, &fans[0].token, fans[1].id),
            follow(&s, &fans[1].token, fans[0].id),
        ])
        .await;
        assert!(pair.iter().all(|r| r.0 == StatusCode::OK));
        assert_eq!(counts(&s, fans[0].id).await, (1, 2));
        assert_eq!(counts(&s, fans[1].id).await, (1, 2));
    });
}

#[tokio::test]
async fn bad_follows_are_refused() {
    each_backend!(|s| {
        let a = s.register("solo").await;
        let (status, body) = follow(&s, &a.token, a.id).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "cannot_follow_self");
        let (status, body) = follow(&s, &a.token, 424242).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "user_not_found");
        let (status, _) = s
            .call(
                Method::POST,
                &format!("/api/v1/users/{}/follow", a.id),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(counts(&s, a.id).await, (0, 0));
    });
}

#[tokio::test]
async fn follower_pages_are_newest_first_and_stable() {
    each_backend!(|s| {
        let star = s.register("idol").await;
        let viewer = s.register("viewer").await;
        let mut fans = Vec::new();
        for i in 0..25 {
            let f = s.register(&format!("f{i:02}")).await;
            follow(&s, &f.token, star.id).await;
            fans.push(f);
        }
        follow(&s, &viewer.token, fans[3].id).await;

        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/users/{}/followers?limit=10&cursor={c}", star.id),
                None => format!("/api/v1/users/{}/followers?limit=10", star.id),
            };
            let (status, page) = s.get(&path, Some(&viewer.token)).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            for u in page["items"].as_array().unwrap() {
                // The viewer's relation is shown on every item.
                let expect = u["id"].as_i64() == Some(fans[3].id);
                assert_eq!(u["is_following"], expect, "{u}");
            }
            seen.extend(ids(&page));
            // A new follower arriving mid-scroll does not shift later pages.
            if cursor.is_none() {
                let late = s.register("latecomer").await;
                follow(&s, &late.token, star.id).await;
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let expected: Vec<i64> = fans.iter().rev().map(|f| f.id).collect();
        assert_eq!(seen, expected);

        let (_, following) = s
            .get(&format!("/api/v1/users/{}/following", fans[0].id), None)
            .await;
        assert_eq!(ids(&following), vec![star.id]);
        let (status, body) = s
            .get(
                &format!("/api/v1/users/{}/followers?cursor=bogus", star.id),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "invalid_cursor");
    });
}

#[tokio::test]
async fn friends_are_mutual_follows() {
    each_backend!(|s| {
        let a = s.register("amy").await;
        let b = s.register("ben").await;
        let c = s.register("cat").await;
        follow(&s, &a.token, b.id).await;
        follow(&s, &b.token, a.id).await;
        follow(&s, &a.token, c.id).await; // one-way
        let (status, page) = s
            .get(&format!("/api/v1/users/{}/friends", a.id), Some(&a.token))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ids(&page), vec![b.id]);
        let (_, page) = s
            .get(&format!("/api/v1/users/{}/friends", c.id), None)
            .await;
        assert!(ids(&page).is_empty());
    });
}

#[tokio::test]
async fn blocking_removes_follows_both_ways_and_stops_new_ones() {
    each_backend!(|s| {
        let a = s.register("blocker").await;
        let b = s.register("pest").await;
        follow(&s, &a.token, b.id).await;
        follow(&s, &b.token, a.id).await;
        assert_eq!(counts(&s, a.id).await, (1, 1));

        let (status, body) = s
            .call(
                Method::POST,
                &format!("/api/v1/users/{}/block", b.id),
                Some(&a.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["is_blocking"], true);
        assert_eq!(counts(&s, a.id).await, (0, 0));
        assert_eq!(counts(&s, b.id).await, (0, 0));

        let (status, body) = follow(&s, &b.token, a.id).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "blocked_by_user");
        let (status, body) = follow(&s, &a.token, b.id).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "user_blocked");
        assert_eq!(counts(&s, a.id).await, (0, 0));

        let (_, blocks) = s.get("/api/v1/users/me/blocks", Some(&a.token)).await;
        assert_eq!(ids(&blocks), vec![b.id]);
        let (status, body) = s
            .call(
                Method::POST,
                &format!("/api/v1/users/{}/block", a.id),
                Some(&a.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "cannot_block_self");

        let (status, _) = s
            .call(
                Method::DELETE,
                &format!("/api/v1/users/{}/block", b.id),
                Some(&a.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = follow(&s, &b.token, a.id).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(counts(&s, a.id).await, (1, 0));
        let (_, blocks) = s.get("/api/v1/users/me/blocks", Some(&a.token)).await;
        assert!(ids(&blocks).is_empty());
    });
}

#[tokio::test]
async fn profile_reads_never_show_a_stale_relation_or_count_after_a_write() {
    each_backend!(|s| {
        let a = s.register("watched").await;
        let v = s.register("watcher").await;
        let path = format!("/api/v1/users/{}", a.id);
        for round in 0..3 {
            // Read (and so cache), change, read again: the change shows at once.
            let (_, before) = s.get(&path, Some(&v.token)).await;
            assert_eq!(before["is_following"], false, "round {round}");
            follow(&s, &v.token, a.id).await;
            let (_, after) = s.get(&path, Some(&v.token)).await;
            assert_eq!(after["is_following"], true, "round {round}");
            assert_eq!(after["follower_count"], 1, "round {round}");
            let (_, me) = s
                .get(&format!("/api/v1/users/{}", v.id), Some(&a.token))
                .await;
            assert_eq!(me["is_followed_by"], true);
            assert_eq!(me["following_count"], 1);
            unfollow(&s, &v.token, a.id).await;
            let (_, gone) = s.get(&path, Some(&v.token)).await;
            assert_eq!(gone["is_following"], false, "round {round}");
            assert_eq!(gone["follower_count"], 0, "round {round}");
        }
    });
}
