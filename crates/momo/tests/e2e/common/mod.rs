//! The end-to-end harness: a real momo node on an ephemeral port, driven over HTTP.
//!
//! Every scenario runs on SQLite (a fresh file per server) and, when
//! `MOMO_TEST_POSTGRES_URL` names a PostgreSQL server, again on PostgreSQL (a fresh
//! database per server, dropped afterwards). Without that variable the PostgreSQL runs
//! are skipped, and say so loudly.

#![allow(dead_code)]

pub mod cutoff;
pub mod process;
pub mod seed;
pub mod services;
pub mod videos;
pub mod ws;

use std::sync::atomic::{AtomicU64, Ordering};

use momo::config::Overrides;
use momo::serve::Running;
use momo::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use store::sqlx::{self, Connection};

pub const SECRET: &str = "momo-test-secret-0123456789abcdefghijklmnop";

/// Which database a test server uses.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

/// SQLite always; PostgreSQL when `MOMO_TEST_POSTGRES_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    match std::env::var("MOMO_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => v.push(Backend::Postgres(url)),
        _ => eprintln!(
            "\n*** SKIPPED: the PostgreSQL run of this test. Set \
             MOMO_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test to run it. ***\n"
        ),
    }
    v
}

/// A running server and a client for it.
pub struct TestServer {
    pub base: String,
    /// `rtmp://127.0.0.1:PORT/live`
    pub rtmp_base: String,
    pub backend: Backend,
    pub client: reqwest::Client,
    running: Option<Running>,
    dir: tempfile::TempDir,
    pg_db: Option<(String, String)>,
    database_url: Option<String>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a server whose config `tweak` may change first.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::load(None, &Overrides::default()).expect("default config");
        config.data_dir = dir.path().to_path_buf();
        config.http = "127.0.0.1:0".into();
        config.rtmp = "127.0.0.1:0".into();
        config.media.webrtc_udp = "127.0.0.1:0".into();
        config.app.auth.jwt_secret = Some(SECRET.into());
        config.shutdown_grace_secs = 5;
        // The scenarios buy coins through the development provider (off by default).
        config.app.economy.dev_payments = true;
        // Every scenario registers its users from 127.0.0.1.
        config.app.auth.register_per_hour = 100_000;
        // Some scenarios send hundreds of conversation messages at once; one test
        // checks the limit.
        config.chat.conversation_send_per_sec = 100_000;
        let mut pg_db = None;
        if let Backend::Postgres(url) = &backend {
            let (db_url, name) = create_database(url).await;
            config.database_url = Some(db_url);
            pg_db = Some((url.clone(), name));
        }
        tweak(&mut config);
        let database_url = config.database_url.clone();
        let running = momo::serve::start(config, std::future::pending())
            .await
            .expect("server starts");
        TestServer {
            base: format!("http://{}", running.http_addr),
            rtmp_base: format!("rtmp://{}/live", running.rtmp_addr),
            backend,
            client: reqwest::Client::new(),
            running: Some(running),
            dir,
            pg_db,
            database_url,
        }
    }

    /// The server's chat gateway, to push from the test as the rest of momo does.
    pub fn gateway(&self) -> std::sync::Arc<im::gateway::Gateway> {
        self.running.as_ref().expect("running").gateway.clone()
    }

    /// Where goim's plain-TCP chat transport listens, when the config turned it on.
    pub fn chat_tcp_addr(&self) -> Option<std::net::SocketAddr> {
        self.running.as_ref().expect("running").chat_tcp_addr
    }

    /// The server's media hub, to publish from the test without an encoder.
    pub fn hub(&self) -> std::sync::Arc<media::hub::Hub> {
        self.running.as_ref().expect("running").hub.clone()
    }

    /// Makes `room` live as its encoder would (a publisher on the hub) and waits until
    /// the room says so. The stream lasts as long as the returned publisher.
    pub async fn go_live(&self, room: i64) -> media::hub::Publisher {
        let publisher = self
            .hub()
            .publish(&room.to_string())
            .expect("room can publish");
        for _ in 0..200 {
            let (_, body) = self.get(&format!("/api/v1/rooms/{room}"), None).await;
            if body["status"] == "live" {
                return publisher;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("room {room} did not go live");
    }

    /// Calls with `method` and no body.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, token, None).await
    }

    /// The database URL the server uses (`None`: the data dir's SQLite file).
    pub fn database_url(&self) -> Option<String> {
        self.database_url.clone()
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let res = self.client.get(self.url("/metrics")).send().await;
        res.expect("/metrics answers")
            .text()
            .await
            .expect("/metrics text")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a JSON request; returns the status and the parsed body (`null` if empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let bytes = res.bytes().await.expect("body read");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!("{path}: non-JSON body: {}", String::from_utf8_lossy(&bytes))
            })
        };
        (status, value)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Registers `username` (password `password-123`); returns the new user.
    pub async fn register(&self, username: &str) -> User {
        let (status, body) = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({"username": username, "password": "password-123"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "register {username}: {body}");
        User {
            id: body["user"]["id"].as_i64().unwrap(),
            token: body["access_token"].as_str().unwrap().to_string(),
            refresh: body["refresh_token"].as_str().unwrap().to_string(),
        }
    }

    /// Creates an admin the way `momo admin create` does (straight into the database)
    /// and signs them in; returns their access token.
    pub async fn admin_token(&self, username: &str) -> String {
        let mut c = Config::load(None, &Overrides::default()).expect("default config");
        c.data_dir = self.data_dir().to_path_buf();
        c.database_url = self.database_url();
        c.app.auth.jwt_secret = Some(SECRET.into());
        let state = momo::serve::open(&c).await.expect("open the database");
        app::accounts::create_admin::create_admin(
            state.identity(),
            username,
            "admin-password",
            None,
        )
        .await
        .expect("create admin");
        state.store().close().await;
        let (status, body) = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": username, "password": "admin-password"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "admin login: {body}");
        assert_eq!(body["user"]["role"], "admin");
        body["access_token"].as_str().unwrap().to_string()
    }

    /// The application state over the server's database, wired to the server's chat
    /// gateway: for calling use cases that have no route (as other parts of momo do).
    pub async fn app_state(&self) -> app::AppState {
        let mut c = Config::load(None, &Overrides::default()).expect("default config");
        c.data_dir = self.data_dir().to_path_buf();
        c.database_url = self.database_url();
        c.app.auth.jwt_secret = Some(SECRET.into());
        // Another node of the same cluster: same database, same bus.
        let bus = self.running.as_ref().expect("running").bus.clone();
        let state = momo::serve::open_on(&c, bus)
            .await
            .expect("open the database");
        state.set_chat(self.gateway());
        state
    }

    /// Every account, as the admin list shows them (usernames, newest first).
    pub async fn all_usernames(&self, admin_token: &str) -> Vec<String> {
        let (status, page) = self
            .get("/api/v1/admin/users?limit=100", Some(admin_token))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect()
    }

    /// Stops the server and drops its PostgreSQL database.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("server stops cleanly");
        }
        if let Some((url, name)) = self.pg_db.take() {
            drop_database(&url, &name).await;
        }
    }
}

