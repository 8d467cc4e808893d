//! What conversations tell their members' sockets, on `momo.user.{id}.…`: one event,
//! encoded once, published to each member's subject ([`api::events::publish_to_users`]).
//! At most once: a client that missed one reads the conversation from its last `seq`.

use bus::{Event, Subject};
use serde::{Deserialize, Serialize};

use crate::chat::model::MessageView;

/// A message was stored in a conversation (after the commit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageAppended {
    pub message: MessageView,
}

impl Event for MessageAppended {
    const KIND: &'static str = "message_appended";
    const VERSION: u16 = 1;
    /// Addressed to no member in particular; published to each one's `momo.user.{id}.message`.
    fn subject(&self) -> Subject {
        Subject::of_context("talk", "message")
    }
}

/// A message was recalled: members show a tombstone in its place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecalled {
    pub conversation_id: i64,
    pub seq: i64,
    pub recalled_at: i64,
    pub recalled_by: i64,
}

impl Event for MessageRecalled {
    const KIND: &'static str = "message_recalled";
    const VERSION: u16 = 1;
    /// Addressed to no member in particular; published to each one's `momo.user.{id}.message`.
    fn subject(&self) -> Subject {
        Subject::of_context("talk", "recall")
    }
}
