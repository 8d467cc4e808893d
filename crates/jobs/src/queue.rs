//! Putting jobs in the queue and reading its state.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use store::sqlx::{self, AnyConnection, Row};
use store::Store;
use tokio::sync::Notify;

/// How many times an enqueue tries again when the job holding its unique key finished
/// between the insert and the look-up.
const UNIQUE_RACE_TRIES: usize = 5;

/// The handle to enqueue jobs and read the queue. Cheap to clone; clones share the wake-up
/// signal, so a [`Worker`](crate::Worker) made from any clone hears about jobs enqueued
/// through any other.
#[derive(Debug, Clone)]
pub struct Queue {
    store: Store,
    wake: Arc<Notify>,
}

/// Options of one enqueue. `Enqueue::default()` runs the job now, without a unique key,
/// with up to 10 attempts.
#[derive(Debug, Clone)]
pub struct Enqueue {
    /// Not before this time (ms since the epoch); `None` is now.
    pub run_at_ms: Option<i64>,
    /// At most one queued or running job has this key; enqueueing another meanwhile
    /// returns the existing job's id.
    pub unique_key: Option<String>,
    /// Attempts before the job is failed for good (at least 1).
    pub max_attempts: u32,
}

impl Default for Enqueue {
    fn default() -> Self {
        Enqueue {
            run_at_ms: None,
            unique_key: None,
            max_attempts: 10,
        }
    }
}

impl Enqueue {
    /// Runs the job at `ms` (since the epoch).
    pub fn run_at_ms(mut self, ms: i64) -> Self {
        self.run_at_ms = Some(ms);
        self
    }

    /// Runs the job `delay` from now.
    pub fn delay(self, delay: Duration) -> Self {
        let ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        self.run_at_ms(kit::time::now_ms().saturating_add(ms))
    }

    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            _ => return None,
        })
    }
}

/// One job as stored.
#[derive(Debug, Clone)]
pub struct JobInfo {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
    pub state: JobState,
    pub unique_key: Option<String>,
    pub run_at_ms: i64,
    /// Claims so far (the attempt running now counts).
    pub attempts: u32,
    pub max_attempts: u32,
    /// The error of the latest failed attempt.
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

/// How many jobs are in each state. `queued` includes jobs whose time has not come yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
}

impl Queue {
    pub fn new(store: Store) -> Queue {
        Queue {
            store,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Adds a job; returns its id, or the id of the queued or running job that already
    /// holds `opts.unique_key`. Workers in this process are woken if the job is due.
    pub async fn enqueue(
        &self,
        kind: &str,
        payload: Value,
        opts: Enqueue,
    ) -> Result<i64, sqlx::Error> {
        let due = opts.run_at_ms.is_none_or(|t| t <= kit::time::now_ms());
        let mut conn = self.store.writer().acquire().await?;
        let id = self.enqueue_in(&mut conn, kind, payload, opts).await?;
        drop(conn);
        if due {
            self.wake();
        }
        Ok(id)
    }

    /// Adds a job through `conn`, typically the caller's own transaction
    /// (`queue.enqueue_in(&mut tx, …)`), so that the job exists if and only if the
    /// transaction commits. Workers are not woken (the job is invisible until the commit):
    /// call [`Queue::wake`] after committing to have it run before the next poll.
    pub async fn enqueue_in(
        &self,
        conn: &mut AnyConnection,
        kind: &str,
        payload: Value,
        opts: Enqueue,
    ) -> Result<i64, sqlx::Error> {
        let now = kit::time::now_ms();
        let run_at = opts.run_at_ms.unwrap_or(now);
        let payload = payload.to_string();
        let max_attempts = i64::from(opts.max_attempts.max(1));
        for _ in 0..UNIQUE_RACE_TRIES {
            // A conflict can only come from the partial unique index on active keys.
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO jobs (kind, payload, state, unique_key, run_at, max_attempts, \
                                   created_at, updated_at) \
                 VALUES ($1, $2, 'queued', $3, $4, $5, $6, $6) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(kind)
            .bind(&payload)
            .bind(opts.unique_key.as_deref())
            .bind(run_at)
            .bind(max_attempts)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(id) = inserted {
                return Ok(id);
            }
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM jobs WHERE unique_key = $1 AND state IN ('queued', 'running')",
            )
            .bind(opts.unique_key.as_deref())
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(id) = existing {
                return Ok(id);
            }
            // The holder of the key finished in between: the key is free, insert again.
        }
        Err(sqlx::Error::Protocol(format!(
            "job unique key {:?} kept changing hands; enqueue gave up",
            opts.unique_key
        )))
    }

    /// Wakes the workers of this process so they look for due jobs now rather than at their
    /// next poll.
    pub fn wake(&self) {
        // notify_one keeps a permit when no worker is waiting at this instant;
        // notify_waiters reaches every worker that is.
        self.wake.notify_one();
        self.wake.notify_waiters();
    }

    pub(crate) fn wake_signal(&self) -> &Notify {
        &self.wake
    }

    /// Counts jobs by state.
    pub async fn stats(&self) -> Result<Stats, sqlx::Error> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(self.store.pool())
            .await?;
        let mut stats = Stats::default();
        for row in rows {
            let state: String = row.try_get("state")?;
            let n: i64 = row.try_get("n")?;
            match JobState::parse(&state) {
                Some(JobState::Queued) => stats.queued = n,
                Some(JobState::Running) => stats.running = n,
                Some(JobState::Done) => stats.done = n,
                Some(JobState::Failed) => stats.failed = n,
                None => tracing::warn!(state, "jobs table holds an unknown state"),
            }
        }
        Ok(stats)
    }

    /// One job by id; `None` if it does not exist (or was pruned after it was done).
    pub async fn job(&self, id: i64) -> Result<Option<JobInfo>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, kind, payload, state, unique_key, run_at, attempts, max_attempts, \
                    last_error, created_at, finished_at \
             FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let state: String = row.try_get("state")?;
        let payload: String = row.try_get("payload")?;
        Ok(Some(JobInfo {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            payload: serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
            state: JobState::parse(&state).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown job state {state:?}").into())
            })?,
            unique_key: row.try_get("unique_key")?,
            run_at_ms: row.try_get("run_at")?,
            attempts: to_u32(row.try_get("attempts")?),
            max_attempts: to_u32(row.try_get("max_attempts")?),
            last_error: row.try_get("last_error")?,
            created_at_ms: row.try_get("created_at")?,
            finished_at_ms: row.try_get("finished_at")?,
        }))
    }
}

pub(crate) fn to_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}
