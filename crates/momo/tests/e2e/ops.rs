//! Operations endpoints: health, readiness, metrics, the OpenAPI document and its UI.

use crate::common;

use reqwest::StatusCode;

#[tokio::test]
async fn health_and_readiness_answer() {
    each_backend!(|s| {
        let (status, body) = s.get("/healthz", None).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("ok"))
        );
        let (status, body) = s.get("/readyz", None).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("ok"))
        );
    });
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    each_backend!(|s| {
        let u = s.register("metered").await;
        s.get(&format!("/api/v1/users/{}", u.id), None).await;
        s.get("/api/v1/users/987654", None).await;
        let text = s.metrics().await;
        for needle in [
            r#"http_requests_total{method="GET",route="/api/v1/users/{id}",status="200"}"#,
            r#"http_requests_total{method="GET",route="/api/v1/users/{id}",status="404"}"#,
            r#"http_request_duration_seconds_bucket{method="POST",route="/api/v1/auth/register",status="201",le="0.5"}"#,
            "http_requests_in_flight",
            "db_pool_connections",
            "db_pool_idle",
            "db_pool_max_connections",
        ] {
            assert!(text.contains(needle), "missing {needle} in:\n{text}");
        }
    });
}

#[tokio::test]
async fn made_up_methods_and_paths_do_not_grow_the_metrics() {
    each_backend!(|s| {
        for i in 0..50 {
            let method =
                reqwest::Method::from_bytes(format!("X{i}{}", "M".repeat(2000)).as_bytes())
                    .unwrap();
            let res = s
                .client
                .request(method, s.url(&format!("/no/such/path/{i}")))
                .send()
                .await
                .unwrap();
            assert!(res.status().is_client_error());
        }
        let text = s.metrics().await;
        assert!(!text.contains("MMMM"), "a made-up method became a label");
        assert!(!text.contains("/no/such/path"), "a raw path became a label");
        assert!(text.contains(r#"method="other""#), "{text}");
        assert!(text.len() < 1 << 20, "metrics grew to {} bytes", text.len());
    });
}

#[tokio::test]
async fn data_dir_and_database_are_private_to_momo() {
    use std::os::unix::fs::PermissionsExt;
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("fresh").join("data");
    let d = dir.clone();
    let s = common::TestServer::start_with(common::Backend::Sqlite, move |c| c.data_dir = d).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("momo.db")), 0o600);
    let res = s.client.get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn the_development_payment_provider_is_off_by_default_and_loud_when_on() {
    let config = momo::Config::load(None, &Default::default()).unwrap();
    assert!(!config.app.economy.dev_payments, "free coins by default");
    // Off: no checkout, no warning.
    let s = common::TestServer::start_with(common::Backend::Sqlite, |c| {
        c.app.economy.dev_payments = false
    })
    .await;
    let u = s.register("buyer").await;
    let (_, ready) = s.get("/readyz", None).await;
    assert!(ready.get("warnings").is_none(), "{ready}");
    let (status, body) = s
        .post(
            "/api/v1/wallet/recharge/orders",
            Some(&u.token),
            serde_json::json!({"package_id": "coins_60"}),
        )
        .await;
    assert!(status.is_client_error(), "{status} {body}");
    let (status, _) = s
        .post(
            "/api/v1/payments/dev/checkout/anything",
            Some(&u.token),
            serde_json::json!({}),
        )
        .await;
    assert!(status.is_client_error());
    s.stop().await;
    // On: /readyz and the admin dashboard say so.
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let (_, ready) = s.get("/readyz", None).await;
    assert!(
        ready["warnings"][0]
            .as_str()
            .unwrap()
            .contains("dev_payments"),
        "{ready}"
    );
    let admin = s.admin_token("root").await;
    let (_, stats) = s.get("/api/v1/admin/stats", Some(&admin)).await;
    assert!(
        stats["warnings"][0]
            .as_str()
            .unwrap()
            .contains("dev_payments"),
        "{stats}"
    );
    s.stop().await;
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let (status, doc) = s.get("/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let expected = [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/auth/check", "get"),
        ("/api/v1/auth/password", "post"),
        ("/api/v1/users/me", "get"),
        ("/api/v1/users/me", "patch"),
        ("/api/v1/users/me/blocks", "get"),
        ("/api/v1/users/search", "get"),
        ("/api/v1/users/{id}", "get"),
        ("/api/v1/users/{id}/follow", "post"),
        ("/api/v1/users/{id}/follow", "delete"),
        ("/api/v1/users/{id}/block", "post"),
        ("/api/v1/users/{id}/block", "delete"),
        ("/api/v1/users/{id}/followers", "get"),
        ("/api/v1/users/{id}/following", "get"),
        ("/api/v1/users/{id}/friends", "get"),
        ("/api/v1/admin/users", "get"),
        ("/api/v1/admin/users/{id}/ban", "post"),
        ("/api/v1/admin/users/{id}/ban", "delete"),
        ("/api/v1/conversations", "get"),
        ("/api/v1/conversations/direct", "post"),
        ("/api/v1/conversations/{id}/messages", "get"),
        ("/api/v1/conversations/{id}/messages", "post"),
        ("/api/v1/conversations/{id}/read", "post"),
        ("/api/v1/conversations/{id}/messages/{seq}/recall", "post"),
        ("/api/v1/groups", "post"),
        ("/api/v1/groups/{id}", "get"),
        ("/api/v1/groups/{id}", "patch"),
        ("/api/v1/groups/{id}", "delete"),
        ("/api/v1/groups/{id}/members", "post"),
        ("/api/v1/groups/{id}/members/me", "delete"),
        ("/api/v1/groups/{id}/members/{user_id}", "delete"),
        ("/api/v1/groups/{id}/members/{user_id}/role", "put"),
        ("/api/v1/groups/{id}/mutes", "post"),
        ("/api/v1/groups/{id}/mutes/{user_id}", "delete"),
        ("/api/v1/rooms", "post"),
        ("/api/v1/rooms/{id}", "get"),
        ("/api/v1/rooms/{id}/stream-key", "post"),
        ("/api/v1/rooms", "get"),
        ("/api/v1/rooms/{id}", "patch"),
        ("/api/v1/rooms/following", "get"),
        ("/api/v1/rooms/search", "get"),
        ("/api/v1/admin/rooms", "get"),
        ("/api/v1/admin/rooms/{id}/cut", "post"),
        ("/api/v1/admin/rooms/{id}/ban", "post"),
        ("/api/v1/admin/rooms/{id}/ban", "delete"),
        ("/api/v1/wallet", "get"),
        ("/api/v1/webrtc/ice-servers", "get"),
        ("/api/v1/wallet/ledger", "get"),
        ("/api/v1/wallet/recharge/packages", "get"),
        ("/api/v1/wallet/recharge/orders", "post"),
        ("/api/v1/wallet/recharge/orders/{order_no}", "get"),
        ("/api/v1/payments/{provider}/callback", "post"),
        ("/api/v1/payments/dev/checkout/{order_no}", "post"),
        ("/api/v1/wallet/withdrawals", "post"),
        ("/api/v1/wallet/withdrawals", "get"),
        ("/api/v1/admin/withdrawals", "get"),
        ("/api/v1/admin/withdrawals/{id}/approve", "post"),
        ("/api/v1/admin/withdrawals/{id}/reject", "post"),
        ("/api/v1/admin/wallet/adjustments", "post"),
        ("/api/v1/admin/wallet/audit", "get"),
        ("/api/v1/gifts", "get"),
        ("/api/v1/admin/gifts", "get"),
        ("/api/v1/admin/gifts", "post"),
        ("/api/v1/admin/gifts/{id}", "patch"),
        ("/api/v1/admin/gifts/{id}", "delete"),
        ("/api/v1/rooms/{id}/gifts", "post"),
        ("/api/v1/rooms/{id}/rankings", "get"),
        ("/api/v1/rankings/anchors", "get"),
        ("/api/v1/rooms/{id}/sessions", "get"),
        ("/api/v1/rooms/{id}/admins", "get"),
        ("/api/v1/rooms/{id}/admins/{user_id}", "put"),
        ("/api/v1/rooms/{id}/admins/{user_id}", "delete"),
        ("/api/v1/rooms/{id}/mutes", "get"),
        ("/api/v1/rooms/{id}/mutes", "post"),
        ("/api/v1/rooms/{id}/mutes/{user_id}", "delete"),
        ("/api/v1/rooms/{id}/kicks", "post"),
        ("/api/v1/notifications", "get"),
        ("/api/v1/notifications/unread", "get"),
        ("/api/v1/notifications/read", "post"),
        ("/api/v1/admin/announcements", "post"),
        ("/api/v1/videos", "post"),
        ("/api/v1/uploads", "post"),
        ("/api/v1/uploads/{id}", "patch"),
        ("/api/v1/videos/{id}", "get"),
        ("/api/v1/videos/{id}", "patch"),
        ("/api/v1/videos/{id}", "delete"),
        ("/api/v1/feed", "get"),
        ("/api/v1/videos/search", "get"),
        ("/api/v1/users/{id}/videos", "get"),
        ("/api/v1/hashtags/{tag}/videos", "get"),
        ("/api/v1/users/me/favorites", "get"),
        ("/api/v1/videos/{id}/like", "post"),
        ("/api/v1/videos/{id}/like", "delete"),
        ("/api/v1/videos/{id}/favorite", "post"),
        ("/api/v1/videos/{id}/favorite", "delete"),
        ("/api/v1/videos/{id}/views", "post"),
        ("/api/v1/videos/{id}/shares", "post"),
        ("/api/v1/videos/{id}/comments", "get"),
        ("/api/v1/videos/{id}/comments", "post"),
        ("/api/v1/comments/{id}/replies", "get"),
        ("/api/v1/comments/{id}/replies", "post"),
        ("/api/v1/comments/{id}", "delete"),
        ("/api/v1/comments/{id}/like", "post"),
        ("/api/v1/comments/{id}/like", "delete"),
        ("/api/v1/reports", "post"),
        ("/api/v1/admin/reports", "get"),
        ("/api/v1/admin/reports/{id}/resolve", "post"),
        ("/api/v1/admin/videos", "get"),
        ("/api/v1/admin/videos/{id}/hide", "post"),
        ("/api/v1/admin/videos/{id}/unhide", "post"),
        // Served beside the annotated API: the chat socket and both push APIs.
        ("/ws", "get"),
        ("/sub", "get"),
        ("/api/v1/push/users", "post"),
        ("/api/v1/push/rooms/{id}", "post"),
        ("/api/v1/push/all", "post"),
        ("/api/v1/online/rooms/{id}", "get"),
        ("/api/v1/online/top", "get"),
        ("/goim/push/keys", "post"),
        ("/goim/push/mids", "post"),
        ("/goim/push/room", "post"),
        ("/goim/push/all", "post"),
        ("/goim/online/top", "get"),
        ("/goim/online/room", "get"),
        ("/goim/online/total", "get"),
    ];
    for (path, method) in expected {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    assert_eq!(
        doc["paths"].as_object().unwrap().len(),
        117,
        "an undocumented or unexpected path"
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    s.stop().await;
}

#[tokio::test]
async fn swagger_ui_is_served_without_the_network() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let page = s.client.get(s.url("/api/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("https://"),
        "the page loads something from the network"
    );
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-initializer.js",
    ] {
        let res = s
            .client
            .get(s.url(&format!("/api/docs/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{asset}");
        let body = res.text().await.unwrap();
        if asset == "swagger-initializer.js" {
            assert!(body.contains("/api/openapi.json"), "{body}");
        }
    }
    s.stop().await;
}
