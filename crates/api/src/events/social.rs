//! What the social graph tells the others, on `momo.user.{id}.graph`: at most once. A
//! node that misses one keeps what it cached of the two users' graphs until that
//! entry's own time to live runs out (seconds).

use bus::{Event, Subject};
use serde::{Deserialize, Serialize};

/// `actor` followed, unfollowed, blocked or unblocked `target`: what is cached of
/// either's graph (whom they follow, whom they see) is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphChanged {
    pub actor: i64,
    pub target: i64,
}

impl Event for GraphChanged {
    const KIND: &'static str = "graph_changed";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_user(self.actor, "graph")
    }
}
