//! The worker: claims due jobs, runs their handlers a bounded number at a time, records
//! what happened, fires schedules, and keeps the queue tidy.
//!
//! Idle, a worker costs one claim query per poll interval; busy, one claim query per batch
//! of free slots, plus one update per job (and one lease extension per third of a lease
//! for long jobs).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use serde_json::Value;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::claim::{self, Claimed};
use crate::retry::backoff;
use crate::schedule::Schedule;
use crate::{Handler, JobContext, JobError, Queue};

/// Errors longer than this are cut before they are stored.
const MAX_ERROR_LEN: usize = 2000;

/// How a worker runs. `WorkerConfig::default()` suits a production node.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names the worker in `jobs.locked_by` and in logs. Default: `{HOSTNAME}:{pid}:{n}`.
    pub name: String,
    /// Jobs run at the same time by this worker. Default 4.
    pub concurrency: usize,
    /// How often an idle worker looks for due jobs. Jobs enqueued through a [`Queue`] of
    /// this process wake it at once; this bounds the delay for jobs enqueued by other
    /// nodes, in transactions, or due later. Default 500 ms.
    pub poll_interval: Duration,
    /// How long a claim holds a job before another worker may take it, extended while the
    /// handler runs. It bounds how long a crashed worker's jobs wait. Default 60 s.
    pub lease: Duration,
    /// The wait after the first failed attempt; it doubles after each. Default 1 s.
    pub retry_base: Duration,
    /// The longest wait between attempts. Default 1 hour.
    pub retry_cap: Duration,
    /// How long done jobs are kept before they are deleted; zero deletes them as they
    /// finish. Failed jobs are always kept. Default 1 hour.
    pub keep_done: Duration,
    /// How often the worker refreshes the gauges, fails jobs whose last lease lapsed and
    /// prunes done jobs. Default 5 s.
    pub maintenance_interval: Duration,
    /// After the shutdown signal, how long running jobs may take to finish before they are
    /// cut short and handed back to the queue. Default 10 s.
    pub shutdown_grace: Duration,
}

static WORKER_SEQ: AtomicU64 = AtomicU64::new(0);

impl Default for WorkerConfig {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        WorkerConfig {
            name: format!(
                "{host}:{}:{}",
                std::process::id(),
                WORKER_SEQ.fetch_add(1, Ordering::Relaxed)
            ),
            concurrency: 4,
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(60),
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(3600),
            keep_done: Duration::from_secs(3600),
            maintenance_interval: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Runs jobs from a [`Queue`]: register handlers by kind and schedules, then [`Worker::run`].
pub struct Worker {
    queue: Queue,
    config: WorkerConfig,
    handlers: HashMap<String, Arc<dyn Handler>>,
    schedules: Vec<Schedule>,
}

impl Worker {
    pub fn new(queue: Queue, config: WorkerConfig) -> Worker {
        Worker {
            queue,
            config,
            handlers: HashMap::new(),
            schedules: Vec::new(),
        }
    }

    /// Runs jobs of `kind` with `handler` (replacing an earlier one for that kind).
    /// A claimed job whose kind has no handler is failed with an error saying so.
    pub fn handle<H: Handler>(mut self, kind: &str, handler: H) -> Worker {
        self.handlers.insert(kind.to_string(), Arc::new(handler));
        self
    }

    /// Enqueues a `kind` job with `payload` once per `interval` (slots aligned to the Unix
    /// epoch), under the unique key `"{name}:{slot start in ms}"`. Across nodes and
    /// restarts each slot is enqueued once; the current slot runs when the worker starts
    /// unless it already ran, and slots missed while no node ran collapse into that one.
    ///
    /// The handler for `kind` may live on another node. Panics if `interval` is under a
    /// millisecond.
    pub fn every(mut self, name: &str, interval: Duration, kind: &str, payload: Value) -> Worker {
        self.schedules
            .push(Schedule::new(name, interval, kind, payload));
        self
    }

