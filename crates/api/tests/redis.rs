//! What nodes keep together in a real Redis: failure counts counted by several nodes at
//! once, and online counts that drop out when a node stops renewing them. Runs when
//! MOMO_TEST_REDIS_URL names a server (CI sets it); otherwise says SKIPPED.

use std::time::Duration;

use api::shared::Shared;
use kit::limiter::SharedFailures;

async fn shared() -> Option<Shared> {
    let url = match std::env::var("MOMO_TEST_REDIS_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            eprintln!(
                "SKIPPED: set MOMO_TEST_REDIS_URL (redis://127.0.0.1:6379) to run the Redis tests"
            );
            return None;
        }
    };
    // A prefix of its own: tests running at once do not see each other's keys.
    let prefix = format!("momo-test-{}-{}", std::process::id(), kit::time::now_ms());
    Some(Shared::connect(&url, &prefix).await.expect("redis answers"))
}

#[tokio::test]
async fn failures_counted_by_many_nodes_at_once_add_up_and_expire() {
    let Some(a) = shared().await else { return };
    let b = a.clone();
    let window = Duration::from_millis(800);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            node.record("login_ip:10.0.0.1".into(), window)
                .await
                .unwrap()
        }));
    }
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=40).collect::<Vec<u32>>(),
        "each count once: atomic"
    );
    let (n, age) = a.read("login_ip:10.0.0.1".into()).await.unwrap().unwrap();
    assert_eq!(n, 40);
    assert!(age < window, "{age:?}");
    assert_eq!(a.read("login_ip:10.0.0.2".into()).await.unwrap(), None);
    // Forgotten a window after the latest failure, or at once when cleared.
    b.record("login_pair:x".into(), window).await.unwrap();
    b.clear("login_pair:x".into()).await.unwrap();
    assert_eq!(a.read("login_pair:x".into()).await.unwrap(), None);
    tokio::time::sleep(window + Duration::from_millis(200)).await;
    assert_eq!(a.read("login_ip:10.0.0.1".into()).await.unwrap(), None);
}

#[tokio::test]
async fn online_counts_add_up_over_nodes_and_a_silent_node_drops_out() {
    let Some(a) = shared().await else { return };
    let ttl = Duration::from_millis(700);
    a.put_counts("online", "node-a", &[("7".into(), 3), ("8".into(), 1)], ttl)
        .await
        .unwrap();
    a.put_counts("online", "node-b", &[("7".into(), 2)], ttl)
        .await
        .unwrap();
    a.put_counts("online", "node-c", &[], ttl).await.unwrap();
    let seen_by_c = a.counts_elsewhere("online", "node-c").await.unwrap();
    assert_eq!(seen_by_c.get("7"), Some(&5));
    assert_eq!(seen_by_c.get("8"), Some(&1));
    let seen_by_a = a.counts_elsewhere("online", "node-a").await.unwrap();
    assert_eq!(seen_by_a.get("7"), Some(&2));
    assert_eq!(seen_by_a.get("8"), None);
    // Node B stops writing (it died): its counts drop out after their time to live.
    tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    a.put_counts("online", "node-a", &[("7".into(), 3)], ttl)
        .await
        .unwrap();
    let seen_by_c = a.counts_elsewhere("online", "node-c").await.unwrap();
    assert_eq!(seen_by_c.get("7"), Some(&3));
    // Once every node has stopped writing, no count is left.
    tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    assert!(a
        .counts_elsewhere("online", "nobody")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn counts_of_one_kind_leave_the_others_alone() {
    let Some(a) = shared().await else { return };
    let ttl = Duration::from_secs(5);
    a.put_counts("online", "node-x", &[("9".into(), 4)], ttl)
        .await
        .unwrap();
    a.put_counts("players", "node-x", &[("9".into(), 40)], ttl)
        .await
        .unwrap();
    let online = a.counts_elsewhere("online", "node-y").await.unwrap();
    let players = a.counts_elsewhere("players", "node-y").await.unwrap();
    assert_eq!((online.get("9"), players.get("9")), (Some(&4), Some(&40)));
}

#[tokio::test]
async fn a_shared_rate_lets_a_burst_through_then_refills() {
    let Some(a) = shared().await else { return };
    let b = a.clone();
    let mut took = 0;
    for i in 0..10 {
        let node = if i % 2 == 0 { &a } else { &b };
        if node.take("chat_send:1", 2.0, 4.0).await.unwrap() {
            took += 1;
        }
    }
    assert_eq!(took, 4, "a burst of 4 over both nodes");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        a.take("chat_send:1", 2.0, 4.0).await.unwrap(),
        "one more after half a second"
    );
    assert!(
        a.take("chat_send:2", 2.0, 4.0).await.unwrap(),
        "another member's own rate"
    );
}

#[tokio::test]
async fn a_redis_that_is_not_there_is_a_clear_error() {
    let err = Shared::connect("redis://127.0.0.1:1", "momo")
        .await
        .unwrap_err();
    assert!(err.contains("redis"), "{err}");
}
