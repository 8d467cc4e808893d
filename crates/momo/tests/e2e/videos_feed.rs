//! Reading videos end to end: one video and who may see it, the recommended and
//! following feeds, a user's videos, hashtag pages, search, editing and deleting.

use crate::common;

use std::collections::HashSet;

use common::seed::{self, Seed};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect()
}

async fn post(s: &common::TestServer, path: &str, token: &str) -> (StatusCode, Value) {
    s.call(Method::POST, path, Some(token), None).await
}

#[tokio::test]
async fn a_video_is_shown_only_to_those_who_may_see_it() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let author = s.register("author").await;
        let fan = s.register("fan").await;
        let other = s.register("other").await;
        let admin = s.admin_token("root").await;
        let public = seed::video(&state, author.id, Seed::titled("hello")).await;
        let private = seed::video(
            &state,
            author.id,
            Seed {
                visibility: "private",
                ..Seed::default()
            },
        )
        .await;
        let fans_only = seed::video(
            &state,
            author.id,
            Seed {
                visibility: "followers",
                ..Seed::default()
            },
        )
        .await;
        let processing = seed::video(
            &state,
            author.id,
            Seed {
                status: "processing",
                ..Seed::default()
            },
        )
        .await;
        post(
            &s,
            &format!("/api/v1/users/{}/follow", author.id),
            &fan.token,
        )
        .await;

        let (status, v) = s.get(&format!("/api/v1/videos/{public}"), None).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["title"], "hello");
        assert_eq!(v["author"]["username"], "author");
        assert_eq!(v["liked"], false);
        assert!(v["play_url"].as_str().unwrap().starts_with("/files/"));
        for id in [private, fans_only, processing] {
            let (status, e) = s
                .get(&format!("/api/v1/videos/{id}"), Some(&other.token))
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {e}");
            assert_eq!(e["error"]["code"], "video_not_found");
            let (status, _) = s
                .get(&format!("/api/v1/videos/{id}"), Some(&author.token))
                .await;
            assert_eq!(status, StatusCode::OK, "the author sees {id}");
            let (status, _) = s.get(&format!("/api/v1/videos/{id}"), Some(&admin)).await;
            assert_eq!(status, StatusCode::OK, "an admin sees {id}");
        }
        let (status, _) = s
            .get(&format!("/api/v1/videos/{fans_only}"), Some(&fan.token))
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a follower sees a followers-only video"
        );

        // Hidden by an admin: gone for everyone else, still there for its author.
        let (status, _) = post(&s, &format!("/api/v1/admin/videos/{public}/hide"), &admin).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = s.get(&format!("/api/v1/videos/{public}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, v) = s
            .get(&format!("/api/v1/videos/{public}"), Some(&author.token))
            .await;
        assert_eq!(v["hidden"], true);
        let (_, v) = s
            .get(&format!("/api/v1/videos/{public}"), Some(&fan.token))
            .await;
        assert_eq!(v["error"]["code"], "video_not_found");
        let (_, listed) = s
            .get("/api/v1/admin/videos?hidden=true", Some(&admin))
            .await;
        assert_eq!(ids(&listed), vec![public]);
        let (status, _) = s.get("/api/v1/admin/videos", Some(&fan.token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        post(&s, &format!("/api/v1/admin/videos/{public}/unhide"), &admin).await;
        let (status, _) = s.get(&format!("/api/v1/videos/{public}"), None).await;
        assert_eq!(status, StatusCode::OK);

        let (status, e) = s.get("/api/v1/videos/abc", None).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_id"))
        );
        let (status, _) = s.get("/api/v1/videos/999999", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        state.store().close().await;
    });
}

/// Starts a server whose feed reads a fresh snapshot of `size` videos on every page
/// (`size` below the number of videos makes pages read on from the index).
async fn feed_server(backend: common::Backend, size: i64) -> common::TestServer {
    common::TestServer::start_with(backend, |c| {
        c.app.videos.feed_snapshot_size = size;
        c.app.videos.feed_snapshot_ms = 0;
    })
    .await
}

#[tokio::test]
async fn the_feed_never_repeats_a_video_in_one_scroll_even_when_scores_change() {
    for backend in common::backends() {
        // The snapshot holds every video; holds 3 (the rest is read from the index);
        // holds none.
        for size in [5_000, 3, 0] {
            let s = feed_server(backend.clone(), size).await;
            never_repeats(&s).await;
            s.stop().await;
        }
    }
}

async fn never_repeats(s: &common::TestServer) {
    {
        let state = s.app_state().await;
        let author = s.register("author").await;
        let viewer = s.register("viewer").await;
        let mut fans = Vec::new();
        for i in 0..4 {
            fans.push(s.register(&format!("fan{i}")).await);
        }
        // Ten minutes apart: four likes (log10 5 = 0.7) outweigh the 4 hours between
        // the newest and the oldest (0.3).
        let step = 600_000;
        let now = kit::time::now_ms();
        let mut all = Vec::new();
        for i in 0..24 {
            let seed = Seed {
                created_at: Some(now - i * step),
                ..Seed::titled(&format!("v{i}"))
            };
            all.push(seed::video(&state, author.id, seed).await);
        }
        // The oldest video is made popular, then loses it after the first page.
        let popular = *all.last().unwrap();
        for f in &fans {
            post(s, &format!("/api/v1/videos/{popular}/like"), &f.token).await;
        }
        let (status, first) = s.get("/api/v1/feed?limit=5", Some(&viewer.token)).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert!(ids(&first).contains(&popular), "{first}");
        for f in &fans {
            s.call(
                Method::DELETE,
                &format!("/api/v1/videos/{popular}/like"),
                Some(&f.token),
                None,
            )
            .await;
        }
        // And an unseen one leaps up.
        let leaper = all[20];
        for f in &fans {
            post(s, &format!("/api/v1/videos/{leaper}/like"), &f.token).await;
        }
        let mut seen: Vec<i64> = ids(&first);
        let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
        while let Some(c) = cursor {
            let (status, page) = s
                .get(
                    &format!("/api/v1/feed?limit=5&cursor={c}"),
                    Some(&viewer.token),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            seen.extend(ids(&page));
            cursor = page["next_cursor"].as_str().map(str::to_owned);
        }
        let distinct: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(distinct.len(), seen.len(), "a video came twice: {seen:?}");
        assert!(seen.len() >= 22, "most of the feed was scrolled: {seen:?}");

        // A new session starts over, by score: the liked one, then the newest.
        let (_, fresh) = s.get("/api/v1/feed?limit=3", None).await;
        assert_eq!(ids(&fresh), vec![leaper, all[0], all[1]]);

        let (status, e) = s.get("/api/v1/feed?cursor=garbage", None).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_cursor"))
        );
        let (status, e) = s.get("/api/v1/feed?limit=0", None).await;
        assert_eq!(e["error"]["code"], "invalid_limit", "{status}");
        let (_, e) = s.get("/api/v1/feed?kind=trending", None).await;
        assert_eq!(e["error"]["code"], "invalid_kind");
        state.store().close().await;
    }
}

#[tokio::test]
async fn the_feed_lists_only_public_ready_videos_of_authors_not_blocked() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let viewer = s.register("viewer").await;
        let blocked = s.register("blocked").await;
        let blocker = s.register("blocker").await;
        let fine = s.register("fine").await;
        let admin = s.admin_token("root").await;
        let a = seed::video(&state, blocked.id, Seed::default()).await;
        let b = seed::video(&state, blocker.id, Seed::default()).await;
        let ok = seed::video(&state, fine.id, Seed::default()).await;
        let hidden = seed::video(&state, fine.id, Seed::default()).await;
        post(&s, &format!("/api/v1/admin/videos/{hidden}/hide"), &admin).await;
        for (visibility, status) in [
            ("private", "ready"),
            ("followers", "ready"),
            ("public", "failed"),
        ] {
            seed::video(
                &state,
                fine.id,
                Seed {
                    visibility,
                    status,
                    ..Seed::default()
                },
            )
            .await;
        }
        let deleted = seed::video(&state, fine.id, Seed::default()).await;
        let (status, _) = s
            .call(
                Method::DELETE,
                &format!("/api/v1/videos/{deleted}"),
                Some(&fine.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        // Read once before blocking: what the node remembers of the viewer must follow.
        let (_, before) = s.get("/api/v1/feed", Some(&viewer.token)).await;
        assert_eq!(ids(&before).len(), 3);
        post(
            &s,
            &format!("/api/v1/users/{}/block", blocked.id),
            &viewer.token,
        )
        .await;
        post(
            &s,
            &format!("/api/v1/users/{}/block", viewer.id),
            &blocker.token,
        )
        .await;

        let (_, page) = s.get("/api/v1/feed", Some(&viewer.token)).await;
        assert_eq!(ids(&page), vec![ok]);
        assert!(page["next_cursor"].is_null());
        let (_, anon) = s.get("/api/v1/feed", None).await;
        let mut got = ids(&anon);
        got.sort();
        assert_eq!(got, vec![a, b, ok]);
        state.store().close().await;
    });
}