    /// Runs until `shutdown` resolves, then stops claiming, gives running jobs
    /// [`WorkerConfig::shutdown_grace`] to finish, and hands back the ones that did not.
    /// Database errors are logged and retried at the next poll; they never stop the worker.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let Worker {
            queue,
            config,
            handlers,
            schedules,
        } = self;
        let config = Arc::new(config);
        let handlers = Arc::new(handlers);
        let lease_ms = millis(config.lease).max(1);
        let concurrency = config.concurrency.max(1);
        // The jobs in flight, to hand back those cut short at shutdown.
        let in_flight: InFlight = Arc::default();
        let mut tasks = JoinSet::new();
        // When each schedule next needs a look (ms since the epoch); now at start.
        let mut schedule_due: Vec<i64> = vec![0; schedules.len()];
        let mut maintenance_due = Instant::now();
        let mut warned: HashSet<&'static str> = HashSet::new();
        tracing::info!(
            worker = %config.name,
            kinds = ?handlers.keys().collect::<Vec<_>>(),
            schedules = schedules.len(),
            "job worker started"
        );
        tokio::pin!(shutdown);
        loop {
            while tasks.try_join_next().is_some() {}

            let now = kit::time::now_ms();
            for (s, due) in schedules.iter().zip(schedule_due.iter_mut()) {
                if *due > now {
                    continue;
                }
                match s.tick(&queue).await {
                    Ok((id, next)) => {
                        if let Some(id) = id {
                            tracing::debug!(schedule = %s.name, job = id, "schedule enqueued");
                        }
                        *due = next;
                    }
                    Err(e) => {
                        tracing::warn!(schedule = %s.name, "cannot enqueue a scheduled job: {e}");
                        *due = now.saturating_add(millis(config.poll_interval));
                    }
                }
            }

            if Instant::now() >= maintenance_due {
                maintain(&queue, &config, &mut warned).await;
                maintenance_due = Instant::now() + config.maintenance_interval;
            }

            let free = concurrency.saturating_sub(tasks.len());
            if free > 0 {
                match claim::claim(queue.store(), &config.name, lease_ms, free).await {
                    Ok(claimed) => {
                        for job in claimed {
                            lock(&in_flight).insert(job.id, job.clone());
                            tasks.spawn(run_job(
                                queue.clone(),
                                config.clone(),
                                handlers.clone(),
                                in_flight.clone(),
                                job,
                            ));
                        }
                    }
                    Err(e) => tracing::warn!(worker = %config.name, "cannot claim jobs: {e}"),
                }
            }

            let mut wake_at = Instant::now() + config.poll_interval;
            wake_at = wake_at.min(maintenance_due);
            if let Some(next) = schedule_due.iter().min() {
                let wait = next.saturating_sub(kit::time::now_ms()).max(0);
                wake_at = wake_at.min(Instant::now() + Duration::from_millis(wait as u64));
            }
            // At capacity a wake-up could not be acted on; a finished job makes room and the
            // claim after it finds the new job anyway.
            let at_capacity = tasks.len() >= concurrency;
            tokio::select! {
                _ = &mut shutdown => break,
                _ = queue.wake_signal().notified(), if !at_capacity => {}
                _ = tokio::time::sleep_until(wake_at) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }

        tracing::info!(worker = %config.name, running = tasks.len(), "job worker stopping");
        let drained = tokio::time::timeout(config.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tasks.shutdown().await;
            let cut: Vec<Claimed> = lock(&in_flight).drain().map(|(_, job)| job).collect();
            for job in cut {
                match job.release(queue.store()).await {
                    Ok(_) => tracing::info!(job = job.id, kind = %job.kind, "job handed back"),
                    Err(e) => tracing::warn!(
                        job = job.id,
                        "cannot hand the job back; it runs again when its lease lapses: {e}"
                    ),
                }
            }
        }
        tracing::info!(worker = %config.name, "job worker stopped");
    }
}

/// One attempt: run the handler (catching panics, extending the lease meanwhile) and store
/// the outcome.
async fn run_job(
    queue: Queue,
    config: Arc<WorkerConfig>,
    handlers: Arc<HashMap<String, Arc<dyn Handler>>>,
    in_flight: InFlight,
    job: Claimed,
) {
    let store = queue.store().clone();
    let lease_ms = millis(config.lease).max(1);
    let outcome = match handlers.get(&job.kind).cloned() {
        None => Err(JobError::permanent(format!(
            "no handler is registered for job kind {:?}; register one with Worker::handle",
            job.kind
        ))),
        Some(handler) => {
            let ctx = JobContext {
                id: job.id,
                kind: job.kind.clone(),
                payload: job.payload.clone(),
                attempt: job.attempt_u32(),
                max_attempts: job.max_attempts_u32(),
                unique_key: job.unique_key.clone(),
                queue: queue.clone(),
            };
            // The handler is called inside the guarded future, so a panic before its first
            // await is caught as well.
            let attempt = AssertUnwindSafe(async move { handler.call(ctx).await }).catch_unwind();
            tokio::pin!(attempt);
            let beat = Duration::from_millis((lease_ms / 3).max(1) as u64);
            let mut heartbeat = tokio::time::interval_at(Instant::now() + beat, beat);
            loop {
                tokio::select! {
                    result = &mut attempt => {
                        break result.unwrap_or_else(|panic| Err(JobError::new(format!(
                            "the handler panicked: {}",
                            panic_message(panic.as_ref())
                        ))));
                    }
                    _ = heartbeat.tick() => match job.extend_lease(&store, lease_ms).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(
                            job = job.id,
                            kind = %job.kind,
                            "lost the job's lease; another worker may be running it too"
                        ),
                        Err(e) => tracing::warn!(job = job.id, "cannot extend the job's lease: {e}"),
                    },
                }
            }
        }
    };
    record(&store, &config, &job, outcome).await;
    lock(&in_flight).remove(&job.id);
}

