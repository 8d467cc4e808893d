//! Who may speak in, and join, a room: the app's rules (mutes and kicks by the room's
//! owner and admins) asked by the gateway. Without a policy everyone may.
//!
//! The gateway asks on every danmaku (op 4) and on every join (auth with a room, op 12),
//! so an implementation should answer from memory almost always.

use std::future::Future;
use std::pin::Pin;

/// Why a user may not speak in or join a room; becomes an op 24 error
/// `{"code", "message", "op", "until"?}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// Stable snake_case code, e.g. `muted`, `kicked`.
    pub code: &'static str,
    pub message: String,
    /// When the refusal ends (ms since the Unix epoch), if it does.
    pub until: Option<i64>,
}

pub type PolicyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + 'a>>;

/// The app's room rules. `room` is the bare id (`"123"` for `live://123`).
pub trait RoomPolicy: Send + Sync + 'static {
    /// May `user` send a message to `room` now?
    fn may_speak<'a>(&'a self, room: &'a str, user: i64) -> PolicyFuture<'a>;
    /// May `user` join `room` now?
    fn may_join<'a>(&'a self, room: &'a str, user: i64) -> PolicyFuture<'a>;
}
