//! momo's durable delay queue and fixed-interval schedules, kept in the database.
//!
//! Jobs live in the `jobs` table of the same SQLite file or PostgreSQL database as everything
//! else, so a job survives a restart, can be enqueued in the same transaction as the write
//! that calls for it, and needs no extra server to run. It replaces asynq and cron.
//!
//! # The life of a job
//!
//! ```text
//!            enqueue                claim (lease)              Ok
//!   ───────────────────▶ queued ───────────────────▶ running ───────▶ done
//!                          ▲                           │
//!                          │   Err, attempts left:     │   Err, no attempts left,
//!                          └── run_at = now + backoff ─┤   permanent error, or
//!                                                      └─▶ unknown kind ──────▶ failed
//! ```
//!
//! - **Claiming.** A [`Worker`] takes due jobs (`run_at <= now`) with one `UPDATE … WHERE id
//!   IN (SELECT … LIMIT n) RETURNING …`. On PostgreSQL the inner select adds `FOR UPDATE SKIP
//!   LOCKED`, so workers on many nodes take disjoint jobs without waiting on each other; on
//!   SQLite the statement runs under the database's single write lock, which gives the same
//!   guarantee. No job is run by two workers at once while its lease holds.
//! - **Leases.** A claimed job is `running` until `locked_until`. The worker extends the lease
//!   while the handler runs (every third of [`WorkerConfig::lease`]). If the worker dies, the
//!   lease lapses and another worker claims the job again: delivery is *at least once*, so
//!   handlers should be idempotent. Every claim counts as an attempt, and the attempt number
//!   fences the worker: a worker that lost its lease cannot mark the job done or failed.
//! - **Retries.** A handler error puts the job back in `queued` with `run_at` pushed out by
//!   an exponential backoff (`retry_base · 2^(attempt-1)`, capped at `retry_cap`), until
//!   `max_attempts` is reached; then the job is `failed` with the last error kept. A
//!   [`JobError::permanent`] error, or a kind no handler is registered for, fails it at
//!   once. A panic in a handler is caught and counts as an ordinary (retryable) error.
//! - **Unique keys.** A job enqueued with a `unique_key` is the only queued or running job
//!   with that key (a partial unique index); enqueueing it again meanwhile returns the
//!   existing job's id. Once it is done or failed the key is free again.
//! - **History.** Done jobs are kept for [`WorkerConfig::keep_done`] (an hour by default,
//!   so an operator can see what ran) and then deleted; failed jobs are kept until someone
//!   deletes them, with their last error.
//! - **Schedules.** [`Worker::every`] enqueues a job once per slot of a fixed interval.
//!   Slots are aligned to the Unix epoch, so every node agrees on them; the last slot
//!   enqueued is kept in `job_schedules` and advanced in the same transaction as the
//!   enqueue, so several nodes never enqueue the same slot twice. Slots missed while every
//!   node was down collapse into one run when the first node comes back.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use jobs::{Enqueue, JobContext, JobError, Queue, Worker, WorkerConfig};
//!
//! # async fn example(store: store::Store) -> Result<(), Box<dyn std::error::Error>> {
//! let queue = Queue::new(store);
//!
//! // Send a welcome message in ten minutes, once per user however often this is called.
//! queue
//!     .enqueue(
//!         "welcome",
//!         serde_json::json!({"user_id": 42}),
//!         Enqueue::default()
//!             .delay(Duration::from_secs(600))
//!             .unique_key("welcome:42"),
//!     )
//!     .await?;
//!
//! let worker = Worker::new(queue.clone(), WorkerConfig::default())
//!     .handle("welcome", |job: JobContext| async move {
//!         #[derive(serde::Deserialize)]
//!         struct Welcome {
//!             user_id: i64,
//!         }
//!         let w: Welcome = job.payload_as()?;
//!         tracing::info!(user_id = w.user_id, "welcome");
//!         Ok::<(), JobError>(())
//!     })
//!     .handle("prune_sessions", |_job: JobContext| async move { Ok(()) })
//!     .every(
//!         "prune_sessions",
//!         Duration::from_secs(3600),
//!         "prune_sessions",
//!         serde_json::Value::Null,
//!     );
//! // Runs until the future resolves, then lets running jobs finish.
//! worker.run(kit::shutdown::signal()).await;
//! # Ok(())
//! # }
//! ```
//!
//! # Metrics
//!
//! Gauges `jobs_queued`, `jobs_running` and `jobs_failed` (refreshed by every worker each
//! [`WorkerConfig::maintenance_interval`]), and counters `jobs_completed_total`,
//! `jobs_retried_total` and `jobs_failed_total`, labelled by `kind`.

mod claim;
mod handler;
mod queue;
mod retry;
mod schedule;
mod worker;

pub use handler::{Handler, JobContext, JobError};
pub use queue::{Enqueue, JobInfo, JobState, Queue, Stats};
pub use worker::{Worker, WorkerConfig};
