//! The questions a session asks its host, and the answers it takes back.
//!
//! Some are answered from the gateway's memory at once (which room, how many online, the
//! rate limit), others by the app, perhaps from its database (the token, the room's rules,
//! conversations, the inbox); the session does not know or care which. It waits for the
//! answer to one question before it goes on.

use crate::gateway::history::{HistoryError, SyncPage};
use crate::gateway::inbox::{InboxPage, InboxPosition};
use crate::gateway::policy::Refusal;
use crate::gateway::{AuthError, Identity};

/// A question from the session, in [`Output::Ask`](super::Output::Ask).
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    /// Who does this access token belong to? → [`Answer::Identity`].
    Authenticate { token: String },
    /// Register the signed-in connection of `user_id` (0: a guest), accepting `accepts`
    /// (empty: everything), under goim's connection `key` (made up when `None`), over
    /// [`Session::wire`](super::Session::wire). → [`Answer::Registered`].
    Register {
        user_id: i64,
        accepts: Vec<u32>,
        key: Option<String>,
    },
    /// May `user` join `room`? Yes without a room policy. → [`Answer::Policy`].
    MayJoin { room: String, user: i64 },
    /// Move the connection into `room` (out of any with `None`). → [`Answer::Online`]
    /// with the room's count.
    ChangeRoom { room: Option<String> },
    /// How many are in the connection's room (0 in none)? → [`Answer::Online`].
    Online,
    /// Which room is the connection in? → [`Answer::Room`].
    Room,
    /// May `user` speak in `room`? Yes without a room policy. → [`Answer::Policy`].
    MaySpeak { room: String, user: i64 },
    /// Has `user` a room message left in their rate? → [`Answer::MaySend`].
    MaySend { user: i64 },
    /// The room message `text` after the sensitive-word filter. → [`Answer::Filtered`].
    Filter { text: String },
    /// Add `ops` to (`add`) or remove them from the operations the connection accepts.
    /// → [`Answer::Accepts`].
    UpdateAccepts { ops: Vec<u32>, add: bool },
    /// `user`'s messages after each `(conversation_id, last_seq)`, at most `limit`.
    /// → [`Answer::Synced`].
    Sync {
        user: i64,
        positions: Vec<(i64, i64)>,
        limit: usize,
    },
    /// `user` has read `conversation_id` up to `seq`. → [`Answer::Position`].
    Read {
        user: i64,
        conversation_id: i64,
        seq: i64,
    },
    /// `user`'s devices have received `conversation_id` up to `seq`.
    /// → [`Answer::Position`].
    Ack {
        user: i64,
        conversation_id: i64,
        seq: i64,
    },
    /// Store and deliver `message` from `user` in `conversation_id`.
    /// → [`Answer::Stored`].
    SendMessage {
        user: i64,
        conversation_id: i64,
        message: serde_json::Value,
    },
    /// `user`'s notifications after `after_seq`, at most `limit`. → [`Answer::Inbox`].
    InboxSync {
        user: i64,
        after_seq: i64,
        limit: usize,
    },
    /// `user` has read their notifications up to `seq`. → [`Answer::InboxRead`].
    InboxRead { user: i64, seq: i64 },
}

/// The host's answer to the session's last [`Ask`].
#[derive(Debug, Clone)]
pub enum Answer {
    Identity(Result<Identity, AuthError>),
    /// goim's key for the connection, as chosen or made up.
    Registered {
        key: String,
    },
    Policy(Result<(), Refusal>),
    Online(u32),
    Room(Option<String>),
    MaySend(bool),
    /// The text to deliver, `None` when it must be refused.
    Filtered(Option<String>),
    /// The operations accepted now (empty: everything).
    Accepts(Vec<u32>),
    Synced(Result<SyncPage, HistoryError>),
    Position(Result<i64, HistoryError>),
    Stored(Result<serde_json::Value, HistoryError>),
    Inbox(Result<InboxPage, HistoryError>),
    InboxRead(Result<InboxPosition, HistoryError>),
}

/// An answer to no question, or to another question than the one asked: a bug in the
/// host. The session is as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the session did not ask for this answer")]
pub struct UnexpectedAnswer;