#[tokio::test]
async fn following_feed_user_pages_hashtags_and_search() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let author = s.register("author").await;
        let fan = s.register("fan").await;
        let stranger = s.register("stranger").await;
        let dance = seed::video(
            &state,
            author.id,
            Seed {
                title: "Street dance battle".into(),
                description: "best moves #dance".into(),
                hashtags: vec!["dance".into(), "street_food".into()],
                ..Seed::default()
            },
        )
        .await;
        let cats = seed::video(
            &state,
            author.id,
            Seed {
                title: "Cats".into(),
                visibility: "followers",
                hashtags: vec!["cats".into()],
                ..Seed::default()
            },
        )
        .await;
        let draft = seed::video(
            &state,
            author.id,
            Seed {
                status: "processing",
                ..Seed::default()
            },
        )
        .await;
        seed::video(&state, stranger.id, Seed::titled("dance elsewhere")).await;
        post(
            &s,
            &format!("/api/v1/users/{}/follow", author.id),
            &fan.token,
        )
        .await;

        let (status, page) = s.get("/api/v1/feed?kind=following", Some(&fan.token)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(
            ids(&page),
            vec![cats, dance],
            "followers-only included, newest first"
        );
        let (status, e) = s.get("/api/v1/feed?kind=following", None).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("missing_token"))
        );

        let path = format!("/api/v1/users/{}/videos", author.id);
        let (_, own) = s.get(&path, Some(&author.token)).await;
        assert_eq!(ids(&own), vec![draft, cats, dance]);
        let (_, as_fan) = s.get(&path, Some(&fan.token)).await;
        assert_eq!(ids(&as_fan), vec![cats, dance]);
        let (_, as_anon) = s.get(&format!("{path}?limit=1"), None).await;
        assert_eq!(ids(&as_anon), vec![dance]);
        assert!(as_anon["next_cursor"].is_null());
        let (status, _) = s.get("/api/v1/users/999999/videos", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (_, tag) = s.get("/api/v1/hashtags/Dance/videos", None).await;
        assert_eq!(ids(&tag), vec![dance]);
        let (_, tag) = s.get("/api/v1/hashtags/%23cats/videos", None).await;
        assert!(
            ids(&tag).is_empty(),
            "followers-only videos are not on hashtag pages"
        );
        let (status, e) = s.get("/api/v1/hashtags/a..b/videos", None).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_hashtag"))
        );

        let (status, found) = s.get("/api/v1/videos/search?q=street%20DANC", None).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(ids(&found), vec![dance]);
        let (_, found) = s.get("/api/v1/videos/search?q=food", None).await;
        assert_eq!(ids(&found), vec![dance], "hashtags are searched");
        let (_, found) = s.get("/api/v1/videos/search?q=moves", None).await;
        assert_eq!(ids(&found), vec![dance], "descriptions are searched");
        let (_, found) = s.get("/api/v1/videos/search?q=dance&limit=1", None).await;
        assert_eq!(found["items"].as_array().unwrap().len(), 1);
        let next = found["next_cursor"].as_str().expect("a second page");
        let (_, more) = s
            .get(
                &format!("/api/v1/videos/search?q=dance&limit=1&cursor={next}"),
                None,
            )
            .await;
        assert_eq!(more["items"].as_array().unwrap().len(), 1);
        for nasty in [
            "%22",
            "%22%20OR%20*",
            "NEAR(a%20b)",
            "title%3Ax*",
            "%27%3B--",
            "%26%7C!",
            "*",
            "(",
        ] {
            let (status, body) = s
                .get(&format!("/api/v1/videos/search?q={nasty}"), None)
                .await;
            assert_eq!(status, StatusCode::OK, "q={nasty}: {body}");
        }
        let (status, e) = s.get("/api/v1/videos/search", None).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query"))
        );
        state.store().close().await;
    });
}

