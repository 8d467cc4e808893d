//! The gift economy end to end: recharges through the signed development provider,
//! gifts paid from the wallet's ledger, rankings, withdrawals, and the ledger's audit after
//! a storm of concurrent gifts — on SQLite and, when configured, PostgreSQL.

use crate::common;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use common::TestServer;

/// Creates a gift of `price` coins as `admin`; returns its id.
async fn create_gift(s: &TestServer, admin: &str, name: &str, price: i64) -> i64 {
    let (status, gift) = s
        .post(
            "/api/v1/admin/gifts",
            Some(admin),
            json!({"name": name, "price_coins": price, "icon_url": "/static/rose.png", "kind": "normal"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{gift}");
    gift["id"].as_i64().unwrap()
}

/// Creates `token`'s room; returns its id.
async fn create_room(s: &TestServer, token: &str) -> i64 {
    let (status, room) = s.post("/api/v1/rooms", Some(token), json!({})).await;
    assert!(status.is_success(), "{room}");
    room["id"].as_i64().unwrap()
}

/// Gives `user` `amount` of `asset` through an operator's adjustment.
async fn give(s: &TestServer, admin: &str, user: i64, asset: &str, amount: i64) {
    let (status, body) = s
        .post(
            "/api/v1/admin/wallet/adjustments",
            Some(admin),
            json!({"user_id": user, "asset": asset, "amount": amount, "reason": "test funds",
                   "idempotency_key": format!("fund-{user}-{asset}-{amount}-{}", kit::time::now_ms())}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn wallet(s: &TestServer, token: &str) -> Value {
    let (status, w) = s.get("/api/v1/wallet", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{w}");
    w
}

async fn audit(s: &TestServer, admin: &str) -> Value {
    let (status, report) = s.get("/api/v1/admin/wallet/audit", Some(admin)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["ok"], true, "ledger audit failed: {report}");
    report
}

async fn send_gift(s: &TestServer, token: &str, room: i64, body: Value) -> (StatusCode, Value) {
    s.post(&format!("/api/v1/rooms/{room}/gifts"), Some(token), body)
        .await
}

#[tokio::test]
async fn gifts_are_paid_once_ranked_and_refused_precisely() {
    for backend in common::backends() {
        let s = TestServer::start_with(backend, |c| c.media.grace_secs = 0).await;
        let admin = s.admin_token("boss").await;
        let rose = create_gift(&s, &admin, "Rose", 10).await;
        let anchor = s.register("anchor").await;
        let fan = s.register("fan").await;
        let room = create_room(&s, &anchor.token).await;

        // Coins through the development provider: order, pay, credited.
        let (status, packages) = s.get("/api/v1/wallet/recharge/packages", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(packages[0]["id"], "coins_60");
        let (status, order) = s
            .post(
                "/api/v1/wallet/recharge/orders",
                Some(&fan.token),
                json!({"package_id": "coins_60"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{order}");
        assert_eq!(order["state"], "created");
        let order_no = order["order_no"].as_str().unwrap();
        assert!(order["pay_url"].as_str().unwrap().ends_with(order_no));
        let (status, paid) = s
            .post(
                &format!("/api/v1/payments/dev/checkout/{order_no}"),
                Some(&fan.token),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{paid}");
        assert_eq!(paid["state"], "credited");
        let (status, again) = s
            .post(
                &format!("/api/v1/payments/dev/checkout/{order_no}"),
                Some(&fan.token),
                json!({}),
            )
            .await;
        assert_eq!(
            (status, &again["error"]["code"]),
            (StatusCode::CONFLICT, &json!("already_processed"))
        );
        assert_eq!(wallet(&s, &fan.token).await["coins"], 60);

        // Offline room: refused, nothing charged.
        let gift = |count: i64, key: &str| json!({"gift_id": rose, "count": count, "idempotency_key": key});
        let (status, err) = send_gift(&s, &fan.token, room, gift(1, "k0")).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::CONFLICT, &json!("room_offline"))
        );

        let publisher = s.go_live(room).await;
        let (status, sent) = send_gift(&s, &fan.token, room, gift(2, "k1")).await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
        assert_eq!(
            (
                sent["coins"].as_i64(),
                sent["diamonds"].as_i64(),
                sent["coins_left"].as_i64()
            ),
            (Some(20), Some(20), Some(40))
        );
        // A retry is answered the same and charged nothing.
        let (status, retry) = send_gift(&s, &fan.token, room, gift(2, "k1")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(retry["id"], sent["id"]);
        assert_eq!(wallet(&s, &fan.token).await["coins"], 40);
        // The same key for something else is refused.
        let (status, err) = send_gift(&s, &fan.token, room, gift(3, "k1")).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::CONFLICT, &json!("idempotency_key_reused"))
        );

        // Too few coins: 402, and the ledger does not move.
        let (_, before) = s.get("/api/v1/wallet/ledger", Some(&fan.token)).await;
        let (status, err) = send_gift(&s, &fan.token, room, gift(5, "k2")).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::PAYMENT_REQUIRED, &json!("insufficient_coins"))
        );
        let (_, after) = s.get("/api/v1/wallet/ledger", Some(&fan.token)).await;
        assert_eq!(before, after);
        // ... and the key stays free for a request that can be paid.
        let (status, _) = send_gift(&s, &fan.token, room, gift(4, "k2")).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(wallet(&s, &fan.token).await["coins"], 0);

        // Bad requests, each with its own code.
        let (status, err) = send_gift(&s, &anchor.token, room, gift(1, "self")).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::BAD_REQUEST, &json!("cannot_gift_self"))
        );
        for count in [0, -1, 10_000] {
            let (status, err) = send_gift(&s, &fan.token, room, gift(count, "bad")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{count}: {err}");
            assert!(err["error"]["fields"]["count"].is_string(), "{err}");
        }
        let (status, err) = send_gift(
            &s,
            &fan.token,
            room,
            json!({"gift_id": 999_999, "count": 1, "idempotency_key": "x"}),
        )
        .await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::NOT_FOUND, &json!("gift_not_found"))
        );
        let (status, err) = send_gift(&s, &fan.token, 999_999, gift(1, "x")).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::NOT_FOUND, &json!("room_not_found"))
        );
        let (status, _) = send_gift(
            &s,
            &fan.token,
            room,
            json!({"gift_id": rose, "count": "1", "idempotency_key": "x"}),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a count that is not a number"
        );
        let (status, err) = send_gift(&s, &fan.token, room, gift(1, "")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        // A retired gift can no longer be sent.
        let (status, _) = s
            .delete(&format!("/api/v1/admin/gifts/{rose}"), Some(&admin))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, catalogue) = s.get("/api/v1/gifts", None).await;
        assert!(catalogue
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["id"] != rose));
        give(&s, &admin, fan.id, "coin", 10).await;
        let (status, err) = send_gift(&s, &fan.token, room, gift(1, "k9")).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::NOT_FOUND, &json!("gift_not_found"))
        );

        // The anchor got the diamonds; rankings show who gave.
        let w = wallet(&s, &anchor.token).await;
        assert_eq!(
            (w["diamonds"].as_i64(), w["coins"].as_i64()),
            (Some(60), Some(0))
        );
        for period in ["session", "day", "week", "all"] {
            let (status, r) = s
                .get(
                    &format!("/api/v1/rooms/{room}/rankings?period={period}"),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{r}");
            assert_eq!(r["items"][0]["user_id"], fan.id, "{period}: {r}");
            assert_eq!(r["items"][0]["coins"], 60, "{period}: {r}");
        }
        let (_, anchors) = s.get("/api/v1/rankings/anchors?period=week", None).await;
        assert_eq!(anchors["items"][0]["user_id"], anchor.id, "{anchors}");
        let (status, _) = s.get("/api/v1/rankings/anchors?period=session", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = s
            .get(&format!("/api/v1/rooms/{room}/rankings?period=year"), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Operators see gifts, orders and the job queue in the metrics.
        let metrics = s.metrics().await;
        for name in [
            "gifts_sent_total",
            "gift_coins_total",
            "wallet_orders_total",
            "jobs_queued",
            "jobs_running",
            "jobs_failed",
        ] {
            assert!(metrics.contains(name), "/metrics lacks {name}");
        }

        // The fan's ledger: the recharge, two gifts and the adjustment, newest first.
        let (_, ledger) = s
            .get("/api/v1/wallet/ledger?asset=coin", Some(&fan.token))
            .await;
        let kinds: Vec<&str> = ledger["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["adjustment", "gift", "gift", "recharge"]);
        audit(&s, &admin).await;

        // The anchor's inbox tells of the gifts, added up per sender and gift.
        let mut received = 0;
        for _ in 0..100 {
            let (_, inbox) = s.get("/api/v1/notifications", Some(&anchor.token)).await;
            received = inbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["kind"] == "gift")
                .map(|n| {
                    assert_eq!(n["actor_id"], fan.id, "{n}");
                    assert_eq!(n["payload"]["gift_name"], "Rose", "{n}");
                    n["payload"]["count"].as_i64().unwrap()
                })
                .sum::<i64>();
            if received == 6 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(received, 6, "two gifts of 2 and 4 roses");

        // The live session records its income when it ends; a retry still gets its answer.
        drop(publisher);
        for _ in 0..600 {
            if s.get(&format!("/api/v1/rooms/{room}"), None).await.1["status"] == "offline" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (status, again) = send_gift(&s, &fan.token, room, gift(2, "k1")).await;
        assert_eq!(
            (status, &again["id"]),
            (StatusCode::OK, &sent["id"]),
            "{again}"
        );
        let report = audit(&s, &admin).await;
        assert_eq!(report["gift_coins"], json!([60, 60]));
        s.stop().await;
    }
}

#[tokio::test]
async fn payment_callbacks_must_be_signed_fresh_and_new() {
    each_backend!(|s| {
        let buyer = s.register("buyer").await;
        let (_, order) = s
            .post(
                "/api/v1/wallet/recharge/orders",
                Some(&buyer.token),
                json!({"package_id": "coins_300"}),
            )
            .await;
        let order_no = order["order_no"].as_str().unwrap().to_string();
        let secret = app::wallet::payments::dev_secret(None, common::SECRET.as_bytes());
        let provider = app::wallet::payments::DevProvider::new(&secret, 300);
        let callback = |body: Value, signature: String| {
            let s = &s;
            async move {
                let res = s
                    .client
                    .post(s.url("/api/v1/payments/dev/callback"))
                    .header("x-momo-signature", signature)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                (status, res.json::<Value>().await.unwrap())
            }
        };
        let notice = json!({"order_no": order_no, "provider_txn": "pay-1", "amount_cents": 3000, "currency": "CNY"});
        let now = kit::time::now_secs();
        let sign = |body: &Value, t: i64| provider.sign(t, body.to_string().as_bytes());

        let forged = app::wallet::payments::DevProvider::new(b"not the secret", 300)
            .sign(now, notice.to_string().as_bytes());
        let (status, err) = callback(notice.clone(), forged).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::UNAUTHORIZED, &json!("bad_signature"))
        );
        let (status, err) = callback(notice.clone(), sign(&notice, now - 3600)).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::UNAUTHORIZED, &json!("callback_expired"))
        );
        let cheap = json!({"order_no": order_no, "provider_txn": "pay-1", "amount_cents": 1, "currency": "CNY"});
        let (status, err) = callback(cheap.clone(), sign(&cheap, now)).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::BAD_REQUEST, &json!("amount_mismatch"))
        );
        let unknown = json!({"order_no": "R0", "provider_txn": "pay-x", "amount_cents": 3000, "currency": "CNY"});
        let (status, _) = callback(unknown.clone(), sign(&unknown, now)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let junk = json!({"hello": 1});
        let (status, err) = callback(junk.clone(), sign(&junk, now)).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::BAD_REQUEST, &json!("invalid_callback"))
        );
        assert_eq!(
            wallet(&s, &buyer.token).await["coins"],
            0,
            "nothing credited by bad callbacks"
        );

        let (status, paid) = callback(notice.clone(), sign(&notice, now)).await;
        assert_eq!(status, StatusCode::OK, "{paid}");
        assert_eq!(paid["state"], "credited");
        // The same callback again (a replay), or re-signed: refused, credited once.
        for t in [now, now + 1] {
            let (status, err) = callback(notice.clone(), sign(&notice, t)).await;
            assert_eq!(
                (status, &err["error"]["code"]),
                (StatusCode::CONFLICT, &json!("already_processed"))
            );
        }
        assert_eq!(wallet(&s, &buyer.token).await["coins"], 300);
        let (status, view) = s
            .get(
                &format!("/api/v1/wallet/recharge/orders/{order_no}"),
                Some(&buyer.token),
            )
            .await;
        assert_eq!(
            (status, &view["state"]),
            (StatusCode::OK, &json!("credited"))
        );
        let other = s.register("other").await;
        let (status, _) = s
            .get(
                &format!("/api/v1/wallet/recharge/orders/{order_no}"),
                Some(&other.token),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "orders are private");
        let (status, err) = s
            .post(
                "/api/v1/wallet/recharge/orders",
                Some(&buyer.token),
                json!({"package_id": "free_money"}),
            )
            .await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::BAD_REQUEST, &json!("unknown_package"))
        );
    });
}

