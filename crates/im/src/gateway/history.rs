//! Stored conversations, as the gateway sees them: the app keeps the messages; the
//! gateway asks it for what a client missed (sync, op 20), tells it what the client has
//! received (ack, op 18) and read (op 22), and hands it messages sent over the socket
//! (op 30) to store and deliver. Without a history the socket forms answer
//! `unavailable`.

use std::future::Future;
use std::pin::Pin;

/// What a sync returns: messages (JSON, in conversation then sequence order) and whether
/// the answer was cut short (sync again from the new positions).
#[derive(Debug, Clone, Default)]
pub struct SyncPage {
    pub messages: Vec<serde_json::Value>,
    pub more: bool,
}

/// Why a history call failed; `code` goes into the op 24 error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HistoryError {
    pub code: &'static str,
    pub message: String,
    /// When a time-limited refusal (`muted`) ends, in ms since the epoch.
    pub until: Option<i64>,
}

pub type HistoryFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, HistoryError>> + Send + 'a>>;

/// The app's store of conversations.
pub trait History: Send + Sync + 'static {
    /// The messages after each `(conversation_id, last_seq)` of `user`, at most `limit`.
    fn sync(
        &self,
        user: i64,
        positions: Vec<(i64, i64)>,
        limit: usize,
    ) -> HistoryFuture<'_, SyncPage>;
    /// `user` has read `conversation_id` up to `seq`; returns the read position now.
    fn read(&self, user: i64, conversation_id: i64, seq: i64) -> HistoryFuture<'_, i64>;
    /// `user`'s devices have received `conversation_id` up to `seq`; returns the delivered
    /// position now (it never moves back).
    fn ack(&self, user: i64, conversation_id: i64, seq: i64) -> HistoryFuture<'_, i64>;
    /// Stores `message` (`{"kind", "content", "client_id"}`) from `user` in
    /// `conversation_id` and delivers it to the members, as the REST send does; returns
    /// the stored message (JSON, with its `seq`).
    fn send(
        &self,
        user: i64,
        conversation_id: i64,
        message: serde_json::Value,
    ) -> HistoryFuture<'_, serde_json::Value>;
}
