//! Search that reads Chinese, Japanese and Korean on both engines: videos by a word
//! inside their titles (two-character words such as 美食 and 北京 too), rooms by title
//! and by their anchor's name, people by a part of their nickname; Latin prefixes as
//! before; terms of old rows made again at start.

use crate::common;

use common::seed::{self, Seed};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn found(s: &common::TestServer, path: &str, q: &str, field: &str) -> Vec<String> {
    let url = format!("{path}?q={}&limit=100", urlencode(q));
    let (status, page) = s.get(&url, None).await;
    assert_eq!(status, StatusCode::OK, "{q}: {page}");
    let mut out: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn urlencode(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const TITLES: [&str; 7] = [
    "北京美食探店",
    "上海夜景延时摄影",
    "成都火锅真的太辣了",
    "東京タワーの夜景",
    "서울 여행 브이로그",
    "Dance cover 舞蹈翻跳",
    "Cooking pasta at home",
];

#[tokio::test]
async fn videos_are_found_by_a_chinese_japanese_or_korean_word_inside_their_titles() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let author = s.register("author").await;
        for title in TITLES {
            let seed = Seed {
                title: title.into(),
                ..Seed::default()
            };
            seed::video(&state, author.id, seed).await;
        }
        let v = |q: &'static str| found(&s, "/api/v1/videos/search", q, "title");
        assert_eq!(v("美食").await, ["北京美食探店"]);
        assert_eq!(v("北京").await, ["北京美食探店"]);
        assert_eq!(v("美").await, ["北京美食探店"], "one character");
        assert_eq!(v("北京美食").await, ["北京美食探店"]);
        assert_eq!(v("火锅").await, ["成都火锅真的太辣了"]);
        assert_eq!(
            v("辣").await,
            ["成都火锅真的太辣了"],
            "a run's last but one"
        );
        assert_eq!(v("夜景").await, ["上海夜景延时摄影", "東京タワーの夜景"]);
        assert_eq!(v("タワー").await, ["東京タワーの夜景"]);
        assert_eq!(v("여행").await, ["서울 여행 브이로그"]);
        assert_eq!(v("舞蹈 danc").await, ["Dance cover 舞蹈翻跳"]);
        assert_eq!(v("PASTA").await, ["Cooking pasta at home"]);
        for none in ["美京", "北海", "火锅 pasta", "\"*:&|!()"] {
            assert!(v(none).await.is_empty(), "{none}");
        }

        // Editing a title changes what finds the video.
        let (_, page) = s.get("/api/v1/videos/search?q=pasta", None).await;
        let id = page["items"][0]["id"].as_i64().unwrap();
        let (status, body) = s
            .call(
                Method::PATCH,
                &format!("/api/v1/videos/{id}"),
                Some(&author.token),
                Some(json!({"title": "重庆小面 noodles"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(v("小面").await, ["重庆小面 noodles"]);
        assert!(v("pasta").await.is_empty());
        state.store().close().await;
    });
}

#[tokio::test]
async fn rooms_are_found_by_title_and_by_their_anchors_name_and_people_by_part_of_a_name() {
    each_backend!(|s| {
        let anchor = s.register("xiaomei").await;
        let other = s.register("laowang").await;
        for (who, nickname, title) in [
            (&anchor, "小美酱", "深夜电台 聊天"),
            (&other, "老王", "周末钓鱼直播"),
        ] {
            let (status, body) = s
                .call(
                    Method::PATCH,
                    "/api/v1/users/me",
                    Some(&who.token),
                    Some(json!({"nickname": nickname})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let (status, body) = s
                .post("/api/v1/rooms", Some(&who.token), json!({"title": title}))
                .await;
            assert!(status.is_success(), "{body}");
        }
        let rooms = |q: &'static str| found(&s, "/api/v1/rooms/search", q, "title");
        assert_eq!(rooms("电台").await, ["深夜电台 聊天"]);
        assert_eq!(rooms("钓鱼").await, ["周末钓鱼直播"]);
        assert_eq!(
            rooms("美酱").await,
            ["深夜电台 聊天"],
            "by the anchor's nickname"
        );
        assert_eq!(
            rooms("laow").await,
            ["周末钓鱼直播"],
            "by the anchor's username"
        );
        assert!(rooms("电视").await.is_empty());

        let people = |q: &'static str| found(&s, "/api/v1/users/search", q, "nickname");
        assert_eq!(people("美酱").await, ["小美酱"], "inside a nickname");
        assert_eq!(people("小美").await, ["小美酱"]);
        assert_eq!(people("老王").await, ["老王"]);
        assert_eq!(people("xiao").await, ["小美酱"], "a username's prefix");

        // A new nickname is found at once, the old one no more.
        let (status, _) = s
            .call(
                Method::PATCH,
                "/api/v1/users/me",
                Some(&anchor.token),
                Some(json!({"nickname": "月亮姐姐"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(people("月亮").await, ["月亮姐姐"]);
        assert!(people("美酱").await.is_empty());
        assert_eq!(rooms("姐姐").await, ["深夜电台 聊天"]);

        let (status, body) = s
            .get(&format!("/api/v1/rooms/search?q={}", "x".repeat(101)), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], "invalid_query");
    });
}

/// Rows from before search terms existed (or made under older rules) are indexed again
/// at start.
#[tokio::test]
async fn old_rows_get_their_terms_at_start() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let author = s.register("old").await;
        let id = seed::video(
            &state,
            author.id,
            Seed {
                title: "老照片修复".into(),
                ..Seed::default()
            },
        )
        .await;
        sqlx::query("UPDATE videos SET search_text = '', search_v = 0 WHERE id = $1")
            .bind(id)
            .execute(state.store().writer())
            .await
            .unwrap();
        let v = || found(&s, "/api/v1/videos/search", "照片", "title");
        assert!(v().await.is_empty());
        app::search_index::refresh(state.store().clone()).await;
        assert_eq!(v().await, ["老照片修复"]);
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM videos WHERE search_v < $1")
            .bind(store::search::VERSION)
            .fetch_one(state.store().pool())
            .await
            .unwrap();
        assert_eq!(left, 0);
        state.store().close().await;
    });
}
