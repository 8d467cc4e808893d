//! Enqueueing: unique keys, transactions, due times, stats.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jobs::{Enqueue, JobContext, JobState, Queue, Stats, Worker};
use serde_json::json;

use common::{databases, fast_config, spawn, wait_for_state};

#[tokio::test]
async fn a_unique_key_allows_one_pending_job_at_a_time() {
    for db in databases().await {
        let queue = db.queue().await;
        let key = || Enqueue::default().unique_key("welcome:42");
        let first = queue
            .enqueue("welcome", json!({"n": 1}), key())
            .await
            .unwrap();
        let again = queue
            .enqueue("welcome", json!({"n": 2}), key())
            .await
            .unwrap();
        assert_eq!(
            first, again,
            "{}: the second enqueue returns the first job",
            db.engine
        );
        let other = queue
            .enqueue(
                "welcome",
                json!({}),
                Enqueue::default().unique_key("welcome:43"),
            )
            .await
            .unwrap();
        assert_ne!(first, other, "{}", db.engine);
        let plain_a = queue
            .enqueue("welcome", json!({}), Enqueue::default())
            .await
            .unwrap();
        let plain_b = queue
            .enqueue("welcome", json!({}), Enqueue::default())
            .await
            .unwrap();
        assert_ne!(
            plain_a, plain_b,
            "{}: jobs without a key never merge",
            db.engine
        );
        assert_eq!(
            queue.stats().await.unwrap(),
            Stats {
                queued: 4,
                ..Stats::default()
            },
            "{}",
            db.engine
        );
        let kept = queue.job(first).await.unwrap().unwrap();
        assert_eq!(
            kept.payload,
            json!({"n": 1}),
            "{}: the first payload stays",
            db.engine
        );

        // Once the job is done the key is free again.
        let worker = spawn(
            Worker::new(queue.clone(), fast_config())
                .handle("welcome", |_job: JobContext| async { Ok(()) }),
        );
        wait_for_state(&queue, first, JobState::Done).await;
        worker.stop().await;
        let next = queue.enqueue("welcome", json!({}), key()).await.unwrap();
        assert_ne!(
            next, first,
            "{}: a done job's key can be used again",
            db.engine
        );

        queue.store().close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn a_job_enqueued_in_a_transaction_exists_only_if_it_commits() {
    for db in databases().await {
        let queue = db.queue().await;

        let mut tx = queue.store().begin().await.unwrap();
        let dropped = queue
            .enqueue_in(&mut tx, "mail", json!({"to": "a"}), Enqueue::default())
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert!(queue.job(dropped).await.unwrap().is_none(), "{}", db.engine);

        let mut tx = queue.store().begin().await.unwrap();
        let kept = queue
            .enqueue_in(
                &mut tx,
                "mail",
                json!({"to": "b"}),
                Enqueue::default().unique_key("b"),
            )
            .await
            .unwrap();
        let same = queue
            .enqueue_in(
                &mut tx,
                "mail",
                json!({"to": "b"}),
                Enqueue::default().unique_key("b"),
            )
            .await
            .unwrap();
        assert_eq!(
            kept, same,
            "{}: dedup works inside the transaction",
            db.engine
        );
        tx.commit().await.unwrap();
        queue.wake();
        let job = queue
            .job(kept)
            .await
            .unwrap()
            .expect("the committed job exists");
        assert_eq!(job.state, JobState::Queued);
        assert_eq!(job.kind, "mail");
        assert_eq!(job.payload, json!({"to": "b"}));
        assert_eq!(job.max_attempts, 10, "the default number of attempts");

        queue.store().close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn a_future_job_waits_for_its_time() {
    for db in databases().await {
        let queue = db.queue().await;
        let ran_at = Arc::new(Mutex::new(Vec::new()));
        let seen = ran_at.clone();
        let worker = spawn(Worker::new(queue.clone(), fast_config()).handle(
            "later",
            move |_job: JobContext| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(kit::time::now_ms());
                    Ok(())
                }
            },
        ));
        let run_at = kit::time::now_ms() + 600;
        let id = queue
            .enqueue("later", json!(null), Enqueue::default().run_at_ms(run_at))
            .await
            .unwrap();

        // Several polls pass before its time; it must still be waiting.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let job = queue.job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Queued, "{}: ran early", db.engine);
        assert!(ran_at.lock().unwrap().is_empty(), "{}", db.engine);

        wait_for_state(&queue, id, JobState::Done).await;
        let times = ran_at.lock().unwrap().clone();
        assert_eq!(times.len(), 1, "{}", db.engine);
        assert!(
            times[0] >= run_at,
            "{}: ran {} ms early",
            db.engine,
            run_at - times[0]
        );

        worker.stop().await;
        queue.store().close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn stats_count_jobs_by_state() {
    for db in databases().await {
        let queue: Queue = db.queue().await;
        assert_eq!(
            queue.stats().await.unwrap(),
            Stats::default(),
            "{}",
            db.engine
        );
        let ok = queue
            .enqueue("ok", json!(1), Enqueue::default())
            .await
            .unwrap();
        let bad = queue
            .enqueue("bad", json!(1), Enqueue::default().max_attempts(1))
            .await
            .unwrap();
        queue
            .enqueue(
                "ok",
                json!(1),
                Enqueue::default().delay(Duration::from_secs(3600)),
            )
            .await
            .unwrap();
        let worker = spawn(
            Worker::new(queue.clone(), fast_config())
                .handle("ok", |_job: JobContext| async { Ok(()) })
                .handle("bad", |_job: JobContext| async {
                    Err(jobs::JobError::new("no"))
                }),
        );
        wait_for_state(&queue, ok, JobState::Done).await;
        wait_for_state(&queue, bad, JobState::Failed).await;
        worker.stop().await;
        assert_eq!(
            queue.stats().await.unwrap(),
            Stats {
                queued: 1,
                running: 0,
                done: 1,
                failed: 1
            },
            "{}",
            db.engine
        );
        queue.store().close().await;
        db.remove().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_enqueues_of_one_key_from_two_nodes_make_one_job() {
    for db in databases().await {
        let node_a = db.queue().await;
        let node_b = db.queue().await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..20 {
            let queue = if i % 2 == 0 {
                node_a.clone()
            } else {
                node_b.clone()
            };
            tasks.spawn(async move {
                queue
                    .enqueue(
                        "once",
                        json!({"i": i}),
                        Enqueue::default().unique_key("once"),
                    )
                    .await
                    .unwrap()
            });
        }
        let ids: std::collections::HashSet<i64> = tasks.join_all().await.into_iter().collect();
        assert_eq!(ids.len(), 1, "{}: {ids:?}", db.engine);
        assert_eq!(node_a.stats().await.unwrap().queued, 1, "{}", db.engine);
        node_a.store().close().await;
        node_b.store().close().await;
        db.remove().await;
    }
}
