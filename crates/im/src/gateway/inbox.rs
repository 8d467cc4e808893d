//! The user's notifications inbox, as the gateway sees it: the app keeps the
//! notifications (numbered 1, 2, 3, … per user); the gateway asks it for what a client
//! missed (op 26) and tells it how far the client has read (op 28). New notifications
//! reach connected clients as op 25 pushes, sent by the app through
//! [`Gateway::push_users`](super::Gateway::push_users). Without an inbox the socket
//! forms answer `unavailable`.

use super::history::HistoryFuture;

/// What an inbox sync returns: notifications (JSON, in sequence order), whether the
/// answer was cut short (sync again after the last one), and the user's positions.
#[derive(Debug, Clone, Default)]
pub struct InboxPage {
    pub notifications: Vec<serde_json::Value>,
    pub more: bool,
    /// The newest sequence number in the inbox.
    pub last_seq: i64,
    /// How far the user has read.
    pub read_seq: i64,
}

/// The read position after an op 28, and what is left unread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxPosition {
    pub read_seq: i64,
    pub unread: i64,
}

/// The app's store of notifications.
pub trait Inbox: Send + Sync + 'static {
    /// `user`'s notifications after `after_seq`, at most `limit`.
    fn sync(&self, user: i64, after_seq: i64, limit: usize) -> HistoryFuture<'_, InboxPage>;
    /// `user` has read up to `seq`; returns the position now (it never moves back).
    fn read(&self, user: i64, seq: i64) -> HistoryFuture<'_, InboxPosition>;
}
