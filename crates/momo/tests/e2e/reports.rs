//! Reports end to end: reporting videos, comments and users; the admins' queue and its
//! decisions (hide, delete, dismiss, ban the author), each taken once.

use crate::common;

use common::seed::{self, Seed};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn report(s: &common::TestServer, token: &str, kind: &str, id: i64) -> (StatusCode, Value) {
    s.post(
        "/api/v1/reports",
        Some(token),
        json!({"target_kind": kind, "target_id": id, "reason": "spam"}),
    )
    .await
}

async fn resolve(
    s: &common::TestServer,
    admin: &str,
    id: i64,
    action: &str,
) -> (StatusCode, Value) {
    s.post(
        &format!("/api/v1/admin/reports/{id}/resolve"),
        Some(admin),
        json!({"action": action, "note": "checked"}),
    )
    .await
}

#[tokio::test]
async fn reports_are_validated_and_one_is_open_per_reporter_and_target() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let author = s.register("author").await;
        let fan = s.register("fan").await;
        let other = s.register("other").await;
        let id = seed::video(&state, author.id, Seed::default()).await;
        let (status, r) = report(&s, &fan.token, "video", id).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        assert_eq!(r["status"], "open");
        let (status, e) = report(&s, &fan.token, "video", id).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("already_reported"))
        );
        let (status, _) = report(&s, &other.token, "video", id).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "someone else may report it too"
        );
        let (status, _) = report(&s, &fan.token, "user", author.id).await;
        assert_eq!(status, StatusCode::CREATED);
        for (kind, target) in [("video", 9999), ("comment", 1), ("user", 9999)] {
            let (status, e) = report(&s, &fan.token, kind, target).await;
            assert_eq!(
                (status, e["error"]["code"].as_str()),
                (StatusCode::NOT_FOUND, Some("target_not_found")),
                "{kind}"
            );
        }
        let (status, e) = report(&s, &fan.token, "room", 1).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
        );
        let (status, e) = s
            .post(
                "/api/v1/reports",
                Some(&fan.token),
                json!({"target_kind": "user", "target_id": author.id, "reason": ""}),
            )
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("validation_failed"))
        );
        let (status, _) = s
            .post(
                "/api/v1/reports",
                None,
                json!({"target_kind": "user", "target_id": author.id, "reason": "x"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        state.store().close().await;
    });
}

