//! A hard crash in the middle of a gift storm: the `momo` binary is killed with SIGKILL
//! while senders are paying for gifts, and started again on the same data. Afterwards the
//! ledger must still balance, every gift that was answered must still be there, every
//! request whose answer was lost must be charged at most once when retried with its key,
//! and a job that came due while the server was down must run.

use crate::common;

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use media::client::rtmp::RtmpPublisher;
use media::frame::{Frame, FrameKind};
use reqwest::StatusCode;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_momo");
const PRICE: i64 = 3;
const FUNDS: i64 = 3000;
const SENDERS: usize = 8;

fn start(dir: &str, database_url: Option<&str>) -> common::process::Server {
    let mut envs = vec![
        ("MOMO_ECONOMY__ORDER_TTL_SECS", "4"),
        ("MOMO_ECONOMY__DEV_PAYMENTS", "true"),
    ];
    if let Some(url) = database_url {
        envs.push(("MOMO_DATABASE_URL", url));
    }
    common::process::start(dir, &envs)
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Result<(StatusCode, Value)> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(Duration::from_secs(20));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status();
        let bytes = res.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
            .expect("request")
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, token, None)
            .await
            .expect("request")
    }

    async fn register(&self, name: &str) -> (i64, String) {
        let (status, body) = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({"username": name, "password": "password-123"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["user"]["id"].as_i64().unwrap(),
            body["access_token"].as_str().unwrap().to_string(),
        )
    }
}

