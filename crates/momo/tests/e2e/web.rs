//! The web pages without a browser: who may load the admin console, CSRF on cookie
//! sessions, content types and the Content-Security-Policy, and the admin API the
//! console uses (every route refuses non-admins, actions are audited, stats, words,
//! roles, password resets), and guests reading a room's chat.

use crate::common;

use std::time::Duration;

use common::ws;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A browser's cookies after signing in on the site: `(cookie header, csrf token)`.
async fn web_sign_in(s: &common::TestServer, username: &str, password: &str) -> (String, String) {
    let res = s
        .client
        .post(s.url("/api/v1/web/session"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let mut cookies = Vec::new();
    for v in res.headers().get_all("set-cookie") {
        let v = v.to_str().unwrap();
        if v.starts_with("momo_session=") {
            assert!(v.contains("HttpOnly"), "{v}");
            assert!(v.contains("SameSite=Strict"), "{v}");
        }
        cookies.push(v.split(';').next().unwrap().to_string());
    }
    let body: Value = res.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    assert!(cookies.iter().any(|c| *c == format!("momo_csrf={csrf}")));
    assert!(body["access_token"].as_str().is_some());
    (cookies.join("; "), csrf)
}

async fn with_cookie(
    s: &common::TestServer,
    method: Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = s
        .client
        .request(method, s.url(path))
        .header("cookie", cookie);
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_admin_console_is_refused_to_anonymous_visitors_and_non_admins() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    s.register("viewer_1").await;
    s.admin_token("boss").await;

    let anonymous = s.client.get(s.url("/admin")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::FORBIDDEN);
    assert!(anonymous.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(anonymous
        .text()
        .await
        .unwrap()
        .contains("/login?next=/admin"));

    let (user_cookie, _) = web_sign_in(&s, "viewer_1", "password-123").await;
    for path in ["/admin", "/admin/users", "/admin/audit"] {
        let res = s
            .client
            .get(s.url(path))
            .header("cookie", &user_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // A stale or forged cookie is nobody.
    let forged = s
        .client
        .get(s.url("/admin"))
        .header("cookie", "momo_session=ws_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let (admin_cookie, _) = web_sign_in(&s, "boss", "admin-password").await;
    for path in ["/admin", "/admin/users", "/admin/words"] {
        let res = s
            .client
            .get(s.url(path))
            .header("cookie", &admin_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.text().await.unwrap().contains("/assets/js/admin.js"));
    }
    s.stop().await;
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_to_change_anything() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let user = s.register("csrf_user").await;
    let (cookie, csrf) = web_sign_in(&s, "csrf_user", "password-123").await;
    let edit = json!({"bio": "hello"});

    // Reading needs no token.
    let (status, me) = with_cookie(&s, Method::GET, "/api/v1/users/me", &cookie, None, None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "csrf_user");

    // Changing without it, or with a wrong one, is refused.
    for sent in [None, Some("wrong"), Some("")] {
        let (status, body) = with_cookie(
            &s,
            Method::PATCH,
            "/api/v1/users/me",
            &cookie,
            sent,
            Some(edit.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{sent:?}: {body}");
        assert_eq!(body["error"]["code"], "csrf_failed");
    }
    let (status, body) = with_cookie(
        &s,
        Method::POST,
        "/api/v1/rooms",
        &cookie,
        None,
        Some(json!({"title": "forged"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = with_cookie(
        &s,
        Method::DELETE,
        "/api/v1/web/session",
        &cookie,
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // With it, it works.
    let (status, body) = with_cookie(
        &s,
        Method::PATCH,
        "/api/v1/users/me",
        &cookie,
        Some(&csrf),
        Some(edit.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["bio"], "hello");

    // A bearer token needs none (a browser never adds that header by itself).
    let (status, _) = s
        .call(
            Method::PATCH,
            "/api/v1/users/me",
            Some(&user.token),
            Some(json!({"bio": "bearer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Admin routes by cookie need it too.
    s.admin_token("csrf_boss").await;
    let (admin_cookie, admin_csrf) = web_sign_in(&s, "csrf_boss", "admin-password").await;
    let ban = format!("/api/v1/admin/users/{}/ban", user.id);
    let (status, body) = with_cookie(&s, Method::POST, &ban, &admin_cookie, None, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "csrf_failed");
    let (status, body) = with_cookie(
        &s,
        Method::POST,
        &ban,
        &admin_cookie,
        Some(&admin_csrf),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The ban ended the user's web session: the page sees a guest.
    let (status, body) =
        with_cookie(&s, Method::GET, "/api/v1/web/session", &cookie, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["user"].is_null(), "{body}");

    // Signing out revokes the session.
    let (status, _) = with_cookie(
        &s,
        Method::DELETE,
        "/api/v1/web/session",
        &admin_cookie,
        Some(&admin_csrf),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = with_cookie(
        &s,
        Method::GET,
        "/api/v1/web/session",
        &admin_cookie,
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["user"].is_null() && body["csrf_token"].is_null(),
        "{body}"
    );
    // A guest without any cookie is not an error either.
    let (status, body) = s.get("/api/v1/web/session", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["user"].is_null() && body["access_token"].is_null(),
        "{body}"
    );
    s.stop().await;
}

#[tokio::test]
async fn every_state_changing_admin_call_by_cookie_needs_the_csrf_token() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    s.admin_token("csrf_admin").await;
    let (cookie, _) = web_sign_in(&s, "csrf_admin", "admin-password").await;
    let (_, doc) = s.get("/api/openapi.json", None).await;
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/admin/") {
            continue;
        }
        let concrete = path.replace("{id}", "1").replace("{user_id}", "1");
        for method in ops.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            if m == Method::GET {
                continue;
            }
            let (status, body) =
                with_cookie(&s, m, &concrete, &cookie, None, Some(json!({}))).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
            assert_eq!(body["error"]["code"], "csrf_failed", "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} admin calls found");
    s.stop().await;
}

#[tokio::test]
async fn pages_and_assets_have_their_content_types_and_a_strict_csp() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    for path in [
        "/", "/login", "/signup", "/rooms/1", "/videos", "/studio", "/admin",
    ] {
        let res = s.client.get(s.url(path)).send().await.unwrap();
        assert!(
            res.status() == StatusCode::OK || path == "/admin",
            "{path}: {}",
            res.status()
        );
        let h = res.headers();
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-eval"), "{path}: {csp}");
        assert!(csp.contains("object-src 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let page = res.text().await.unwrap();
        // No inline script: every <script> has a src.
        assert_eq!(
            page.matches("<script").count(),
            page.matches("<script type=\"module\" src=\"/assets/")
                .count()
                + page.matches("<script src=\"/assets/vendor/").count(),
            "{path}"
        );
        assert!(!page.contains("onclick="), "{path}");
    }
    for (path, kind) in [
        ("/assets/app.css", "text/css; charset=utf-8"),
        ("/assets/js/api.js", "text/javascript; charset=utf-8"),
        ("/assets/js/admin.js", "text/javascript; charset=utf-8"),
        ("/assets/vendor/mpegts.js", "text/javascript; charset=utf-8"),
        (
            "/assets/vendor/hls.light.min.js",
            "text/javascript; charset=utf-8",
        ),
        ("/assets/vendor/LICENSE.hls.js", "text/plain; charset=utf-8"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let res = s.client.get(s.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()["content-type"], kind, "{path}");
        assert!(!res.bytes().await.unwrap().is_empty(), "{path}");
    }
    let missing = s.client.get(s.url("/assets/nope.js")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // The API keeps answering in JSON.
    let (status, body) = s.get("/api/v1/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    s.stop().await;
}

#[tokio::test]
async fn every_admin_route_refuses_non_admins() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let user = s.register("not_boss").await;
    let (_, doc) = s.get("/api/openapi.json", None).await;
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/admin/") {
            continue;
        }
        let concrete = path.replace("{id}", "1").replace("{user_id}", "1");
        for method in ops.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (m != Method::GET && m != Method::DELETE).then(|| json!({}));
            let (status, reply) = s.call(m.clone(), &concrete, Some(&user.token), body).await;
            // A body that does not fit may be refused first (422), never let through.
            assert!(
                status == StatusCode::FORBIDDEN || status == StatusCode::UNPROCESSABLE_ENTITY,
                "{method} {path}: {status} {reply}"
            );
            if status == StatusCode::FORBIDDEN {
                assert_eq!(reply["error"]["code"], "admin_required", "{method} {path}");
            }
            let (status, _) = s.call(m, &concrete, None, None).await;
            assert!(
                status == StatusCode::UNAUTHORIZED || status == StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "anonymous {method} {path}: {status}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} admin routes found");
    s.stop().await;
}

#[tokio::test]
async fn admin_actions_are_audited_with_the_admins_name() {
    each_backend!(|s| {
        let admin = s.admin_token("auditor").await;
        let user = s.register("audited").await;
        let (status, _) = s
            .post(
                &format!("/api/v1/admin/users/{}/ban", user.id),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = s
            .delete(
                &format!("/api/v1/admin/users/{}/ban", user.id),
                Some(&admin),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = s
            .post(
                "/api/v1/admin/gifts",
                Some(&admin),
                json!({"name": "Rose", "price_coins": 1}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = s
            .post(
                "/api/v1/admin/wallet/adjustments",
                Some(&admin),
                json!({"user_id": user.id, "asset": "coin", "amount": 50,
                       "reason": "welcome bonus", "idempotency_key": "adj-1"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        // A replay is not a second action.
        let (status, _) = s
            .post(
                "/api/v1/admin/wallet/adjustments",
                Some(&admin),
                json!({"user_id": user.id, "asset": "coin", "amount": 50,
                       "reason": "welcome bonus", "idempotency_key": "adj-1"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        let (status, page) = s.get("/api/v1/admin/audit", Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let actions: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["wallet.adjust", "gift.create", "user.unban", "user.ban"]
        );
        let adjust = &page["items"][0];
        assert_eq!(adjust["admin_name"], "auditor");
        assert_eq!(adjust["target"], format!("user:{}", user.id));
        assert_eq!(adjust["detail"]["reason"], "welcome bonus");
        assert_eq!(adjust["detail"]["amount"], 50);

        let (_, only_users) = s.get("/api/v1/admin/audit?action=user", Some(&admin)).await;
        assert_eq!(only_users["items"].as_array().unwrap().len(), 2);

        // The ledger search finds the adjustment with its reason and the admin's name.
        let (status, ledger) = s
            .get(
                &format!(
                    "/api/v1/admin/wallet/ledger?user_id={}&kind=adjustment",
                    user.id
                ),
                Some(&admin),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ledger}");
        let entries = ledger["items"].as_array().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["amount"], 50);
        assert_eq!(entries[0]["memo"], "by auditor: welcome bonus");
    });
}

#[tokio::test]
async fn the_dashboard_counts_from_the_database() {
    each_backend!(|s| {
        let admin = s.admin_token("stats_boss").await;
        s.register("stats_a").await;
        s.register("stats_b").await;
        let (status, stats) = s.get("/api/v1/admin/stats?days=7", Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{stats}");
        assert_eq!(stats["totals"]["users"], 3);
        assert_eq!(stats["totals"]["rooms_live"], 0);
        let days = stats["days"].as_array().unwrap();
        assert_eq!(days.len(), 7);
        assert_eq!(days[6]["new_users"], 3, "today is last: {stats}");
        assert_eq!(days[0]["new_users"], 0);
        assert_eq!(days[6]["date"].as_str().unwrap().len(), 10);
        let (status, _) = s.get("/api/v1/admin/stats?days=0", Some(&admin)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    });
}

#[tokio::test]
async fn operators_view_users_reset_passwords_and_grant_admin() {
    each_backend!(|s| {
        let admin = s.admin_token("root_op").await;
        let user = s.register("helped").await;
        let (status, view) = s
            .get(&format!("/api/v1/admin/users/{}", user.id), Some(&admin))
            .await;
        assert_eq!(status, StatusCode::OK, "{view}");
        assert_eq!(view["username"], "helped");
        assert_eq!(view["role"], "user");
        assert_eq!(view["balances"]["coins"], 0);
        assert_eq!(view["live_sessions"], 1);

        let (status, _) = s
            .post(
                &format!("/api/v1/admin/users/{}/password", user.id),
                Some(&admin),
                json!({"password": "short"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = s
            .post(
                &format!("/api/v1/admin/users/{}/password", user.id),
                Some(&admin),
                json!({"password": "brand-new-password"}),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = s
            .post(
                "/api/v1/auth/refresh",
                None,
                json!({"refresh_token": user.refresh}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "old sessions end");
        let (status, _) = s.get("/api/v1/users/me", Some(&user.token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "old access tokens end");
        let (status, login) = s
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "helped", "password": "brand-new-password"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let token = login["access_token"].as_str().unwrap().to_string();

        let (status, _) = s.get("/api/v1/admin/users", Some(&token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = s
            .call(
                Method::PUT,
                &format!("/api/v1/admin/users/{}/role", user.id),
                Some(&admin),
                Some(json!({"role": "admin"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // At once, with the same token: the guard reads the role from the database.
        let (status, _) = s.get("/api/v1/admin/users", Some(&token)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = s
            .call(
                Method::PUT,
                &format!("/api/v1/admin/users/{}/role", user.id),
                Some(&admin),
                Some(json!({"role": "user"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = s.get("/api/v1/admin/users", Some(&token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let (_, me) = s.get("/api/v1/users/me", Some(&admin)).await;
        let (status, body) = s
            .call(
                Method::PUT,
                &format!("/api/v1/admin/users/{}/role", me["id"]),
                Some(&admin),
                Some(json!({"role": "user"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "cannot_demote_self");
    });
}

#[tokio::test]
async fn sensitive_words_edited_at_run_time_filter_room_chat_at_once() {
    each_backend!(|s| {
        let admin = s.admin_token("word_boss").await;
        let anchor = s.register("word_anchor").await;
        let (_, room) = s
            .post(
                "/api/v1/rooms",
                Some(&anchor.token),
                json!({"title": "words"}),
            )
            .await;
        let room = format!("live://{}", room["id"]);
        let mut chat = ws::signed_in(&s, &anchor.token, Some(&room)).await;

        let (status, word) = s
            .post(
                "/api/v1/admin/sensitive-words",
                Some(&admin),
                json!({"word": "Spoiler"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{word}");
        let (status, _) = s
            .post(
                "/api/v1/admin/sensitive-words",
                Some(&admin),
                json!({"word": "spoiler"}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (_, list) = s.get("/api/v1/admin/sensitive-words", Some(&admin)).await;
        assert_eq!(list.as_array().unwrap().len(), 1);

        ws::send(
            &mut chat,
            json!({"op": 4, "seq": 2, "body": {"text": "a SPOILER here"}}),
        )
        .await;
        let m = ws::expect_op(&mut chat, 1000).await;
        assert_eq!(m["body"]["text"], "a ******* here");

        let (status, _) = s
            .delete(
                &format!("/api/v1/admin/sensitive-words/{}", word["id"]),
                Some(&admin),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        ws::send(
            &mut chat,
            json!({"op": 4, "seq": 3, "body": {"text": "a spoiler again"}}),
        )
        .await;
        let m = ws::expect_op(&mut chat, 1000).await;
        assert_eq!(m["body"]["text"], "a spoiler again");

        let (_, audit) = s.get("/api/v1/admin/audit?action=word", Some(&admin)).await;
        assert_eq!(audit["items"].as_array().unwrap().len(), 2);
    });
}

#[tokio::test]
async fn guests_read_a_rooms_chat_but_cannot_write() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let anchor = s.register("guest_anchor").await;
    let (_, room) = s
        .post(
            "/api/v1/rooms",
            Some(&anchor.token),
            json!({"title": "open"}),
        )
        .await;
    let room = format!("live://{}", room["id"]);
    let mut guest = ws::open(&s).await;
    ws::send(
        &mut guest,
        json!({"op": 7, "seq": 1, "body": {"guest": true, "room_id": room}}),
    )
    .await;
    ws::expect_op(&mut guest, 8).await;
    let mut speaker = ws::signed_in(&s, &anchor.token, Some(&room)).await;
    ws::send(
        &mut speaker,
        json!({"op": 4, "seq": 2, "body": {"text": "<b>hi</b> all"}}),
    )
    .await;
    let m = ws::expect_op(&mut guest, 1000).await;
    assert_eq!(m["body"]["text"], "<b>hi</b> all");
    ws::expect_op(&mut speaker, 1000).await; // its own message

    ws::send(
        &mut guest,
        json!({"op": 4, "seq": 2, "body": {"text": "me too"}}),
    )
    .await;
    let e = ws::expect_op(&mut guest, 24).await;
    assert_eq!(e["body"]["code"], "sign_in_required");
    assert!(
        ws::sees_op_within(&mut speaker, 1000, Duration::from_millis(300))
            .await
            .is_none(),
        "a guest's message reached the room"
    );

    // A guest must name a room.
    let mut lost = ws::open(&s).await;
    ws::send(
        &mut lost,
        json!({"op": 7, "seq": 1, "body": {"guest": true}}),
    )
    .await;
    let e = ws::expect_op(&mut lost, 24).await;
    assert_eq!(e["body"]["code"], "bad_body");
    s.stop().await;
}

#[tokio::test]
async fn ended_web_sessions_are_pruned_a_day_later() {
    each_backend!(|s| {
        s.register("pruned").await;
        let (cookie, csrf) = web_sign_in(&s, "pruned", "password-123").await;
        let (kept, _) = web_sign_in(&s, "pruned", "password-123").await;
        let (status, _) = with_cookie(
            &s,
            Method::DELETE,
            "/api/v1/web/session",
            &cookie,
            Some(&csrf),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let state = s.app_state().await;
        let now = kit::time::now_ms();
        assert_eq!(
            app::web::session::prune(state.identity(), now)
                .await
                .unwrap(),
            0
        );
        let later = now + 86_400_000 + 1_000;
        assert_eq!(
            app::web::session::prune(state.identity(), later)
                .await
                .unwrap(),
            1
        );
        // The live one is untouched.
        let (status, _) =
            with_cookie(&s, Method::GET, "/api/v1/web/session", &kept, None, None).await;
        assert_eq!(status, StatusCode::OK);
        state.store().close().await;
    });
}

#[tokio::test]
async fn video_moderation_is_audited_too() {
    each_backend!(|s| {
        let admin = s.admin_token("video_boss").await;
        let author = s.register("video_author").await;
        let state = s.app_state().await;
        let id = common::seed::video(&state, author.id, common::seed::Seed::titled("clip")).await;
        state.store().close().await;
        for action in ["hide", "unhide"] {
            let (status, body) = s
                .post(
                    &format!("/api/v1/admin/videos/{id}/{action}"),
                    Some(&admin),
                    json!({}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (_, audit) = s
            .get("/api/v1/admin/audit?action=video", Some(&admin))
            .await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["video.unhide", "video.hide"]);
        assert_eq!(audit["items"][0]["target"], format!("video:{id}"));
    });
}

/// A page nobody serves is an HTML 404 a person can leave; the API, the push APIs,
/// media and the ops endpoints keep answering JSON; `/favicon.ico` is the site's icon.
#[tokio::test]
async fn unknown_pages_answer_a_page_and_the_api_answers_json() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    for path in ["/register", "/feed", "/no/such/page"] {
        let res = s.client.get(s.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        assert!(res.headers().contains_key("content-security-policy"));
        let body = res.text().await.unwrap();
        assert!(
            body.contains("Page not found") && body.contains("href=\"/\""),
            "{body}"
        );
    }
    for path in ["/api/v1/nope", "/api", "/goim/nope", "/live/nope/x.m3u8x"] {
        let res = s.client.get(s.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("application/json"), "{path}: {kind}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"]["code"].is_string(), "{path}: {body}");
    }
    let res = s.client.get(s.url("/favicon.ico")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    s.stop().await;
}

/// The pages' files: gzip for a browser that takes it, plain for one that does not,
/// the same ETag either way, and 304 with no body for a copy that is current.
#[tokio::test]
async fn assets_are_compressed_and_revalidated() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let url = s.url("/assets/vendor/mpegts.js");
    let plain = s.client.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(plain.headers().get("content-encoding").is_none());
    let etag = plain.headers()["etag"].clone();
    let plain_len = plain.bytes().await.unwrap().len();

    let zipped = s
        .client
        .get(&url)
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "accept-encoding");
    assert_eq!(zipped.headers()["etag"], etag);
    let zipped_len = zipped.bytes().await.unwrap().len();
    assert!(
        zipped_len * 2 < plain_len,
        "{zipped_len} bytes zipped of {plain_len}"
    );

    let again = s
        .client
        .get(&url)
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"], etag);
    assert!(again.bytes().await.unwrap().is_empty());

    // Our own files are revalidated on every use.
    let css = s.client.get(s.url("/assets/app.css")).send().await.unwrap();
    assert_eq!(css.headers()["cache-control"], "no-cache");
    assert!(css.headers().contains_key("etag"));
    s.stop().await;
}
