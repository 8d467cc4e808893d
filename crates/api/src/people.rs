//! What a context may ask the identity context without knowing its insides: who is
//! calling, whether one user follows another, whether a user exists. (A notice for
//! someone's inbox is not asked for here but with a durable request: [`crate::notices`].)
//! The shell implements [`People`] with the identity context and gives every context's
//! state a [`Directory`] to it.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use axum::http::request::Parts;
use futures::future::BoxFuture;
use kit::ApiError;
use serde::{Deserialize, Serialize};

use crate::auth::Auth;
use crate::error::Result;

/// The identity context, as the other contexts see it.
pub trait People: Send + Sync + 'static {
    /// The caller of a request: from `Authorization: Bearer <token>`, or else the web
    /// pages' session cookie (a request that changes something must then carry the CSRF
    /// token), checked against the account's standing now (a banned account or a revoked
    /// token is refused). `Ok(None)` when the request carries neither credential (a stale
    /// session cookie counts as none).
    fn caller<'a>(&'a self, parts: &'a Parts) -> BoxFuture<'a, Result<Option<Auth>, ApiError>>;
    /// Whether `user` is an active admin, read from the database now (not the token).
    fn is_admin(&self, user: i64) -> BoxFuture<'_, Result<bool>>;
    /// Whether `follower` follows `followee`; nobody (id 0) follows anyone.
    fn follows(&self, follower: i64, followee: i64) -> BoxFuture<'_, Result<bool>>;
    /// What the others show of an active user; 404 `user_not_found` when there is
    /// none (or the account is banned).
    fn profile(&self, id: i64) -> BoxFuture<'_, Result<Profile>>;
    /// Whether `blocker` blocks `blocked`.
    fn blocks(&self, blocker: i64, blocked: i64) -> BoxFuture<'_, Result<bool>>;
    /// `Ok` when user `id` exists; 404 `user_not_found` otherwise.
    fn ensure_exists(&self, id: i64) -> BoxFuture<'_, Result<()>>;
}

/// A user as the other contexts show them: a name and a picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub nickname: String,
    pub avatar_url: Option<String>,
}

/// A handle to [`People`], cheap to clone; every context's state gives one to the
/// caller extractors ([`crate::auth`]) through axum's `FromRef`.
#[derive(Clone)]
pub struct Directory(Arc<dyn People>);

impl Directory {
    pub fn new(people: impl People) -> Directory {
        Directory(Arc::new(people))
    }
}

impl Deref for Directory {
    type Target = dyn People;

    fn deref(&self) -> &(dyn People + 'static) {
        &*self.0
    }
}

impl fmt::Debug for Directory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Directory")
    }
}

/// What a notification is about. Clients switch on it to render the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// Someone followed you: actor is the follower; payload `{}`.
    Follow,
    /// Someone sent you a gift: actor is the sender; payload as the gift use case sets it.
    Gift,
    /// An anchor you follow went live: actor is the anchor;
    /// payload `{"room_id", "title"}`.
    Live,
    /// An operator's announcement: payload `{"announcement_id", "title", "body"}`.
    Announcement,
    /// Someone liked your video (once per liker and video): actor is the liker;
    /// payload `{"video_id", "title"}`.
    VideoLike,
    /// Someone commented on your video: payload `{"video_id", "comment_id", "excerpt"}`.
    VideoComment,
    /// Someone replied to your comment: payload
    /// `{"video_id", "comment_id", "parent_id", "excerpt"}`.
    CommentReply,
    /// Something to change in your encoder while you stream: payload
    /// `{"room_id", "code", "message"}` (code `b_frames`).
    StreamWarning,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Follow => "follow",
            NotificationKind::Gift => "gift",
            NotificationKind::Live => "live",
            NotificationKind::Announcement => "announcement",
            NotificationKind::VideoLike => "video_like",
            NotificationKind::VideoComment => "video_comment",
            NotificationKind::CommentReply => "comment_reply",
            NotificationKind::StreamWarning => "stream_warning",
        }
    }
}

/// A notification to put into one or many inboxes.
#[derive(Debug, Clone)]
pub struct Notification {
    pub kind: NotificationKind,
    /// The user who caused it, if one did.
    pub actor_id: Option<i64>,
    /// A JSON object (anything else is stored as given, but clients expect an object).
    pub payload: serde_json::Value,
}
