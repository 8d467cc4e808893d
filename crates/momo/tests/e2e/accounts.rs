//! Accounts end to end: registration, sign-in, token refresh and rotation, logout,
//! login throttling, token forgery, and the admin guard.

use crate::common;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn register_signs_in_and_shows_own_profile() {
    each_backend!(|s| {
        let (status, body) = s
            .post(
                "/api/v1/auth/register",
                None,
                json!({"username": "alice_1", "password": "password-123", "nickname": "Alice"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["user"]["username"], "alice_1");
        assert_eq!(body["user"]["nickname"], "Alice");
        assert_eq!(body["user"]["role"], "user");
        assert_eq!(body["token_type"], "Bearer");
        let token = body["access_token"].as_str().unwrap();
        let (status, me) = s.get("/api/v1/users/me", Some(token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["id"], body["user"]["id"]);
    });
}

#[tokio::test]
async fn usernames_are_unique_regardless_of_case() {
    each_backend!(|s| {
        s.register("Bob").await;
        let (status, body) = s
            .post(
                "/api/v1/auth/register",
                None,
                json!({"username": "bob", "password": "password-123"}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["error"]["code"], "username_taken");
    });
}

#[tokio::test]
async fn login_checks_the_password() {
    each_backend!(|s| {
        s.register("carol").await;
        let login = |password: &'static str| {
            s.post(
                "/api/v1/auth/login",
                None,
                json!({"username": "CAROL", "password": password}),
            )
        };
        let (status, body) = login("wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "invalid_credentials");
        let (status, body) = login("password-123").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["user"]["username"], "carol");
        let (status, body) = s
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "nobody", "password": "password-123"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "invalid_credentials");
    });
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    each_backend!(|s| {
        let u = s.register("dave").await;
        let refresh = |t: &str| s.post("/api/v1/auth/refresh", None, json!({"refresh_token": t}));
        let (status, second) = refresh(&u.refresh).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        let r2 = second["refresh_token"].as_str().unwrap().to_string();
        assert_ne!(r2, u.refresh);
        let (status, _) = s
            .get("/api/v1/users/me", second["access_token"].as_str())
            .await;
        assert_eq!(status, StatusCode::OK);

        // The first token, used again: theft. The family dies, including r2.
        let (status, body) = refresh(&u.refresh).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "refresh_token_reused");
        let (status, body) = refresh(&r2).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "refresh_token_revoked");

        let (status, body) = refresh("rt_not-a-token").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "invalid_refresh_token");
    });
}

#[tokio::test]
async fn concurrent_use_of_one_refresh_token_lets_only_one_win() {
    each_backend!(|s| {
        let u = s.register("erin").await;
        let body = json!({"refresh_token": u.refresh});
        let (a, b) = tokio::join!(
            s.post("/api/v1/auth/refresh", None, body.clone()),
            s.post("/api/v1/auth/refresh", None, body.clone())
        );
        let ok = [a.0, b.0]
            .iter()
            .filter(|st| **st == StatusCode::OK)
            .count();
        assert!(ok <= 1, "both refreshes succeeded: {a:?} {b:?}");
    });
}