/// Publishes a tiny H.264 stream until the connection breaks.
async fn publish(addr: String, key: String) {
    let Ok(mut p) = RtmpPublisher::connect(addr.as_str(), "live", &key).await else {
        return;
    };
    let header = Frame {
        kind: FrameKind::Video,
        timestamp: 0,
        payload: bytes::Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0]),
    };
    if p.send(&header).await.is_err() {
        return;
    }
    for n in 0u32.. {
        let f = Frame {
            kind: FrameKind::Video,
            timestamp: n * 40,
            payload: bytes::Bytes::from_static(&[0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]),
        };
        if p.send(&f).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

/// What became of one idempotency key.
#[derive(Debug, Clone)]
enum Fate {
    /// Answered 201 with this gift id and coins.
    Sent(i64, i64),
    /// Refused for want of coins: nothing charged.
    Refused,
    /// No answer (the server died): charged once or not at all; resolved by a retry.
    Unknown(i64),
}

async fn crash_during_a_gift_storm(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let mut args = vec![
        "admin",
        "create",
        "--data-dir",
        &d,
        "--username",
        "boss",
        "--password",
        "very-secret",
    ];
    if let Some(url) = &database_url {
        args.extend(["--database-url", url.as_str()]);
    }
    let out = Command::new(BIN)
        .args(&args)
        .env_remove("MOMO_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let server = start(&d, database_url.as_deref());
    let c = Client {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };
    let (_, login) = c
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "boss", "password": "very-secret"}),
        )
        .await;
    let admin = login["access_token"].as_str().unwrap().to_string();
    let (_, gift) = c
        .post(
            "/api/v1/admin/gifts",
            Some(&admin),
            json!({"name": "Crown", "price_coins": PRICE}),
        )
        .await;
    let gift = gift["id"].as_i64().unwrap();
    let (_, anchor) = c.register("anchor").await;
    let (_, room) = c.post("/api/v1/rooms", Some(&anchor), json!({})).await;
    let room_id = room["id"].as_i64().unwrap();
    let encoder = tokio::spawn(publish(
        server.rtmp.clone(),
        room["stream_key"].as_str().unwrap().to_string(),
    ));
    let mut live = false;
    for _ in 0..250 {
        if c.get(&format!("/api/v1/rooms/{room_id}"), None).await.1["status"] == "live" {
            live = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(live, "the room went live");
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        let (id, token) = c.register(&format!("sender{i}")).await;
        let (status, body) = c
            .post("/api/v1/admin/wallet/adjustments", Some(&admin), json!({"user_id": id, "asset": "coin", "amount": FUNDS, "reason": "crash test", "idempotency_key": format!("fund{i}")}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        senders.push(token);
    }
    // An order nobody pays: its closing job comes due while the server is down.
    let (_, order) = c
        .post(
            "/api/v1/wallet/recharge/orders",
            Some(&senders[0]),
            json!({"package_id": "coins_60"}),
        )
        .await;
    let order_no = order["order_no"].as_str().unwrap().to_string();

    // The storm: every sender pays for gifts as fast as it can until the server dies.
    let fates: Arc<Mutex<Vec<HashMap<String, Fate>>>> =
        Arc::new(Mutex::new(vec![HashMap::new(); SENDERS]));
    let mut storm = Vec::new();
    for (i, token) in senders.iter().enumerate() {
        let (http, base, token, fates) =
            (c.http.clone(), c.base.clone(), token.clone(), fates.clone());
        storm.push(tokio::spawn(async move {
            let c = Client { http, base };
            for n in 0.. {
                let count = 1 + n % 4;
                let key = format!("g{n}");
                let res = c
                    .call(
                        reqwest::Method::POST,
                        &format!("/api/v1/rooms/{room_id}/gifts"),
                        Some(&token),
                        Some(json!({"gift_id": gift, "count": count, "idempotency_key": key})),
                    )
                    .await;
                let fate = match res {
                    Ok((StatusCode::CREATED, v)) => {
                        Fate::Sent(v["id"].as_i64().unwrap(), v["coins"].as_i64().unwrap())
                    }
                    Ok((StatusCode::PAYMENT_REQUIRED, _)) => Fate::Refused,
                    Ok((status, v)) => panic!("unexpected {status}: {v}"),
                    Err(_) => {
                        fates.lock().unwrap()[i].insert(key, Fate::Unknown(count));
                        return;
                    }
                };
                fates.lock().unwrap()[i].insert(key, fate);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill_hard();
    for t in storm {
        t.await.unwrap();
    }
    encoder.abort();
    let sent_before: usize = fates
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.values().filter(|f| matches!(f, Fate::Sent(..))).count())
        .sum();
    assert!(
        sent_before > 20,
        "the storm was under way when the server died ({sent_before} gifts)"
    );

    // Back up on the same data.
    let server = start(&d, database_url.as_deref());
    let c = Client {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };
    let (_, login) = c
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "boss", "password": "very-secret"}),
        )
        .await;
    let admin = login["access_token"].as_str().unwrap().to_string();
    let (status, report) = c.get("/api/v1/admin/wallet/audit", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["ok"], true, "after the crash: {report}");

    let fates = fates.lock().unwrap().clone();
    let mut unknown = 0;
    for (i, token) in senders.iter().enumerate() {
        let mut spent = 0;
        for (key, fate) in &fates[i] {
            let path = format!("/api/v1/rooms/{room_id}/gifts");
            let retry = |count: i64| {
                let body = json!({"gift_id": gift, "count": count, "idempotency_key": key});
                c.call(reqwest::Method::POST, &path, Some(token), Some(body))
            };
            match fate {
                // Answered before the crash: still there, and a retry is not charged.
                Fate::Sent(id, coins) => {
                    let (status, v) = retry(coins / PRICE).await.unwrap();
                    assert_eq!(status, StatusCode::OK, "{key}: {v}");
                    assert_eq!(v["id"], *id, "the same gift");
                    spent += coins;
                }
                Fate::Refused => {}
                // Lost in the crash: the retry tells whether it was stored, and charges
                // at most once.
                Fate::Unknown(count) => {
                    unknown += 1;
                    let (status, v) = retry(*count).await.unwrap();
                    match status {
                        StatusCode::OK | StatusCode::CREATED => {
                            spent += v["coins"].as_i64().unwrap()
                        }
                        StatusCode::PAYMENT_REQUIRED => {}
                        other => panic!("{key}: {other} {v}"),
                    }
                }
            }
        }
        let (_, wallet) = c.get("/api/v1/wallet", Some(token)).await;
        assert_eq!(
            wallet["coins"].as_i64().unwrap(),
            FUNDS - spent,
            "sender {i}: every answered gift charged once, nothing else"
        );
    }
    assert!(unknown <= SENDERS);
    let (_, report) = c.get("/api/v1/admin/wallet/audit", Some(&admin)).await;
    assert_eq!(report["ok"], true, "after the retries: {report}");

    // The order's closing job came due while the server was down; it runs now.
    let mut state = Value::Null;
    for _ in 0..200 {
        let (_, o) = c
            .get(
                &format!("/api/v1/wallet/recharge/orders/{order_no}"),
                Some(&senders[0]),
            )
            .await;
        state = o["state"].clone();
        if state == "closed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        state, "closed",
        "the job that was due ran after the restart"
    );
    server.kill_hard();
}

#[tokio::test]
async fn a_hard_crash_in_a_gift_storm_loses_nothing_and_charges_once() {
    crash_during_a_gift_storm(None).await;
    match std::env::var("MOMO_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let (db, name) = common::create_database(&url).await;
            crash_during_a_gift_storm(Some(db)).await;
            common::drop_database(&url, &name).await;
        }
        _ => eprintln!("\n*** SKIPPED: the PostgreSQL run of the crash test. Set MOMO_TEST_POSTGRES_URL to run it. ***\n"),
    }
}