#[tokio::test]
async fn admins_decide_each_report_once() {
    each_backend!(|s| {
        let state = s.app_state().await;
        let author = s.register("author").await;
        let fan = s.register("fan").await;
        let admin = s.admin_token("root").await;
        let hide_me = seed::video(&state, author.id, Seed::titled("hide me")).await;
        let delete_me = seed::video(&state, author.id, Seed::titled("delete me")).await;
        let fine = seed::video(&state, author.id, Seed::titled("fine")).await;
        let (_, c) = s
            .post(
                &format!("/api/v1/videos/{fine}/comments"),
                Some(&author.token),
                json!({"body": "rude"}),
            )
            .await;
        let comment = c["id"].as_i64().unwrap();
        let mut reports = Vec::new();
        for (kind, id) in [
            ("video", hide_me),
            ("video", delete_me),
            ("video", fine),
            ("comment", comment),
            ("user", author.id),
        ] {
            let (status, r) = report(&s, &fan.token, kind, id).await;
            assert_eq!(status, StatusCode::CREATED, "{r}");
            reports.push(r["id"].as_i64().unwrap());
        }

        let (status, e) = s.get("/api/v1/admin/reports", Some(&fan.token)).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("admin_required"))
        );
        let (status, queue) = s
            .get("/api/v1/admin/reports?status=open&limit=3", Some(&admin))
            .await;
        assert_eq!(status, StatusCode::OK, "{queue}");
        let items = queue["items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0]["id"], reports[4], "newest first");
        assert_eq!(items[0]["target"]["username"], "author");
        assert_eq!(items[1]["target"]["body"], "rude");
        assert_eq!(items[2]["target"]["title"], "fine");
        assert_eq!(items[2]["reporter_username"], "fan");
        assert!(queue["next_cursor"].is_string());

        // Hide: gone for everyone but the author and admins.
        let (status, r) = resolve(&s, &admin, reports[0], "hide").await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert_eq!(
            (r["status"].as_str(), r["note"].as_str()),
            (Some("hidden"), Some("checked"))
        );
        assert_eq!(r["target"]["hidden"], true);
        let (status, e) = resolve(&s, &admin, reports[0], "dismiss").await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("report_already_resolved"))
        );
        let (status, _) = s
            .get(&format!("/api/v1/videos/{hide_me}"), Some(&fan.token))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = s
            .get(&format!("/api/v1/videos/{hide_me}"), Some(&author.token))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, feed) = s.get("/api/v1/feed", None).await;
        assert!(!feed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == hide_me));

        // Delete: soft, and the files' purge is queued.
        let (status, _) = resolve(&s, &admin, reports[1], "delete").await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = s
            .get(&format!("/api/v1/videos/{delete_me}"), Some(&author.token))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let purges: i64 =
            store::sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'videos.purge'")
                .fetch_one(state.store().pool())
                .await
                .unwrap();
        assert_eq!(purges, 1);

        // Dismiss leaves the video be; a deleted comment loses its count.
        let (_, r) = resolve(&s, &admin, reports[2], "dismiss").await;
        assert_eq!(r["status"], "dismissed");
        let (_, r) = resolve(&s, &admin, reports[3], "delete").await;
        assert_eq!(r["target"]["deleted"], true);
        let (_, v) = s.get(&format!("/api/v1/videos/{fine}"), None).await;
        assert_eq!(v["comment_count"], 0);

        // A user cannot be hidden; banning works through the admin ban.
        let (status, e) = resolve(&s, &admin, reports[4], "hide").await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("action_not_applicable")
            )
        );
        let (status, e) = resolve(&s, &admin, reports[4], "erase").await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
        );
        let (status, r) = resolve(&s, &admin, reports[4], "ban_author").await;
        assert_eq!(
            (status, r["status"].as_str()),
            (StatusCode::OK, Some("banned")),
            "{r}"
        );
        let (status, e) = s.get("/api/v1/users/me", Some(&author.token)).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("account_banned"))
        );
        let (status, _) = resolve(&s, &admin, 9999, "dismiss").await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (_, open) = s.get("/api/v1/admin/reports", Some(&admin)).await;
        assert!(open["items"].as_array().unwrap().is_empty(), "{open}");
        let (_, done) = s
            .get("/api/v1/admin/reports?status=all", Some(&admin))
            .await;
        assert_eq!(done["items"].as_array().unwrap().len(), 5);
        let (status, e) = s
            .get("/api/v1/admin/reports?status=maybe", Some(&admin))
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_status"))
        );
        // Once decided, the same reporter may report the same target again.
        let (status, _) = report(&s, &fan.token, "video", fine).await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, all) = s
            .get("/api/v1/admin/videos?status=deleted", Some(&admin))
            .await;
        assert_eq!(all["items"][0]["id"], delete_me);

        // A hidden comment stops counting, and deleting it later counts nothing again.
        let (status, c2) = s
            .post(
                &format!("/api/v1/videos/{fine}/comments"),
                Some(&fan.token),
                json!({"body": "ruder"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{c2}");
        let c2 = c2["id"].as_i64().unwrap();
        let (_, v) = s.get(&format!("/api/v1/videos/{fine}"), None).await;
        assert_eq!(v["comment_count"], 1);
        let (_, r) = report(&s, &admin, "comment", c2).await;
        let (status, _) = resolve(&s, &admin, r["id"].as_i64().unwrap(), "hide").await;
        assert_eq!(status, StatusCode::OK);
        let (_, v) = s.get(&format!("/api/v1/videos/{fine}"), None).await;
        assert_eq!(v["comment_count"], 0);
        let (_, listed) = s
            .get(&format!("/api/v1/videos/{fine}/comments"), None)
            .await;
        assert!(listed["items"].as_array().unwrap().is_empty(), "{listed}");
        let (status, _) = s
            .call(
                reqwest::Method::DELETE,
                &format!("/api/v1/comments/{c2}"),
                Some(&fan.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, v) = s.get(&format!("/api/v1/videos/{fine}"), None).await;
        assert_eq!(v["comment_count"], 0, "not counted twice");
        state.store().close().await;
    });
}