#[tokio::test]
async fn logout_revokes_the_session() {
    each_backend!(|s| {
        let u = s.register("frank").await;
        let (status, _) = s
            .post(
                "/api/v1/auth/logout",
                None,
                json!({"refresh_token": u.refresh}),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = s
            .post(
                "/api/v1/auth/refresh",
                None,
                json!({"refresh_token": u.refresh}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "refresh_token_revoked");
        let (status, body) = s
            .post(
                "/api/v1/auth/logout",
                None,
                json!({"refresh_token": "rt_unknown"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "invalid_refresh_token");
    });
}

#[tokio::test]
async fn failed_logins_are_slowed_then_refused_with_retry_after() {
    for backend in common::backends() {
        let s = common::TestServer::start_with(backend, |c| {
            c.app.auth.login_free_failures = 1;
            c.app.auth.login_max_failures = 3;
            c.app.auth.login_lock_secs = 60;
        })
        .await;
        s.register("grace").await;
        let attempt = |password: &'static str| {
            s.post(
                "/api/v1/auth/login",
                None,
                json!({"username": "grace", "password": password}),
            )
        };
        assert_eq!(attempt("wrong-1").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(attempt("wrong-2").await.0, StatusCode::UNAUTHORIZED);
        // Two failures, one free: this attempt waits before it is answered.
        let t = std::time::Instant::now();
        assert_eq!(attempt("wrong-3").await.0, StatusCode::UNAUTHORIZED);
        assert!(t.elapsed() >= Duration::from_millis(200), "not slowed");
        // Three failures: refused, even with the right password.
        let res = s
            .client
            .post(s.url("/api/v1/auth/login"))
            .json(&json!({"username": "grace", "password": "password-123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "retry-after {retry}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "too_many_requests");
        // Other accounts are not locked by grace's failures.
        s.register("heidi").await;
        let (status, _) = s
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "heidi", "password": "password-123"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        s.stop().await;
    }
}

#[tokio::test]
async fn failed_logins_from_one_address_are_refused_across_usernames() {
    for backend in common::backends() {
        let s = common::TestServer::start_with(backend, |c| {
            c.app.auth.login_ip_max_failures = 4;
            c.app.auth.login_max_failures = 100;
        })
        .await;
        for i in 0..4 {
            let (status, _) = s
                .post(
                    "/api/v1/auth/login",
                    None,
                    json!({"username": format!("guess{i}"), "password": "password-123"}),
                )
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, body) = s
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "guess9", "password": "password-123"}),
            )
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        s.stop().await;
    }
}

fn sign(claims: serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn expired_forged_and_unsigned_tokens_are_refused() {
    each_backend!(|s| {
        let u = s.register("ivan").await;
        let now = kit::time::now_secs();
        let sub = u.id.to_string();
        let expired = sign(
            json!({"sub": sub, "role": "user", "iat": now - 7200, "exp": now - 3600, "typ": "access"}),
            common::SECRET,
        );
        let forged = sign(
            json!({"sub": sub, "role": "admin", "iat": now, "exp": now + 600, "typ": "access"}),
            "some-other-secret-that-is-long-enough!!",
        );
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(
            json!({"sub": sub, "role": "admin", "iat": now, "exp": now + 600, "typ": "access"})
                .to_string(),
        );
        let unsigned = format!("{header}.{payload}.");
        let cases = [
            (expired.as_str(), "token_expired"),
            (forged.as_str(), "invalid_token"),
            (unsigned.as_str(), "invalid_token"),
            ("garbage", "invalid_token"),
        ];
        for (token, code) in cases {
            let (status, body) = s.get("/api/v1/users/me", Some(token)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
            assert_eq!(body["error"]["code"], code, "{token}");
        }
        let (status, body) = s.get("/api/v1/users/me", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "missing_token");
        let res = s
            .client
            .get(s.url("/api/v1/users/me"))
            .header("authorization", "Basic dXNlcjpwYXNz")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        // A token signed for an admin with the right key but a user whose row says
        // "user" still does not pass the admin guard.
        let fake_admin = sign(
            json!({"sub": sub, "role": "admin", "iat": now, "exp": now + 600, "typ": "access"}),
            common::SECRET,
        );
        let (status, body) = s.get("/api/v1/admin/users", Some(&fake_admin)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "admin_required");
    });
}

#[tokio::test]
async fn admin_routes_need_the_admin_role() {
    each_backend!(|s| {
        let u = s.register("judy").await;
        let (status, body) = s.get("/api/v1/admin/users", Some(&u.token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "admin_required");
        let (status, _) = s.get("/api/v1/admin/users", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // An admin made the way `momo admin create` makes one.
        let token = s.admin_token("root_admin").await;
        let token = token.as_str();
        let (status, page) = s.get("/api/v1/admin/users?q=jud", Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["items"][0]["username"], "judy");
        assert_eq!(page["items"][0]["role"], "user");
    });
}

/// Signs in as `username` with `password`, as a client behind the local proxy whose
/// `X-Forwarded-For` says `forwarded`.
async fn login_via_proxy(
    s: &common::TestServer,
    forwarded: &str,
    username: &str,
    password: &str,
) -> StatusCode {
    s.client
        .post(s.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_guesser_at_one_address_does_not_lock_the_owner_out() {
    for backend in common::backends() {
        let s = common::TestServer::start_with(backend, |c| {
            c.app.auth.trust_forwarded_for = true;
            c.app.auth.login_free_failures = 1;
            c.app.auth.login_max_failures = 3;
            c.app.auth.login_user_free_failures = 2;
            c.app.auth.login_user_max_delay_ms = 300;
        })
        .await;
        s.register("root_owner").await;
        let attacker = "203.0.113.66";
        for _ in 0..3 {
            let status = login_via_proxy(&s, attacker, "root_owner", "guess-guess").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        // The attacker's address is locked out of this account, even with the password,
        // and a forged leftmost entry does not make it someone else.
        let forged = format!("198.51.100.7, {attacker}");
        for from in [attacker, forged.as_str()] {
            let status = login_via_proxy(&s, from, "root_owner", "password-123").await;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "from {from}");
        }
        // The owner, elsewhere, signs in: slowed (the username has failures), not refused.
        let t = std::time::Instant::now();
        let status = login_via_proxy(&s, "198.51.100.7", "root_owner", "password-123").await;
        assert_eq!(status, StatusCode::OK);
        assert!(t.elapsed() >= Duration::from_millis(200), "not slowed");
        // A success clears the username's slowing.
        let t = std::time::Instant::now();
        let status = login_via_proxy(&s, "198.51.100.7", "root_owner", "password-123").await;
        assert_eq!(status, StatusCode::OK);
        assert!(t.elapsed() < Duration::from_millis(200), "still slowed");
        s.stop().await;
    }
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    for backend in common::backends() {
        // The proxy list does not hold the test client (127.0.0.1): its header is a lie.
        let s = common::TestServer::start_with(backend, |c| {
            c.app.auth.trust_forwarded_for = true;
            c.app.auth.trusted_proxies = vec!["10.9.0.0/16".into()];
            c.app.auth.login_ip_max_failures = 2;
            c.app.auth.login_max_failures = 100;
        })
        .await;
        for i in 0..2 {
            let from = format!("198.51.100.{i}");
            let status = login_via_proxy(&s, &from, &format!("nobody{i}"), "password-123").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        // Both failures counted against 127.0.0.1, whatever the header said.
        let status = login_via_proxy(&s, "198.51.100.99", "nobody9", "password-123").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        s.stop().await;
    }
}

#[tokio::test]
async fn one_address_registers_a_bounded_number_of_accounts() {
    for backend in common::backends() {
        let s = common::TestServer::start_with(backend, |c| {
            c.app.auth.register_per_hour = 2;
        })
        .await;
        let register = |name: &'static str| {
            s.post(
                "/api/v1/auth/register",
                None,
                json!({"username": name, "password": "password-123"}),
            )
        };
        assert_eq!(register("farm_1").await.0, StatusCode::CREATED);
        assert_eq!(register("farm_2").await.0, StatusCode::CREATED);
        let (status, body) = register("farm_3").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["error"]["code"], "too_many_requests");
        s.stop().await;
    }
}

#[tokio::test]
async fn access_tokens_stop_working_at_logout() {
    each_backend!(|s| {
        let u = s.register("leaver").await;
        assert_eq!(
            s.get("/api/v1/users/me", Some(&u.token)).await.0,
            StatusCode::OK
        );
        let (status, _) = s
            .post(
                "/api/v1/auth/logout",
                None,
                json!({"refresh_token": u.refresh}),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = s.get("/api/v1/users/me", Some(&u.token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"]["code"], "token_revoked");
        // Signing in again gives a token that works.
        let (status, body) = s
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "leaver", "password": "password-123"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(
            s.get("/api/v1/users/me", Some(token)).await.0,
            StatusCode::OK
        );
    });
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    each_backend!(|s| {
        let phone = s.register("changer").await;
        let (_, laptop) = s
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "changer", "password": "password-123"}),
            )
            .await;
        let laptop_token = laptop["access_token"].as_str().unwrap().to_string();
        let laptop_refresh = laptop["refresh_token"].as_str().unwrap().to_string();
        // The old password is required, and checked.
        let (status, body) = s
            .post(
                "/api/v1/auth/password",
                Some(&phone.token),
                json!({"old_password": "not-it-at-all", "new_password": "new-password-456"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "wrong_password");
        let (status, body) = s
            .post(
                "/api/v1/auth/password",
                Some(&phone.token),
                json!({"old_password": "password-123", "new_password": "short"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, pair) = s
            .post(
                "/api/v1/auth/password",
                Some(&phone.token),
                json!({"old_password": "password-123", "new_password": "new-password-456"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{pair}");
        // Every token from before is dead: both devices' access and refresh tokens.
        for token in [&phone.token, &laptop_token] {
            let (status, body) = s.get("/api/v1/users/me", Some(token)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        }
        for refresh in [&phone.refresh, &laptop_refresh] {
            let (status, _) = s
                .post(
                    "/api/v1/auth/refresh",
                    None,
                    json!({"refresh_token": refresh}),
                )
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        // The pair the change answered works; so does the new password, not the old.
        let token = pair["access_token"].as_str().unwrap();
        assert_eq!(
            s.get("/api/v1/users/me", Some(token)).await.0,
            StatusCode::OK
        );
        let login = |password: &'static str| {
            s.post(
                "/api/v1/auth/login",
                None,
                json!({"username": "changer", "password": password}),
            )
        };
        assert_eq!(login("password-123").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(login("new-password-456").await.0, StatusCode::OK);
    });
}

#[tokio::test]
async fn a_demoted_admin_loses_admin_rights_before_the_token_expires() {
    each_backend!(|s| {
        let root = s.admin_token("root").await;
        let deputy = s.admin_token("deputy").await;
        let anchor = s.register("anchor_d").await;
        let (status, room) = s
            .post("/api/v1/rooms", Some(&anchor.token), json!({"title": "t"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{room}");
        let sessions = format!("/api/v1/rooms/{}/sessions", room["id"]);
        assert_eq!(s.get(&sessions, Some(&deputy)).await.0, StatusCode::OK);
        let (_, me) = s.get("/api/v1/users/me", Some(&deputy)).await;
        let (status, body) = s
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/admin/users/{}/role", me["id"]),
                Some(&root),
                Some(json!({"role": "user"})),
            )
            .await;
        assert!(status.is_success(), "{status} {body}");
        // The token still says "admin"; the account does not.
        let (status, body) = s.get(&sessions, Some(&deputy)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    });
}