#[tokio::test]
async fn unpaid_orders_close_through_the_job_queue() {
    for backend in common::backends() {
        let s = TestServer::start_with(backend, |c| c.app.economy.order_ttl_secs = 1).await;
        let buyer = s.register("late").await;
        let (_, order) = s
            .post(
                "/api/v1/wallet/recharge/orders",
                Some(&buyer.token),
                json!({"package_id": "coins_60"}),
            )
            .await;
        let order_no = order["order_no"].as_str().unwrap().to_string();
        let mut state = Value::Null;
        for _ in 0..100 {
            let (_, view) = s
                .get(
                    &format!("/api/v1/wallet/recharge/orders/{order_no}"),
                    Some(&buyer.token),
                )
                .await;
            state = view["state"].clone();
            if state == "closed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(state, "closed");
        let (status, err) = s
            .post(
                &format!("/api/v1/payments/dev/checkout/{order_no}"),
                Some(&buyer.token),
                json!({}),
            )
            .await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::CONFLICT, &json!("order_closed"))
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn withdrawals_hold_diamonds_until_an_operator_decides() {
    each_backend!(|s| {
        let admin = s.admin_token("boss").await;
        let anchor = s.register("star").await;
        give(&s, &admin, anchor.id, "diamond", 500).await;
        let ask = |diamonds: i64, key: &str| json!({"diamonds": diamonds, "account": "bank 6222", "idempotency_key": key});

        let (status, err) = s
            .post(
                "/api/v1/wallet/withdrawals",
                Some(&anchor.token),
                ask(600, "w0"),
            )
            .await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (
                StatusCode::PAYMENT_REQUIRED,
                &json!("insufficient_diamonds")
            )
        );
        let (status, err) = s
            .post(
                "/api/v1/wallet/withdrawals",
                Some(&anchor.token),
                ask(5, "w0"),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "below the minimum: {err}");

        let (status, first) = s
            .post(
                "/api/v1/wallet/withdrawals",
                Some(&anchor.token),
                ask(300, "w1"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(
            first["balances"],
            json!({"coins": 0, "diamonds": 200, "diamonds_held": 300})
        );
        let (status, again) = s
            .post(
                "/api/v1/wallet/withdrawals",
                Some(&anchor.token),
                ask(300, "w1"),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["withdrawal"]["id"], first["withdrawal"]["id"]);
        let (status, second) = s
            .post(
                "/api/v1/wallet/withdrawals",
                Some(&anchor.token),
                ask(200, "w2"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{second}");
        assert_eq!(wallet(&s, &anchor.token).await["diamonds"], 0);

        let (_, queue) = s.get("/api/v1/admin/withdrawals", Some(&admin)).await;
        assert_eq!(queue["items"].as_array().unwrap().len(), 2);
        let (status, _) = s
            .get("/api/v1/admin/withdrawals", Some(&anchor.token))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let w1 = first["withdrawal"]["id"].as_i64().unwrap();
        let w2 = second["withdrawal"]["id"].as_i64().unwrap();
        let (status, _) = s
            .post(
                &format!("/api/v1/admin/withdrawals/{w1}/approve"),
                Some(&anchor.token),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, paid) = s
            .post(
                &format!("/api/v1/admin/withdrawals/{w1}/approve"),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(
            (status, &paid["state"]),
            (StatusCode::OK, &json!("paid")),
            "{paid}"
        );
        let (status, err) = s
            .post(
                &format!("/api/v1/admin/withdrawals/{w1}/reject"),
                Some(&admin),
                json!({"reason": "oops"}),
            )
            .await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (StatusCode::CONFLICT, &json!("already_decided"))
        );
        let (status, _) = s
            .post(
                &format!("/api/v1/admin/withdrawals/{w2}/reject"),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "a rejection needs a reason"
        );
        let (status, rejected) = s
            .post(
                &format!("/api/v1/admin/withdrawals/{w2}/reject"),
                Some(&admin),
                json!({"reason": "account name does not match"}),
            )
            .await;
        assert_eq!(
            (status, &rejected["state"]),
            (StatusCode::OK, &json!("rejected"))
        );
        let (status, _) = s
            .post(
                "/api/v1/admin/withdrawals/999999/approve",
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        assert_eq!(
            wallet(&s, &anchor.token).await,
            json!({"coins": 0, "diamonds": 200, "diamonds_held": 0})
        );
        let (_, mine) = s
            .get("/api/v1/wallet/withdrawals", Some(&anchor.token))
            .await;
        let states: Vec<&str> = mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["rejected", "paid"]);
        // Operators cannot take below zero either.
        let (status, _) = s
            .post("/api/v1/admin/wallet/adjustments", Some(&admin),
                  json!({"user_id": anchor.id, "asset": "diamond", "amount": -201, "reason": "clawback", "idempotency_key": "claw"}))
            .await;
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
        // The most negative number there is: refused, not a crash (an API fuzzer found it).
        let (status, body) = s
            .post("/api/v1/admin/wallet/adjustments", Some(&admin),
                  json!({"user_id": anchor.id, "asset": "coin", "amount": i64::MIN, "reason": "x", "idempotency_key": "min"}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["error"]["fields"]["amount"].is_string(), "{body}");
        audit(&s, &admin).await;
    });
}

/// Senders gift concurrently, retrying every request once with the same key, until their
/// coins run out; then every balance must equal its ledger, none may be negative, coins
/// spent must equal diamonds earned, and each key must have been charged once.
#[tokio::test]
async fn a_gift_storm_keeps_the_ledger_exact() {
    for backend in common::backends() {
        let s = TestServer::start(backend).await;
        let admin = s.admin_token("boss").await;
        let gift = create_gift(&s, &admin, "Star", 7).await;
        let mut rooms = Vec::new();
        let mut publishers = Vec::new();
        for name in ["anchor_a", "anchor_b"] {
            let a = s.register(name).await;
            let room = create_room(&s, &a.token).await;
            publishers.push(s.go_live(room).await);
            rooms.push((room, a));
        }
        let mut senders = Vec::new();
        for i in 0..6 {
            let u = s.register(&format!("sender{i}")).await;
            give(&s, &admin, u.id, "coin", 200 + i * 13).await;
            senders.push(u);
        }
        let s = std::sync::Arc::new(s);
        let mut tasks = Vec::new();
        // Two tasks per wallet, so the same wallet is debited concurrently.
        for (i, u) in senders.iter().enumerate() {
            for t in 0..2 {
                let s = s.clone();
                let token = u.token.clone();
                let room = rooms[(i + t) % 2].0;
                tasks.push(tokio::spawn(async move {
                    let mut charged = 0i64;
                    for n in 0.. {
                        let count = 1 + (n % 3);
                        let body = json!({"gift_id": gift, "count": count, "idempotency_key": format!("{t}-{n}")});
                        // Every other request is sent twice at once (a client retrying
                        // before its answer came), the rest twice in a row.
                        let ((status, first), (again, second)) = if n % 2 == 0 {
                            tokio::join!(
                                send_gift(&s, &token, room, body.clone()),
                                send_gift(&s, &token, room, body.clone())
                            )
                        } else {
                            let a = send_gift(&s, &token, room, body.clone()).await;
                            (a, send_gift(&s, &token, room, body).await)
                        };
                        let mut statuses = [status, again];
                        statuses.sort();
                        match statuses {
                            [StatusCode::OK, StatusCode::CREATED] => {
                                assert_eq!(first["id"], second["id"], "{first} {second}");
                                charged += first["coins"].as_i64().unwrap();
                            }
                            [StatusCode::PAYMENT_REQUIRED, StatusCode::PAYMENT_REQUIRED] if count == 1 => break,
                            [StatusCode::PAYMENT_REQUIRED, StatusCode::PAYMENT_REQUIRED] => {}
                            other => panic!("unexpected {other:?}: {first} {second}"),
                        }
                    }
                    charged
                }));
            }
        }
        let mut charged = 0;
        for t in tasks {
            charged += t.await.unwrap();
        }
        let s = std::sync::Arc::try_unwrap(s).ok().expect("tasks done");
        let funded: i64 = (0..6).map(|i| 200 + i * 13).sum();
        let mut left = 0;
        for u in &senders {
            let coins = wallet(&s, &u.token).await["coins"].as_i64().unwrap();
            assert!(
                (0..7).contains(&coins),
                "a sender stopped with {coins} coins"
            );
            left += coins;
        }
        assert_eq!(charged + left, funded, "every coin is spent or left, once");
        let mut earned = 0;
        for (_, anchor) in &rooms {
            earned += wallet(&s, &anchor.token).await["diamonds"]
                .as_i64()
                .unwrap();
        }
        assert_eq!(earned, charged, "diamonds earned = coins spent at 100%");
        let report = audit(&s, &admin).await;
        assert_eq!(report["gift_coins"], json!([charged, charged]));
        drop(publishers);
        s.stop().await;
    }
}

/// A fresh install sells six gifts, their icons served by the binary; operators edit or
/// retire them like any other, and no two gifts on sale share a name (in any case).
#[tokio::test]
async fn a_fresh_install_sells_a_default_catalogue_and_names_are_unique() {
    each_backend!(|s| {
        let (status, catalogue) = s.get("/api/v1/gifts", None).await;
        assert_eq!(status, StatusCode::OK);
        let gifts = catalogue.as_array().unwrap().clone();
        let names: Vec<&str> = gifts.iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "Thumbs up",
                "Lollipop",
                "Bouquet",
                "Fireworks",
                "Sports car",
                "Castle"
            ]
        );
        let prices: Vec<i64> = gifts
            .iter()
            .map(|g| g["price_coins"].as_i64().unwrap())
            .collect();
        assert_eq!(prices, [1, 5, 52, 199, 520, 1314]);
        for g in &gifts {
            let icon = g["icon_url"].as_str().unwrap();
            let res = s.client.get(s.url(icon)).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{icon}");
            assert_eq!(res.headers()["content-type"], "image/svg+xml", "{icon}");
        }
        let id_of = |name: &str| {
            gifts.iter().find(|g| g["name"] == name).unwrap()["id"]
                .as_i64()
                .unwrap()
        };

        let admin = s.admin_token("boss").await;
        for name in ["Lollipop", "  lollipop "] {
            let (status, body) = s
                .post(
                    "/api/v1/admin/gifts",
                    Some(&admin),
                    json!({"name": name, "price_coins": 3}),
                )
                .await;
            assert_eq!(status, StatusCode::CONFLICT, "{name}: {body}");
            assert_eq!(body["error"]["code"], "gift_name_taken");
        }
        let castle = format!("/api/v1/admin/gifts/{}", id_of("Castle"));
        let (status, body) = s
            .call(
                reqwest::Method::PATCH,
                &castle,
                Some(&admin),
                Some(json!({"name": "BOUQUET"})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        // Nothing changed: the refusal rolled the rename back.
        let (_, now) = s.get("/api/v1/gifts", None).await;
        assert!(now
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "Castle"));
        let (status, body) = s
            .call(
                reqwest::Method::PATCH,
                &castle,
                Some(&admin),
                Some(json!({"name": "Castle", "price_coins": 999})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "keeping its own name: {body}");

        // A retired gift's name is free again.
        let (status, _) = s
            .delete(
                &format!("/api/v1/admin/gifts/{}", id_of("Lollipop")),
                Some(&admin),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = s
            .post(
                "/api/v1/admin/gifts",
                Some(&admin),
                json!({"name": "Lollipop", "price_coins": 6, "icon_url": "/assets/gifts/lollipop.svg"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    });
}