#[tokio::test]
async fn the_author_edits_and_deletes_a_video() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let author = s.register("author").await;
        let other = s.register("other").await;
        let id = seed::video(
            &state,
            author.id,
            Seed {
                hashtags: vec!["old".into()],
                ..Seed::default()
            },
        )
        .await;
        let path = format!("/api/v1/videos/{id}");
        let (status, v) = s
            .call(
                Method::PATCH,
                &path,
                Some(&author.token),
                Some(json!({"title": "New title", "description": "see #Travel", "hashtags": ["#Sea", "sea"]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["title"], "New title");
        assert_eq!(v["hashtags"], json!(["sea", "travel"]));
        let (_, old) = s.get("/api/v1/hashtags/old/videos", None).await;
        assert!(ids(&old).is_empty(), "video_hashtags follows the edit");
        let (_, travel) = s.get("/api/v1/hashtags/travel/videos", None).await;
        assert_eq!(ids(&travel), vec![id]);
        let (_, found) = s.get("/api/v1/videos/search?q=new%20title", None).await;
        assert_eq!(ids(&found), vec![id], "search follows the edit");

        let (status, v) = s
            .call(
                Method::PATCH,
                &path,
                Some(&author.token),
                Some(json!({"visibility": "private"})),
            )
            .await;
        assert_eq!(
            (status, v["visibility"].as_str()),
            (StatusCode::OK, Some("private"))
        );
        let (status, _) = s.get(&path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        s.call(
            Method::PATCH,
            &path,
            Some(&author.token),
            Some(json!({"visibility": "public"})),
        )
        .await;

        let (status, e) = s
            .call(
                Method::PATCH,
                &path,
                Some(&other.token),
                Some(json!({"title": "mine"})),
            )
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_video_author"))
        );
        let (status, e) = s
            .call(
                Method::PATCH,
                &path,
                Some(&author.token),
                Some(json!({"title": "x".repeat(101)})),
            )
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("validation_failed"))
        );
        assert!(e["error"]["fields"]["title"].is_string());
        let (status, e) = s
            .call(
                Method::PATCH,
                &path,
                Some(&author.token),
                Some(json!({"visibility": "friends"})),
            )
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
        );

        let (status, e) = s
            .call(Method::DELETE, &path, Some(&other.token), None)
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_video_author"))
        );
        let (status, _) = s
            .call(Method::DELETE, &path, Some(&author.token), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = s.get(&path, Some(&author.token)).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "deleted is gone for its author too"
        );
        let (status, _) = s
            .call(Method::DELETE, &path, Some(&author.token), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let jobs: Vec<(String, String)> =
            store::sqlx::query_as("SELECT kind, payload FROM jobs WHERE kind = 'videos.purge'")
                .fetch_all(state.store().pool())
                .await
                .unwrap();
        assert_eq!(jobs.len(), 1, "one purge job: {jobs:?}");
        let payload: Value = serde_json::from_str(&jobs[0].1).unwrap();
        assert_eq!(payload, json!({"video_id": id}));
        state.store().close().await;
    });
}

