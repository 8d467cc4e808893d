//! The bus over a real NATS server: what the in-process bus promises holds between
//! connections (nodes). Runs when MOMO_TEST_NATS_URL names a server (CI sets it);
//! otherwise each test says SKIPPED.

use std::time::Duration;

use bus::{Bus, Delivery, NatsBus, Pattern, Subject, Subscription};
use bytes::Bytes;

fn url() -> Option<String> {
    match std::env::var("MOMO_TEST_NATS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!(
                "SKIPPED: set MOMO_TEST_NATS_URL (nats://127.0.0.1:4222) to run the NATS bus tests"
            );
            None
        }
    }
}

/// A room id no other run of these tests uses.
fn fresh_room() -> i64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    (nanos % 1_000_000_000_000) as i64 + i64::from(std::process::id())
}

async fn next(sub: &mut Subscription) -> Delivery {
    tokio::time::timeout(Duration::from_secs(5), sub.recv())
        .await
        .expect("a delivery within 5 s")
        .expect("the subscription is open")
}

fn payload(d: Delivery) -> (String, Bytes) {
    match d {
        Delivery::Message(m) => (m.subject.as_str().to_owned(), m.payload),
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test]
async fn a_subscription_on_one_node_hears_another_in_order_from_the_moment_it_returns() {
    let Some(url) = url() else { return };
    let a = NatsBus::connect(&url, "test-a").await.unwrap();
    let b = NatsBus::connect(&url, "test-b").await.unwrap();
    let room = fresh_room();
    let mut on_b = b
        .subscribe(Pattern::room(&room.to_string()).unwrap(), 1_000)
        .await
        .unwrap();
    // Published by A right after B's subscribe returned: none may be missed.
    for i in 0..200 {
        a.publish(Subject::of_room(room, "gift"), Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    a.publish(
        Subject::of_room(room + 1, "gift"),
        Bytes::from_static(b"other room"),
    )
    .await
    .unwrap();
    for i in 0..200 {
        let (subject, body) = payload(next(&mut on_b).await);
        assert_eq!(subject, format!("momo.room.{room}.gift"));
        assert_eq!(body, Bytes::from(i.to_string()), "in order");
    }
    // A's own subscribers hear A's publishes too (through the server).
    let mut on_a = a
        .subscribe(Pattern::new(format!("momo.room.{room}.*")).unwrap(), 16)
        .await
        .unwrap();
    a.publish(Subject::of_room(room, "live"), Bytes::from_static(b"x"))
        .await
        .unwrap();
    assert_eq!(
        payload(next(&mut on_a).await).0,
        format!("momo.room.{room}.live")
    );
    assert_eq!(
        payload(next(&mut on_b).await).0,
        format!("momo.room.{room}.live")
    );
    assert!(on_b.try_recv().is_none(), "nothing from the other room");
}

#[tokio::test]
async fn a_queue_group_hands_each_message_to_one_node() {
    let Some(url) = url() else { return };
    let a = NatsBus::connect(&url, "test-a").await.unwrap();
    let b = NatsBus::connect(&url, "test-b").await.unwrap();
    let room = fresh_room();
    let pattern = || Pattern::new(format!("momo.room.{room}.live")).unwrap();
    let group = format!("followers-{room}");
    let mut sa = a.subscribe_group(pattern(), &group, 1_000).await.unwrap();
    let mut sb = b.subscribe_group(pattern(), &group, 1_000).await.unwrap();
    for i in 0..100 {
        a.publish(Subject::of_room(room, "live"), Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 100 {
        tokio::select! {
            d = sa.recv() => seen.push(payload(d.unwrap()).1),
            d = sb.recv() => seen.push(payload(d.unwrap()).1),
            _ = tokio::time::sleep(Duration::from_secs(5)) => panic!("only {} of 100", seen.len()),
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 100, "each message once");
}

#[tokio::test]
async fn a_full_queue_drops_and_says_so_without_slowing_the_publisher() {
    let Some(url) = url() else { return };
    let a = NatsBus::connect(&url, "test-a").await.unwrap();
    let room = fresh_room();
    let mut slow = a
        .subscribe(Pattern::room(&room.to_string()).unwrap(), 4)
        .await
        .unwrap();
    for i in 0..50 {
        a.publish(Subject::of_room(room, "gift"), Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    // A marker after the burst: once it is queued (or dropped), the burst has been
    // offered.
    let mut probe = a
        .subscribe(Pattern::new(format!("momo.room.{room}.done")).unwrap(), 4)
        .await
        .unwrap();
    a.publish(Subject::of_room(room, "done"), Bytes::new())
        .await
        .unwrap();
    payload(next(&mut probe).await);
    let mut got = 0;
    let mut lagged = 0;
    while let Ok(Some(d)) = tokio::time::timeout(Duration::from_millis(500), slow.recv()).await {
        match d {
            Delivery::Message(_) => got += 1,
            Delivery::Lagged(n) => lagged += n,
        }
    }
    assert!(got <= 5, "a queue of 4 (and the marker) held {got}");
    assert!(lagged >= 45, "the drops are counted: {lagged}");
}

#[tokio::test]
async fn a_url_that_cannot_be_one_is_a_clear_error() {
    let err = NatsBus::connect("nats://127.0.0.1:notaport", "test")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NATS URL"), "{err}");
}

/// No server at the URL: the bus starts all the same, says it is not up and refuses
/// publishes; a subscription made meanwhile takes effect when a server comes.
#[tokio::test]
async fn a_bus_started_before_its_server_connects_when_it_comes() {
    let Some(bin) = [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).is_file()) else {
        eprintln!("SKIPPED: no nats-server binary to start a server of the test's own");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("nats://127.0.0.1:{port}");
    let early = tokio::time::timeout(Duration::from_secs(10), NatsBus::connect(&url, "early"))
        .await
        .expect("connect returns at once")
        .expect("a bus");
    assert!(!early.is_up());
    let room = fresh_room();
    let err = early
        .publish(Subject::of_room(room, "gift"), Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not connected"), "{err}");
    let mut sub = tokio::time::timeout(
        Duration::from_secs(5),
        early.subscribe(Pattern::room(&room.to_string()).unwrap(), 16),
    )
    .await
    .expect("subscribe returns at once")
    .expect("a subscription");

    let mut server = std::process::Command::new(bin)
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..300 {
        if early.is_up() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let late = NatsBus::connect(&url, "late").await.unwrap();
    let mut heard = false;
    if up {
        // The early subscription reaches the server just after the connection.
        for _ in 0..50 {
            late.publish(Subject::of_room(room, "gift"), Bytes::from_static(b"hello"))
                .await
                .unwrap();
            if let Ok(Some(d)) = tokio::time::timeout(Duration::from_millis(100), sub.recv()).await
            {
                assert_eq!(payload(d).1, Bytes::from_static(b"hello"));
                heard = true;
                break;
            }
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(up, "the bus connected once the server came");
    assert!(heard, "the subscription made while away took effect");
}
