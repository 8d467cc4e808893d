//! Fixed-interval schedules: one run per slot across nodes and across restarts.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jobs::{JobContext, Queue, Worker};
use serde_json::json;
use store::sqlx;

use common::{databases, eventually, fast_config, spawn};

/// A worker with a `tick` schedule every `interval` whose handler records each run's unique
/// key (`"tick:{slot}"`).
fn ticking(queue: &Queue, interval: Duration, runs: Arc<Mutex<Vec<String>>>) -> Worker {
    Worker::new(queue.clone(), fast_config())
        .handle("tick", move |job: JobContext| {
            let runs = runs.clone();
            async move {
                assert_eq!(job.payload, json!({"what": "tick"}));
                runs.lock()
                    .unwrap()
                    .push(job.unique_key.clone().unwrap_or_default());
                Ok(())
            }
        })
        .every("tick", interval, "tick", json!({"what": "tick"}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_run_each_slot_of_a_schedule_once() {
    for db in databases().await {
        let node_a = db.queue().await;
        let node_b = db.queue().await;
        let runs: Arc<Mutex<Vec<String>>> = Arc::default();
        let interval = Duration::from_millis(200);
        let started = kit::time::now_ms();
        let a = spawn(ticking(&node_a, interval, runs.clone()));
        let b = spawn(ticking(&node_b, interval, runs.clone()));
        eventually("five slots to run", || async {
            runs.lock().unwrap().len() >= 5
        })
        .await;
        a.stop().await;
        b.stop().await;
        let elapsed = kit::time::now_ms() - started;

        let runs = runs.lock().unwrap().clone();
        let distinct: HashSet<&String> = runs.iter().collect();
        assert_eq!(
            distinct.len(),
            runs.len(),
            "{}: a slot ran twice: {runs:?}",
            db.engine
        );
        // One slot at start, then one per interval at most.
        let most = (elapsed / 200 + 2) as usize;
        assert!(
            runs.len() <= most,
            "{}: {} runs in {elapsed} ms",
            db.engine,
            runs.len()
        );
        for key in &runs {
            let slot: i64 = key.strip_prefix("tick:").unwrap().parse().unwrap();
            assert_eq!(slot % 200, 0, "{}: slots are aligned: {key}", db.engine);
        }
        node_a.store().close().await;
        node_b.store().close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn a_schedule_runs_a_slot_once_across_restarts_and_catches_up_a_missed_one() {
    for db in databases().await {
        let hour = Duration::from_secs(3600);
        let runs: Arc<Mutex<Vec<String>>> = Arc::default();

        let queue = db.queue().await;
        let first = spawn(ticking(&queue, hour, runs.clone()));
        eventually("the current slot to run", || async {
            runs.lock().unwrap().len() == 1
        })
        .await;
        first.stop().await;
        queue.store().close().await;

        // Restarted within the same slot: it already ran, so it does not run again.
        let queue = db.queue().await;
        let second = spawn(ticking(&queue, hour, runs.clone()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        second.stop().await;
        assert_eq!(
            runs.lock().unwrap().len(),
            1,
            "{}: the slot ran again",
            db.engine
        );

        // As if the process had been down since the previous slot: the last slot run is
        // an hour back, so the current one is due and runs as soon as a node starts.
        sqlx::query("UPDATE job_schedules SET last_slot_at = last_slot_at - 3600000")
            .execute(queue.store().pool())
            .await
            .unwrap();
        queue.store().close().await;
        let queue = db.queue().await;
        let third = spawn(ticking(&queue, hour, runs.clone()));
        eventually("the missed slot to run", || async {
            runs.lock().unwrap().len() == 2
        })
        .await;
        third.stop().await;
        let runs = runs.lock().unwrap().clone();
        assert_eq!(
            runs[0], runs[1],
            "{}: both runs are for the current slot",
            db.engine
        );

        queue.store().close().await;
        db.remove().await;
    }
}
