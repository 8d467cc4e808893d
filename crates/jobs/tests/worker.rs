//! Running jobs: once each, retries, failures, many workers, restarts and crashed workers.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jobs::{Enqueue, JobContext, JobError, JobState, Stats, Worker, WorkerConfig};
use serde_json::{json, Value};
use store::sqlx;

use common::{databases, eventually, fast_config, spawn, wait_for_state};

/// A handler that counts its runs and remembers the payloads.
fn recorder(seen: Arc<Mutex<Vec<Value>>>) -> impl jobs::Handler {
    move |job: JobContext| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(job.payload.clone());
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_due_job_runs_once() {
    for db in databases().await {
        let queue = db.queue().await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let worker = spawn(
            Worker::new(queue.clone(), fast_config()).handle("greet", recorder(seen.clone())),
        );
        let id = queue
            .enqueue("greet", json!({"name": "ada"}), Enqueue::default())
            .await
            .unwrap();
        let job = wait_for_state(&queue, id, JobState::Done).await;
        assert_eq!(job.attempts, 1, "{}", db.engine);
        assert!(job.finished_at_ms.is_some(), "{}", db.engine);
        // A few more polls must not run it again.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            *seen.lock().unwrap(),
            vec![json!({"name": "ada"})],
            "{}",
            db.engine
        );
        worker.stop().await;
        queue.store().close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn failed_attempts_back_off_then_fail_keeping_the_last_error() {
    for db in databases().await {
        let queue = db.queue().await;
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let seen = attempts.clone();
        let worker = spawn(Worker::new(queue.clone(), fast_config()).handle(
            "flaky",
            move |job: JobContext| {
                let seen = seen.clone();
                async move {
                    seen.lock()
                        .unwrap()
                        .push((job.attempt, kit::time::now_ms()));
                    Err(JobError::new(format!("boom on attempt {}", job.attempt)))
                }
            },
        ));
        let id = queue
            .enqueue("flaky", json!({}), Enqueue::default().max_attempts(3))
            .await
            .unwrap();
        let job = wait_for_state(&queue, id, JobState::Failed).await;
        assert_eq!(job.attempts, 3, "{}", db.engine);
        assert_eq!(
            job.last_error.as_deref(),
            Some("boom on attempt 3"),
            "{}",
            db.engine
        );
        let runs = attempts.lock().unwrap().clone();
        let numbers: Vec<u32> = runs.iter().map(|r| r.0).collect();
        assert_eq!(numbers, [1, 2, 3], "{}", db.engine);
        // retry_base 100 ms, doubling, capped at 150 ms.
        let gap1 = runs[1].1 - runs[0].1;
        let gap2 = runs[2].1 - runs[1].1;
        assert!(gap1 >= 100, "{}: first retry after {gap1} ms", db.engine);
        assert!(gap2 >= 150, "{}: second retry after {gap2} ms", db.engine);
        worker.stop().await;
        queue.store().close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn permanent_errors_panics_and_unknown_kinds_fail_with_a_clear_error() {
    for db in databases().await {
        let queue = db.queue().await;
        let panics = Arc::new(AtomicUsize::new(0));
        let counted = panics.clone();
        let worker = spawn(
            Worker::new(queue.clone(), fast_config())
                .handle("bad_payload", |job: JobContext| async move {
                    #[derive(serde::Deserialize)]
                    #[allow(dead_code)]
                    struct Mail {
                        to: String,
                    }
                    let _mail: Mail = job.payload_as()?;
                    Ok(())
                })
                .handle("panics", move |job: JobContext| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if job.attempt < 2 {
                            panic!("handler bug on attempt {}", job.attempt);
                        }
                        Ok(())
                    }
                }),
        );
        let opts = || Enqueue::default().max_attempts(5);
        let bad = queue
            .enqueue("bad_payload", json!({"too": 1}), opts())
            .await
            .unwrap();
        let panicky = queue.enqueue("panics", json!({}), opts()).await.unwrap();
        let unknown = queue
            .enqueue("no_such_kind", json!({}), opts())
            .await
            .unwrap();

        let job = wait_for_state(&queue, bad, JobState::Failed).await;
        assert_eq!(
            job.attempts, 1,
            "{}: a permanent error is not retried",
            db.engine
        );
        assert!(
            job.last_error
                .as_deref()
                .unwrap()
                .contains("payload does not fit"),
            "{}: {:?}",
            db.engine,
            job.last_error
        );

        let job = wait_for_state(&queue, unknown, JobState::Failed).await;
        assert_eq!(
            job.attempts, 1,
            "{}: an unknown kind is not retried",
            db.engine
        );
        assert!(
            job.last_error
                .as_deref()
                .unwrap()
                .contains("no handler is registered"),
            "{}: {:?}",
            db.engine,
            job.last_error
        );

        // The panic is an error like any other: retried, and the worker lives on.
        let job = wait_for_state(&queue, panicky, JobState::Done).await;
        assert_eq!(job.attempts, 2, "{}", db.engine);
        assert!(
            job.last_error
                .as_deref()
                .unwrap()
                .contains("handler bug on attempt 1"),
            "{}: {:?}",
            db.engine,
            job.last_error
        );
        assert_eq!(panics.load(Ordering::SeqCst), 2);

        worker.stop().await;
        queue.store().close().await;
        db.remove().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_run_each_of_200_jobs_exactly_once() {
    for db in databases().await {
        // Two pools on the same database: two nodes.
        let node_a = db.queue().await;
        let node_b = db.queue().await;
        let runs: Arc<Mutex<HashMap<i64, usize>>> = Arc::default();
        let by_worker: Arc<Mutex<HashMap<&'static str, usize>>> = Arc::default();
        let counting = |name: &'static str| {
            let runs = runs.clone();
            let by_worker = by_worker.clone();
            move |job: JobContext| {
                let runs = runs.clone();
                let by_worker = by_worker.clone();
                async move {
                    *runs.lock().unwrap().entry(job.id).or_default() += 1;
                    *by_worker.lock().unwrap().entry(name).or_default() += 1;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    Ok(())
                }
            }
        };
        let mut ids = Vec::new();
        for i in 0..200 {
            let queue = if i % 2 == 0 { &node_a } else { &node_b };
            ids.push(
                queue
                    .enqueue("count", json!({"i": i}), Enqueue::default())
                    .await
                    .unwrap(),
            );
        }
        let a = spawn(Worker::new(node_a.clone(), fast_config()).handle("count", counting("a")));
        let b = spawn(Worker::new(node_b.clone(), fast_config()).handle("count", counting("b")));

        eventually("all 200 jobs to be done", || async {
            node_a.stats().await.unwrap().done == 200
        })
        .await;
        // Let any duplicate run show up before counting.
        tokio::time::sleep(Duration::from_millis(200)).await;
        a.stop().await;
        b.stop().await;

        let runs = runs.lock().unwrap().clone();
        assert_eq!(runs.len(), 200, "{}: every job ran", db.engine);
        for id in &ids {
            assert_eq!(runs.get(id), Some(&1), "{}: job {id} ran once", db.engine);
        }
        assert_eq!(
            node_b.stats().await.unwrap(),
            Stats {
                done: 200,
                ..Stats::default()
            },
            "{}",
            db.engine
        );
        eprintln!(
            "{}: jobs run per worker: {:?}",
            db.engine,
            by_worker.lock().unwrap()
        );
        node_a.store().close().await;
        node_b.store().close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn a_job_survives_a_restart() {
    for db in databases().await {
        let before = db.queue().await;
        let id = before
            .enqueue("resize", json!({"video": 7}), Enqueue::default())
            .await
            .unwrap();
        // The process goes away before any worker ran the job.
        before.store().close().await;
        drop(before);

        let after = db.queue().await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let worker = spawn(
            Worker::new(after.clone(), fast_config()).handle("resize", recorder(seen.clone())),
        );
        wait_for_state(&after, id, JobState::Done).await;
        assert_eq!(
            *seen.lock().unwrap(),
            vec![json!({"video": 7})],
            "{}",
            db.engine
        );
        worker.stop().await;
        after.store().close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn a_job_cut_short_by_shutdown_is_handed_back_untried() {
    for db in databases().await {
        let queue = db.queue().await;
        let started = Arc::new(AtomicUsize::new(0));
        let counted = started.clone();
        let config = WorkerConfig {
            shutdown_grace: Duration::from_millis(100),
            ..fast_config()
        };
        let stuck = spawn(Worker::new(queue.clone(), config).handle(
            "slow",
            move |_job: JobContext| {
                counted.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<Result<(), JobError>>()
            },
        ));
        let id = queue
            .enqueue("slow", json!({}), Enqueue::default())
            .await
            .unwrap();
        eventually("the job to start", || async {
            started.load(Ordering::SeqCst) == 1
        })
        .await;
        stuck.stop().await;
        let job = queue.job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Queued, "{}", db.engine);
        assert_eq!(
            job.attempts, 0,
            "{}: the cut attempt does not count",
            db.engine
        );

        let seen = Arc::new(Mutex::new(Vec::new()));
        let worker =
            spawn(Worker::new(queue.clone(), fast_config()).handle("slow", recorder(seen.clone())));
        let job = wait_for_state(&queue, id, JobState::Done).await;
        assert_eq!(job.attempts, 1, "{}", db.engine);
        worker.stop().await;
        queue.store().close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn a_crashed_workers_job_is_claimed_again_when_its_lease_lapses() {
    for db in databases().await {
        let queue = db.queue().await;
        let started = Arc::new(AtomicUsize::new(0));
        let counted = started.clone();
        let short_lease = WorkerConfig {
            lease: Duration::from_millis(400),
            ..fast_config()
        };
        let doomed = spawn(Worker::new(queue.clone(), short_lease).handle(
            "work",
            move |_job: JobContext| {
                counted.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<Result<(), JobError>>()
            },
        ));
        let id = queue
            .enqueue("work", json!({}), Enqueue::default())
            .await
            .unwrap();
        eventually("the job to start", || async {
            started.load(Ordering::SeqCst) == 1
        })
        .await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rescuer =
            spawn(Worker::new(queue.clone(), fast_config()).handle("work", recorder(seen.clone())));
        // Long enough for the lease to have lapsed but for its extensions: a live worker
        // keeps its job from the other one.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let job = queue.job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Running, "{}", db.engine);
        assert_eq!(job.attempts, 1, "{}: a held lease is not taken", db.engine);
        assert!(seen.lock().unwrap().is_empty(), "{}", db.engine);
        doomed.crash().await;
        let crashed_at = kit::time::now_ms();

        let job = wait_for_state(&queue, id, JobState::Done).await;
        assert_eq!(job.attempts, 2, "{}", db.engine);
        assert_eq!(seen.lock().unwrap().len(), 1, "{}", db.engine);
        assert!(
            job.finished_at_ms.unwrap() > crashed_at,
            "{}: claimed again only after the crash",
            db.engine
        );
        rescuer.stop().await;
        queue.store().close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn a_lapsed_lease_on_the_last_attempt_fails_the_job() {
    for db in databases().await {
        let queue = db.queue().await;
        let id = queue
            .enqueue("work", json!({}), Enqueue::default().max_attempts(1))
            .await
            .unwrap();
        // A worker claimed the job (its only attempt) and died; its lease ran out.
        sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = 1, locked_by = 'gone', \
                             locked_until = $1 WHERE id = $2",
        )
        .bind(kit::time::now_ms() - 1)
        .bind(id)
        .execute(queue.store().pool())
        .await
        .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let worker =
            spawn(Worker::new(queue.clone(), fast_config()).handle("work", recorder(seen.clone())));
        let job = wait_for_state(&queue, id, JobState::Failed).await;
        assert!(
            job.last_error.as_deref().unwrap().contains("lease"),
            "{}: {:?}",
            db.engine,
            job.last_error
        );
        assert!(
            seen.lock().unwrap().is_empty(),
            "{}: not run again",
            db.engine
        );
        worker.stop().await;
        queue.store().close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn done_jobs_are_deleted_at_once_when_no_history_is_kept() {
    for db in databases().await {
        let queue = db.queue().await;
        let config = WorkerConfig {
            keep_done: Duration::ZERO,
            ..fast_config()
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let worker = spawn(Worker::new(queue.clone(), config).handle("x", recorder(seen.clone())));
        let id = queue
            .enqueue("x", json!(1), Enqueue::default())
            .await
            .unwrap();
        eventually("the job to be gone", || async {
            queue.job(id).await.unwrap().is_none()
        })
        .await;
        assert_eq!(seen.lock().unwrap().len(), 1, "{}", db.engine);
        worker.stop().await;
        queue.store().close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn a_deferred_job_runs_later_without_spending_its_attempts() {
    for db in databases().await {
        let queue = db.queue().await;
        let runs = Arc::new(Mutex::new(Vec::new()));
        let seen = runs.clone();
        let worker = spawn(Worker::new(queue.clone(), fast_config()).handle(
            "patient",
            move |job: JobContext| {
                let seen = seen.clone();
                async move {
                    let n = {
                        let mut s = seen.lock().unwrap();
                        s.push((job.attempt, kit::time::now_ms()));
                        s.len()
                    };
                    // Declines four times (more than its attempts), then runs.
                    if n <= 4 {
                        return Err(JobError::later(Duration::from_millis(100), "not my turn"));
                    }
                    Ok(())
                }
            },
        ));
        let id = queue
            .enqueue("patient", json!({}), Enqueue::default().max_attempts(2))
            .await
            .unwrap();
        let job = wait_for_state(&queue, id, JobState::Done).await;
        assert_eq!(job.attempts, 1, "{}: deferrals are not attempts", db.engine);
        let runs = runs.lock().unwrap().clone();
        assert_eq!(runs.len(), 5, "{}", db.engine);
        assert!(runs.iter().all(|r| r.0 == 1), "{}: {runs:?}", db.engine);
        assert!(
            runs[1].1 - runs[0].1 >= 100,
            "{}: deferred for its wait",
            db.engine
        );
        worker.stop().await;
        queue.store().close().await;
        db.remove().await;
    }
}