#[tokio::test]
async fn the_feed_mixes_in_recent_videos_of_followed_authors() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let viewer = s.register("viewer").await;
        let star = s.register("star").await;
        let friend = s.register("friend").await;
        let now = kit::time::now_ms();
        let mut hot = Vec::new();
        for i in 0..8 {
            hot.push(
                seed::video(
                    &state,
                    star.id,
                    Seed {
                        created_at: Some(now - i * 1000),
                        ..Seed::titled("hot")
                    },
                )
                .await,
            );
        }
        // Two days old: far down the hot walk, but followed.
        let old = seed::video(
            &state,
            friend.id,
            Seed {
                created_at: Some(now - 48 * 3_600_000),
                ..Seed::titled("old")
            },
        )
        .await;
        post(
            &s,
            &format!("/api/v1/users/{}/follow", friend.id),
            &viewer.token,
        )
        .await;

        let (_, page) = s.get("/api/v1/feed?limit=4", Some(&viewer.token)).await;
        assert_eq!(
            ids(&page),
            vec![hot[0], old, hot[1], hot[2]],
            "a followed author's video in the second slot"
        );
        let mut seen = ids(&page);
        let mut cursor = page["next_cursor"].as_str().map(str::to_owned);
        while let Some(c) = cursor {
            let (_, page) = s
                .get(
                    &format!("/api/v1/feed?limit=4&cursor={c}"),
                    Some(&viewer.token),
                )
                .await;
            seen.extend(ids(&page));
            cursor = page["next_cursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen.len(), 9, "every video once: {seen:?}");
        let (_, anon) = s.get("/api/v1/feed?limit=4", None).await;
        assert_eq!(
            ids(&anon),
            hot[..4].to_vec(),
            "anonymous: the hot walk alone"
        );
        state.store().close().await;
    });
}
