//! Profiles end to end: reading and editing one's own, reading others', searching.

use crate::common;

use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn profile_edits_are_saved_and_private_fields_stay_private() {
    each_backend!(|s| {
        let me = s.register("kate").await;
        let other = s.register("leo").await;
        let patch = json!({
            "nickname": "  Kate 🌸 ",
            "avatar_url": "https://cdn.example.com/k.png",
            "bio": "streams at night",
            "gender": "female",
            "birthday": "1999-12-31",
            "location": "Chengdu"
        });
        let (status, body) = s
            .call(
                Method::PATCH,
                "/api/v1/users/me",
                Some(&me.token),
                Some(patch),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["nickname"], "Kate 🌸");
        assert_eq!(body["birthday"], "1999-12-31");
        assert_eq!(body["gender"], "female");

        // Others see the public part only.
        let (status, seen) = s
            .get(&format!("/api/v1/users/{}", me.id), Some(&other.token))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(seen["bio"], "streams at night");
        assert!(seen.get("birthday").is_none(), "{seen}");
        assert!(seen.get("role").is_none(), "{seen}");
        assert_eq!(seen["is_following"], false);

        // Leaving a field out keeps it; null clears what may be empty.
        let (status, body) = s
            .call(
                Method::PATCH,
                "/api/v1/users/me",
                Some(&me.token),
                Some(json!({"avatar_url": null, "location": "Chongqing"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["avatar_url"].is_null());
        assert_eq!(body["location"], "Chongqing");
        assert_eq!(body["bio"], "streams at night");
        assert_eq!(body["birthday"], "1999-12-31");
    });
}

#[tokio::test]
async fn invalid_profile_edits_are_refused_and_nothing_is_written() {
    each_backend!(|s| {
        let me = s.register("mia").await;
        let cases = [
            (
                json!({"bio": "x".repeat(281)}),
                StatusCode::BAD_REQUEST,
                "bio",
            ),
            (json!({"nickname": ""}), StatusCode::BAD_REQUEST, "nickname"),
            (
                json!({"nickname": "a\u{0007}b"}),
                StatusCode::BAD_REQUEST,
                "nickname",
            ),
            (
                json!({"birthday": "2001-02-29"}),
                StatusCode::BAD_REQUEST,
                "birthday",
            ),
            (
                json!({"avatar_url": "javascript:alert(1)"}),
                StatusCode::BAD_REQUEST,
                "avatar_url",
            ),
            (
                json!({"gender": "robot"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "gender",
            ),
            (json!({"bio": 42}), StatusCode::UNPROCESSABLE_ENTITY, "bio"),
            (
                json!({"is_admin": true}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "is_admin",
            ),
        ];
        for (patch, status, field) in cases {
            let (got, body) = s
                .call(
                    Method::PATCH,
                    "/api/v1/users/me",
                    Some(&me.token),
                    Some(patch.clone()),
                )
                .await;
            assert_eq!(got, status, "{patch} -> {body}");
            assert!(
                body["error"]["fields"][field].is_string(),
                "{patch} -> {body}"
            );
        }
        // A request with one bad field changes nothing, not even its good fields.
        let (status, _) = s
            .call(
                Method::PATCH,
                "/api/v1/users/me",
                Some(&me.token),
                Some(json!({"location": "Beijing", "bio": "x".repeat(300)})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (_, after) = s.get("/api/v1/users/me", Some(&me.token)).await;
        assert_eq!(after["location"], "");
        assert_eq!(after["bio"], "");
        assert_eq!(after["nickname"], "mia");
    });
}

#[tokio::test]
async fn unknown_users_are_404() {
    each_backend!(|s| {
        let (status, body) = s.get("/api/v1/users/999999", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "user_not_found");
        let (status, body) = s.get("/api/v1/users/abc", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "invalid_id");
        let (status, _) = s.get("/api/v1/users/-1", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    });
}

#[tokio::test]
async fn search_finds_username_and_nickname_prefixes_page_by_page() {
    each_backend!(|s| {
        for i in 0..5 {
            s.register(&format!("star_{i}")).await;
        }
        let other = s.register("zed").await;
        s.call(
            Method::PATCH,
            "/api/v1/users/me",
            Some(&other.token),
            Some(json!({"nickname": "Starlight"})),
        )
        .await;
        s.register("moon").await;

        let (status, page) = s.get("/api/v1/users/search?q=STAR&limit=4", None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut names: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect();
        let cursor = page["next_cursor"]
            .as_str()
            .expect("a second page")
            .to_string();
        let (_, page2) = s
            .get(
                &format!("/api/v1/users/search?q=star&limit=4&cursor={cursor}"),
                None,
            )
            .await;
        names.extend(
            page2["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_string()),
        );
        assert!(page2["next_cursor"].is_null());
        assert_eq!(
            names,
            ["star_0", "star_1", "star_2", "star_3", "star_4", "zed"],
            "pages in id order, no repeats"
        );

        // SQL-looking and wildcard input is only ever a prefix.
        for q in ["' OR 1=1 --", "%", "_", "star%25"] {
            let (status, page) = s
                .get(&format!("/api/v1/users/search?q={}", urlenc(q)), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{q}");
            assert_eq!(page["items"].as_array().unwrap().len(), 0, "{q}: {page}");
        }
        let (status, body) = s.get("/api/v1/users/search", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"]["fields"]["q"].is_string());
        let (status, body) = s.get("/api/v1/users/search?q=a&limit=1000", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "invalid_limit");
    });
}

fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
