//! What the notifications context tells sockets. At most once: a client that missed a
//! push reads its inbox from its last `seq` (and every socket does on connecting).

use bus::{Event, Subject};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A notification was stored in `user_id`'s inbox as `seq`: their sockets get op 25.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notified {
    pub user_id: i64,
    pub seq: i64,
    /// The notification's kind (a string, so that a node that does not know a newer
    /// kind still delivers it).
    pub kind: String,
    pub actor_id: Option<i64>,
    pub payload: Box<RawValue>,
    pub created_at: i64,
}

impl Event for Notified {
    const KIND: &'static str = "notified";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_user(self.user_id, "notification")
    }
}

/// An operator's announcement: every socket of every node gets op 25 at once (and
/// every inbox copies it when next read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Announced {
    pub announcement_id: i64,
    pub title: String,
    pub body: String,
    pub created_at: i64,
}

impl Event for Announced {
    const KIND: &'static str = "announced";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_context("notifications", "announcement")
    }
}