/// A registered user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub token: String,
    pub refresh: String,
}

/// Runs `scenario` once per backend, each on a fresh server.
#[macro_export]
macro_rules! each_backend {
    (|$s:ident| $body:block) => {
        for backend in common::backends() {
            let $s = common::TestServer::start(backend).await;
            $body
            $s.stop().await;
        }
    };
}

/// Creates a fresh PostgreSQL database on the server of `url`; returns its URL and name.
pub async fn create_database(url: &str) -> (String, String) {
    let name = format!(
        "momo_t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        kit::time::now_ms() % 1_000_000
    );
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (prefix, _) = url.rsplit_once('/').expect("database URL has a path");
    (format!("{prefix}/{name}"), name)
}

/// Drops database `name` on the server of `url`, whoever is still connected.
pub async fn drop_database(url: &str, name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

/// Waits until no notice request (a `notices.deliver` job) is waiting or running: the notices
/// asked for so far are in their inboxes (or failed for good).
pub async fn notices_delivered(state: &app::AppState) {
    for _ in 0..500 {
        let pending: i64 = store::sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state IN ('queued', 'running')",
        )
        .bind("notices.deliver")
        .fetch_one(state.store().pool())
        .await
        .expect("count notice requests");
        if pending == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("notice requests still pending after 10 s");
}
