//! The SQL of a job's life after enqueue: claim with a lease, extend it, record the outcome,
//! and the upkeep every worker does (fail jobs whose last lease lapsed, prune old done jobs).
//!
//! Every statement that ends an attempt is fenced by `attempts = $n`: a claim increments
//! `attempts`, so a worker whose lease lapsed and whose job was claimed again finds its
//! attempt number stale and changes nothing.

use serde_json::Value;
use store::sqlx::{self, Row};
use store::{Backend, Store};

use crate::queue::to_u32;

/// A job this worker now holds a lease on.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
    /// This claim's attempt number (1-based); the fence for every later statement.
    pub attempt: i64,
    pub max_attempts: i64,
    pub unique_key: Option<String>,
}

/// The message kept on a job whose last attempt's lease lapsed.
const LEASE_LAPSED: &str =
    "the lease of the last attempt lapsed: its worker stopped or the handler outran its lease";

/// Claims up to `limit` due jobs (queued and due, or running with a lapsed lease and
/// attempts left) for `lease_ms`.
pub(crate) async fn claim(
    store: &Store,
    worker_id: &str,
    lease_ms: i64,
    limit: usize,
) -> Result<Vec<Claimed>, sqlx::Error> {
    // On PostgreSQL, SKIP LOCKED lets concurrent claimers pass over each other's rows
    // instead of queueing behind them; SQLite has one writer at a time and needs nothing.
    let lock = match store.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let now = kit::time::now_ms();
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, \
                         locked_until = $2, updated_at = $3 \
         WHERE id IN (SELECT id FROM jobs \
                      WHERE (state = 'queued' AND run_at <= $3) \
                         OR (state = 'running' AND locked_until < $3 \
                             AND attempts < max_attempts) \
                      ORDER BY run_at, id LIMIT $4 {lock}) \
           AND (state = 'queued' OR (state = 'running' AND locked_until < $3)) \
         RETURNING id, kind, payload, attempts, max_attempts, unique_key"
    );
    let rows = sqlx::query(&sql)
        .bind(worker_id)
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(store.writer())
        .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let payload: String = row.try_get("payload")?;
        claimed.push(Claimed {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            // Written by enqueue as JSON text; anything else is kept as a string rather
            // than losing the job.
            payload: serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
            attempt: row.try_get("attempts")?,
            max_attempts: row.try_get("max_attempts")?,
            unique_key: row.try_get("unique_key")?,
        });
    }
    Ok(claimed)
}

impl Claimed {
    pub fn attempt_u32(&self) -> u32 {
        to_u32(self.attempt)
    }

    pub fn max_attempts_u32(&self) -> u32 {
        to_u32(self.max_attempts)
    }

    /// Pushes the lease out to `lease_ms` from now. False if the job is no longer this
    /// attempt's (the lease lapsed and someone else claimed it).
    pub async fn extend_lease(&self, store: &Store, lease_ms: i64) -> Result<bool, sqlx::Error> {
        let now = kit::time::now_ms();
        let n = sqlx::query(
            "UPDATE jobs SET locked_until = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'running' AND attempts = $4",
        )
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .bind(self.id)
        .bind(self.attempt)
        .execute(store.writer())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Marks the job done: kept until pruned, or deleted at once when `keep` is false.
    pub async fn complete(&self, store: &Store, keep: bool) -> Result<bool, sqlx::Error> {
        let now = kit::time::now_ms();
        let q = if keep {
            sqlx::query(
                "UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL, \
                                 finished_at = $1, updated_at = $1 \
                 WHERE id = $2 AND state = 'running' AND attempts = $3",
            )
            .bind(now)
        } else {
            sqlx::query("DELETE FROM jobs WHERE id = $1 AND state = 'running' AND attempts = $2")
        };
        let n = q
            .bind(self.id)
            .bind(self.attempt)
            .execute(store.writer())
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Puts the job back in the queue to run at `run_at`, keeping `error`.
    pub async fn retry(
        &self,
        store: &Store,
        run_at: i64,
        error: &str,
    ) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = $1, last_error = $2, locked_by = NULL, \
                             locked_until = NULL, updated_at = $3 \
             WHERE id = $4 AND state = 'running' AND attempts = $5",
        )
        .bind(run_at)
        .bind(error)
        .bind(kit::time::now_ms())
        .bind(self.id)
        .bind(self.attempt)
        .execute(store.writer())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Fails the job for good, keeping `error`.
    pub async fn fail(&self, store: &Store, error: &str) -> Result<bool, sqlx::Error> {
        let now = kit::time::now_ms();
        let n = sqlx::query(
            "UPDATE jobs SET state = 'failed', last_error = $1, locked_by = NULL, \
                             locked_until = NULL, finished_at = $2, updated_at = $2 \
             WHERE id = $3 AND state = 'running' AND attempts = $4",
        )
        .bind(error)
        .bind(now)
        .bind(self.id)
        .bind(self.attempt)
        .execute(store.writer())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Hands the job back untried (the worker is stopping and cut the attempt short): it is
    /// due at once and the attempt does not count.
    pub async fn release(&self, store: &Store) -> Result<bool, sqlx::Error> {
        self.release_at(store, kit::time::now_ms()).await
    }

    /// Hands the job back untried, due at `run_at`; the attempt does not count.
    pub async fn release_at(&self, store: &Store, run_at: i64) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, run_at = $1, \
                             locked_by = NULL, locked_until = NULL, updated_at = $2 \
             WHERE id = $3 AND state = 'running' AND attempts = $4",
        )
        .bind(run_at)
        .bind(kit::time::now_ms())
        .bind(self.id)
        .bind(self.attempt)
        .execute(store.writer())
        .await?
        .rows_affected();
        Ok(n == 1)
    }
}

/// Fails running jobs whose lease lapsed on their last attempt (nobody may claim them
/// again); returns the kinds of the jobs failed, one entry per job.
pub(crate) async fn fail_lapsed(store: &Store) -> Result<Vec<String>, sqlx::Error> {
    let now = kit::time::now_ms();
    sqlx::query_scalar(
        "UPDATE jobs SET state = 'failed', last_error = $1, locked_by = NULL, \
                         locked_until = NULL, finished_at = $2, updated_at = $2 \
         WHERE state = 'running' AND locked_until < $2 AND attempts >= max_attempts \
         RETURNING kind",
    )
    .bind(LEASE_LAPSED)
    .bind(now)
    .fetch_all(store.writer())
    .await
}

/// Deletes done jobs that finished before `before`.
pub(crate) async fn prune_done(store: &Store, before: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < $1")
            .bind(before)
            .execute(store.writer())
            .await?
            .rows_affected(),
    )
}
