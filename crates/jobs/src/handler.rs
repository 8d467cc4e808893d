//! What a handler is given, what it returns, and the trait that ties a kind to its code.

use std::fmt;
use std::future::Future;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Queue;

/// Runs the jobs of one kind. Any `Fn(JobContext) -> impl Future<Output = Result<(),
/// JobError>>` that is `Send + Sync + 'static` is a handler, so a closure or an `async fn`
/// will do; implement the trait by hand for a handler that carries state.
///
/// A job may run more than once (a worker that dies mid-job leaves it to be claimed
/// again), so a handler should be idempotent.
pub trait Handler: Send + Sync + 'static {
    fn call(&self, job: JobContext) -> BoxFuture<'static, Result<(), JobError>>;
}

impl<F, Fut> Handler for F
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    fn call(&self, job: JobContext) -> BoxFuture<'static, Result<(), JobError>> {
        Box::pin(self(job))
    }
}

/// One attempt at one job, as its handler sees it.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
    /// 1 on the first attempt.
    pub attempt: u32,
    pub max_attempts: u32,
    /// For a scheduled job, `"{schedule}:{slot start in ms}"`.
    pub unique_key: Option<String>,
    /// The queue, to enqueue follow-up jobs.
    pub queue: Queue,
}

impl JobContext {
    /// The payload as `T`. A payload that does not fit is a permanent error: trying again
    /// would not change it.
    pub fn payload_as<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        T::deserialize(&self.payload).map_err(|e| {
            JobError::permanent(format!("the {} job's payload does not fit: {e}", self.kind))
        })
    }

    /// True on the last attempt: the job fails for good if this one errs.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

/// A failed attempt. By default the job is tried again later; a [`JobError::permanent`]
/// error fails it at once.
///
/// Every `std::error::Error` converts into a retryable `JobError`, so `?` works in handlers
/// (which is also why `JobError` itself does not implement that trait).
pub struct JobError {
    message: String,
    permanent: bool,
    /// Not a failure: the handler declined to run now; try again after this long,
    /// without counting the attempt.
    later: Option<std::time::Duration>,
}

impl JobError {
    /// An error worth another attempt (a timeout, a service down).
    pub fn new(message: impl fmt::Display) -> JobError {
        JobError {
            message: message.to_string(),
            permanent: false,
            later: None,
        }
    }

    /// An error another attempt would repeat (a bad payload, a deleted target).
    pub fn permanent(message: impl fmt::Display) -> JobError {
        JobError {
            message: message.to_string(),
            permanent: true,
            later: None,
        }
    }

    /// Not now: the job goes back in the queue, due after `wait`, and this attempt does
    /// not count against its attempts (to share a scarce resource fairly, say).
    pub fn later(wait: std::time::Duration, why: impl fmt::Display) -> JobError {
        JobError {
            message: why.to_string(),
            permanent: false,
            later: Some(wait),
        }
    }

    /// The wait of a [`JobError::later`].
    pub fn deferred(&self) -> Option<std::time::Duration> {
        self.later
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn is_permanent(&self) -> bool {
        self.permanent
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for JobError {
    fn from(err: E) -> JobError {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        JobError::new(message)
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobError")
            .field("message", &self.message)
            .field("permanent", &self.permanent)
            .finish()
    }
}
