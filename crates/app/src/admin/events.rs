//! What the accounts side tells the others, on `momo.user.{id}.…`.

use bus::{Event, Subject};
use serde::{Deserialize, Serialize};

/// An operator banned an account: every node closes its chat connections. Durable
/// (through the outbox); a node whose queue overflowed closes the connections of every
/// banned account it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserBanned {
    pub user_id: i64,
}

impl Event for UserBanned {
    const KIND: &'static str = "user_banned";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_user(self.user_id, "banned")
    }
}
