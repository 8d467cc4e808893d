//! Notices for someone's inbox, asked for by any context and stored by identity.
//!
//! A context does not call identity to put a notice in an inbox: it writes a
//! [`NoticeRequest`] as a `notices.deliver` job, in the transaction that made the change
//! when it has one ([`request_in`]), or on its own ([`request`]). The job queue is a
//! durable outbox that waits for an answer: whichever node's worker claims the request
//! stores the notice and pushes it to the recipient's sockets; a worker that dies
//! half-way leaves the job to be claimed again, and the stored notice carries the job's
//! key so that a second run stores nothing. The notice reaches the inbox shortly after
//! the change's answer (the worker is woken at once on this node), not before it.
//!
//! Versioning: a request carries [`VERSION`]; a node that finds a newer one puts the job
//! back for a node that can read it, so two versions run side by side in an upgrade.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::error::Result;
use crate::people::{Notification, NotificationKind};

/// The job kind that carries a [`NoticeRequest`].
pub const DELIVER: &str = "notices.deliver";
/// The request format this build writes and reads.
pub const VERSION: u16 = 1;
/// Attempts before a request fails for good (the backoff between them grows).
const ATTEMPTS: u32 = 10;

/// "Put this notice in that user's inbox."
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeRequest {
    pub v: u16,
    pub user_id: i64,
    pub kind: NotificationKind,
    pub actor_id: Option<i64>,
    pub payload: serde_json::Value,
}

impl NoticeRequest {
    pub fn new(user_id: i64, n: Notification) -> NoticeRequest {
        NoticeRequest {
            v: VERSION,
            user_id,
            kind: n.kind,
            actor_id: n.actor_id,
            payload: n.payload,
        }
    }

    pub fn notification(&self) -> Notification {
        Notification {
            kind: self.kind,
            actor_id: self.actor_id,
            payload: self.payload.clone(),
        }
    }
}

fn job(user_id: i64, n: Notification) -> serde_json::Value {
    serde_json::to_value(NoticeRequest::new(user_id, n)).unwrap_or_default()
}

/// Asks for `n` in `user_id`'s inbox through `conn`, the caller's transaction: the
/// request exists if and only if the transaction commits. Call `queue.wake()` after the
/// commit so that it is delivered before the workers' next poll.
pub async fn request_in(
    queue: &jobs::Queue,
    conn: &mut AnyConnection,
    user_id: i64,
    n: Notification,
) -> Result<()> {
    let opts = jobs::Enqueue::default().max_attempts(ATTEMPTS);
    queue
        .enqueue_in(conn, DELIVER, job(user_id, n), opts)
        .await?;
    Ok(())
}

/// Asks for `n` in `user_id`'s inbox now, outside any transaction.
pub async fn request(queue: &jobs::Queue, user_id: i64, n: Notification) -> Result<()> {
    let opts = jobs::Enqueue::default().max_attempts(ATTEMPTS);
    queue.enqueue(DELIVER, job(user_id, n), opts).await?;
    Ok(())
}
