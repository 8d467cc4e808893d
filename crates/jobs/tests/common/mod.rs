//! The test harness: a real database per test, workers that can be stopped or crashed, and
//! waiting with a timeout instead of sleeping a fixed time.
//!
//! Every test runs on SQLite (a fresh file) and, when `MOMO_TEST_POSTGRES_URL` names a
//! PostgreSQL server, again on PostgreSQL (a fresh database, dropped afterwards). Without
//! that variable the PostgreSQL runs are skipped, and say so loudly.

#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jobs::{JobInfo, JobState, Queue, Worker, WorkerConfig};
use store::sqlx::{self, Connection};
use store::{PoolSettings, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long a test waits for something that should happen within a few polls.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A database for one test run.
pub struct TestDb {
    pub engine: &'static str,
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh SQLite database and, when `MOMO_TEST_POSTGRES_URL` is set, a fresh PostgreSQL
/// one.
pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![TestDb::sqlite().await];
    match std::env::var("MOMO_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => dbs.push(TestDb::postgres(&url).await),
        _ => eprintln!(
            "\n*** SKIPPED: the PostgreSQL run of this test. Set \
             MOMO_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test to run it. ***\n"
        ),
    }
    dbs
}

impl TestDb {
    async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = TestDb {
            engine: "sqlite",
            url: format!("sqlite://{}/jobs.db", dir.path().display()),
            _dir: Some(dir),
            pg: None,
        };
        db.migrate().await;
        db
    }

    async fn postgres(url: &str) -> TestDb {
        let name = format!(
            "jobs_t_{}_{}_{}",
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
        let db = TestDb {
            engine: "postgres",
            url: format!("{prefix}/{name}"),
            _dir: None,
            pg: Some((url.to_string(), name)),
        };
        db.migrate().await;
        db
    }

    async fn migrate(&self) {
        let store = self.connect().await;
        store.migrate().await.expect("migrations apply");
        store.close().await;
    }

    /// A new connection pool on this database, as a separate node (or a restarted
    /// process) would open.
    pub async fn connect(&self) -> Store {
        Store::connect(&self.url, &PoolSettings::default())
            .await
            .expect("connect to the test database")
    }

    /// A queue over a new pool.
    pub async fn queue(&self) -> Queue {
        Queue::new(self.connect().await)
    }

    /// Drops the PostgreSQL database (the SQLite file goes with its temp dir).
    pub async fn remove(self) {
        if let Some((url, name)) = &self.pg {
            if let Ok(mut conn) = sqlx::PgConnection::connect(url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

/// Settings that make tests quick: short polls, leases and backoffs.
pub fn fast_config() -> WorkerConfig {
    WorkerConfig {
        concurrency: 4,
        poll_interval: Duration::from_millis(50),
        lease: Duration::from_secs(5),
        retry_base: Duration::from_millis(100),
        retry_cap: Duration::from_millis(150),
        maintenance_interval: Duration::from_millis(100),
        shutdown_grace: Duration::from_secs(5),
        ..WorkerConfig::default()
    }
}

/// A worker running in its own task.
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

pub fn spawn(worker: Worker) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    Running {
        stop: Some(stop),
        task,
    }
}

impl Running {
    /// Signals shutdown and waits for the worker to finish.
    pub async fn stop(mut self) {
        drop(self.stop.take());
        (&mut self.task)
            .await
            .expect("the worker task ends cleanly");
    }

    /// Kills the worker as a crash would: its running jobs stop mid-way, with no chance to
    /// record anything.
    pub async fn crash(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Polls `check` until it holds, failing the test after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until job `id` is in `state`, and returns it.
pub async fn wait_for_state(queue: &Queue, id: i64, state: JobState) -> JobInfo {
    eventually(&format!("job {id} to be {}", state.as_str()), || async {
        let job = queue.job(id).await.expect("read the job");
        job.is_some_and(|j| j.state == state)
    })
    .await;
    queue
        .job(id)
        .await
        .expect("read the job")
        .expect("job exists")
}
