//! The `notices.deliver` job: a notice another context asked for ([`api::notices`]),
//! stored in the recipient's inbox once, however often the job runs.

use std::time::Duration;

use api::notices::{NoticeRequest, VERSION};
use jobs::{JobContext, JobError};

use crate::notifications::notify::{notify_once, Once};
use crate::IdentityState;

/// How long a request of a newer format waits for a node that reads it.
const NEWER_WAITS: Duration = Duration::from_secs(30);

/// Stores the requested notice, keyed by the job, and pushes it.
pub async fn run_job(state: &IdentityState, job: &JobContext) -> Result<(), JobError> {
    let version = job.payload.get("v").and_then(|v| v.as_u64()).unwrap_or(0);
    if version > u64::from(VERSION) {
        metrics::counter!("notices_deferred_total").increment(1);
        return Err(JobError::later(
            NEWER_WAITS,
            format!("a notice request of version {version}, newer than this node's"),
        ));
    }
    let req: NoticeRequest = job.payload_as()?;
    let key = format!("job:{}", job.id);
    match notify_once(state, req.user_id, req.notification(), &key).await {
        Ok(Once::Stored) => Ok(()),
        Ok(Once::AlreadyStored) => {
            tracing::info!(
                job = job.id,
                "a notice request delivered again: stored once"
            );
            Ok(())
        }
        Ok(Once::NoUser) => {
            tracing::debug!(user = req.user_id, "a notice for a user who is gone");
            Ok(())
        }
        Err(e) => Err(JobError::new(e)),
    }
}
