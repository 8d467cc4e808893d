//! Bad input of every kind gets its precise 4xx in the JSON error shape, writes
//! nothing, and leaves the server serving.

use crate::common;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn raw_post(
    s: &common::TestServer,
    path: &str,
    ctype: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let res = s
        .client
        .post(s.url(path))
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .expect("sent");
    let status = res.status();
    let body: Value = res.json().await.expect("a JSON error body");
    (status, body)
}

#[tokio::test]
async fn malformed_bodies_get_precise_errors_and_write_nothing() {
    each_backend!(|s| {
        let admin = s.admin_token("ops_admin").await;
        let reg = "/api/v1/auth/register";
        let json_ct = "application/json";
        let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
            (
                "text/plain",
                br#"{"username":"aa1","password":"password-1"}"#.to_vec(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                json_ct,
                b"{\"username\": \"abc\", ".to_vec(),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                json_ct,
                b"{\"username\":\"ab\xff\xfe\",\"password\":\"password-1\"}".to_vec(),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                json_ct,
                vec![b'['; 10_000],
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                json_ct,
                br#"{"username": 12345, "password": "password-1"}"#.to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                json_ct,
                br#"{"username": "abcd"}"#.to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                json_ct,
                br#"["abcd", "password-1"]"#.to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                json_ct,
                br#"{"username":"abcd","password":"password-1","role":"admin"}"#.to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                json_ct,
                format!(
                    r#"{{"username":"{}","password":"password-1"}}"#,
                    "u".repeat(33)
                )
                .into_bytes(),
                StatusCode::BAD_REQUEST,
                "validation_failed",
            ),
            (
                json_ct,
                format!(r#"{{"username":"abcd","password":"{}"}}"#, "p".repeat(129)).into_bytes(),
                StatusCode::BAD_REQUEST,
                "validation_failed",
            ),
            (
                json_ct,
                br#"{"username":"abcd","password":"short"}"#.to_vec(),
                StatusCode::BAD_REQUEST,
                "validation_failed",
            ),
            (
                json_ct,
                br#"{"username":"x'; DROP TABLE users;--","password":"password-1"}"#.to_vec(),
                StatusCode::BAD_REQUEST,
                "validation_failed",
            ),
            (
                json_ct,
                format!(
                    r#"{{"username":"abcd","password":"password-1","nickname":"{}"}}"#,
                    "n".repeat(33)
                )
                .into_bytes(),
                StatusCode::BAD_REQUEST,
                "validation_failed",
            ),
            (
                json_ct,
                vec![b' '; 2 * 1024 * 1024],
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
        ];
        for (ctype, body, status, code) in cases {
            let preview = String::from_utf8_lossy(&body[..body.len().min(60)]).to_string();
            let (got, err) = raw_post(&s, reg, ctype, body).await;
            assert_eq!(got, status, "{preview} -> {err}");
            assert_eq!(err["error"]["code"], code, "{preview} -> {err}");
            assert!(err["error"]["message"].is_string());
        }
        // Field-level messages name the fields.
        let (_, err) = s
            .post(reg, None, json!({"username": "a b", "password": "short"}))
            .await;
        assert!(err["error"]["fields"]["username"].is_string(), "{err}");
        assert!(err["error"]["fields"]["password"].is_string(), "{err}");
        let (_, err) = s
            .post(reg, None, json!({"username": 5, "password": "password-1"}))
            .await;
        assert!(err["error"]["fields"]["username"].is_string(), "{err}");

        assert_eq!(
            s.all_usernames(&admin).await,
            vec!["ops_admin"],
            "nothing written"
        );

        // SQL-looking text where text is allowed is stored as text, and harms nothing.
        let nick = "Robert'); DROP TABLE users;--";
        let (status, body) = s
            .post(
                reg,
                None,
                json!({"username": "bobby", "password": "password-1", "nickname": nick}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["user"]["nickname"], nick);
        assert_eq!(s.all_usernames(&admin).await, vec!["bobby", "ops_admin"]);
        let (status, _) = s.get("/healthz", None).await;
        assert_eq!(status, StatusCode::OK);
    });
}

#[tokio::test]
async fn unknown_routes_methods_and_parameters_answer_in_json() {
    each_backend!(|s| {
        let (status, body) = s.get("/api/v1/nope", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "not_found");
        let (status, body) = s.call(Method::PUT, "/api/v1/auth/login", None, None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["error"]["code"], "method_not_allowed");
        s.register("someone").await;
        let (status, body) = s.get("/api/v1/users/1/followers?limit=abc", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "invalid_query", "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("limit"),
            "{body}"
        );
        let (status, body) = s.get("/api/v1/users/99999999999999999999999", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "invalid_id");
    });
}

#[tokio::test]
async fn garbage_on_the_socket_does_not_stop_the_server() {
    each_backend!(|s| {
        let addr = s.base.trim_start_matches("http://").to_string();
        for junk in [
            &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
            b"GET / HTTP/9.9\r\n\r\n",
            b"POST /api/v1/auth/login HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
            b"\r\n\r\n\r\n",
        ] {
            let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
            conn.write_all(junk).await.unwrap();
            let mut buf = Vec::new();
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(1),
                conn.read_to_end(&mut buf),
            )
            .await;
        }
        let (status, _) = s.get("/healthz", None).await;
        assert_eq!(status, StatusCode::OK);
        s.register("still_here").await;
    });
}