/// Stores the outcome of an attempt and counts it.
async fn record(
    store: &store::Store,
    config: &WorkerConfig,
    job: &Claimed,
    outcome: Result<(), JobError>,
) {
    let kind = job.kind.clone();
    let result = match outcome {
        Ok(()) => {
            let r = job.complete(store, !config.keep_done.is_zero()).await;
            if matches!(r, Ok(true)) {
                metrics::counter!("jobs_completed_total", "kind" => kind).increment(1);
                tracing::debug!(job = job.id, kind = %job.kind, "job done");
            }
            r
        }
        Err(err) if err.deferred().is_some() => {
            let wait = err.deferred().unwrap_or_default();
            let run_at = kit::time::now_ms().saturating_add(millis(wait));
            let r = job.release_at(store, run_at).await;
            if matches!(r, Ok(true)) {
                metrics::counter!("jobs_deferred_total", "kind" => kind).increment(1);
                tracing::debug!(job = job.id, kind = %job.kind, "job deferred: {}", err.message());
            }
            r
        }
        Err(err) => {
            let message = truncate(err.message());
            if err.is_permanent() || job.attempt >= job.max_attempts {
                let r = job.fail(store, &message).await;
                if matches!(r, Ok(true)) {
                    metrics::counter!("jobs_failed_total", "kind" => kind).increment(1);
                    tracing::warn!(
                        job = job.id,
                        kind = %job.kind,
                        attempt = job.attempt,
                        "job failed for good: {message}"
                    );
                }
                r
            } else {
                let wait = backoff(job.attempt_u32(), config.retry_base, config.retry_cap);
                let run_at = kit::time::now_ms().saturating_add(millis(wait));
                let r = job.retry(store, run_at, &message).await;
                if matches!(r, Ok(true)) {
                    metrics::counter!("jobs_retried_total", "kind" => kind).increment(1);
                    tracing::info!(
                        job = job.id,
                        kind = %job.kind,
                        attempt = job.attempt,
                        retry_in_ms = millis(wait),
                        "job attempt failed: {message}"
                    );
                }
                r
            }
        }
    };
    match result {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            job = job.id,
            kind = %job.kind,
            "the job's lease lapsed before it finished; its outcome was not recorded"
        ),
        Err(e) => tracing::warn!(
            job = job.id,
            kind = %job.kind,
            "cannot record the job's outcome; it runs again when its lease lapses: {e}"
        ),
    }
}

/// The periodic upkeep: fail jobs whose last lease lapsed, prune done jobs, refresh gauges.
/// Each step warns once per kind of failure while the database is unavailable.
async fn maintain(queue: &Queue, config: &WorkerConfig, warned: &mut HashSet<&'static str>) {
    let store = queue.store();
    match claim::fail_lapsed(store).await {
        Ok(kinds) => {
            warned.remove("lapsed");
            for kind in kinds {
                tracing::warn!(%kind, "job failed: the lease of its last attempt lapsed");
                metrics::counter!("jobs_failed_total", "kind" => kind).increment(1);
            }
        }
        Err(e) if warned.insert("lapsed") => {
            tracing::warn!("cannot fail jobs whose lease lapsed: {e}")
        }
        Err(_) => {}
    }
    if !config.keep_done.is_zero() {
        let before = kit::time::now_ms().saturating_sub(millis(config.keep_done));
        match claim::prune_done(store, before).await {
            Ok(_) => {
                warned.remove("prune");
            }
            Err(e) if warned.insert("prune") => tracing::warn!("cannot prune done jobs: {e}"),
            Err(_) => {}
        }
    }
    match queue.stats().await {
        Ok(s) => {
            warned.remove("stats");
            metrics::gauge!("jobs_queued").set(s.queued as f64);
            metrics::gauge!("jobs_running").set(s.running as f64);
            metrics::gauge!("jobs_failed").set(s.failed as f64);
        }
        Err(e) if warned.insert("stats") => tracing::warn!("cannot count jobs: {e}"),
        Err(_) => {}
    }
}

type InFlight = Arc<Mutex<HashMap<i64, Claimed>>>;

fn lock(in_flight: &InFlight) -> std::sync::MutexGuard<'_, HashMap<i64, Claimed>> {
    // Nothing panics while holding the lock (inserts and removals only), and a poisoned
    // map would still be accurate, so take it either way.
    in_flight
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn truncate(message: &str) -> String {
    if message.len() <= MAX_ERROR_LEN {
        return message.to_string();
    }
    let mut end = MAX_ERROR_LEN;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "a non-string panic payload"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_on_a_char_boundary() {
        let long = "é".repeat(MAX_ERROR_LEN);
        let cut = truncate(&long);
        assert!(cut.len() <= MAX_ERROR_LEN + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short"), "short");
    }
}
