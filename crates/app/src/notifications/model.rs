//! Notifications as given, stored and shown.

use serde::{Deserialize, Serialize};

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

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub seq: i64,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub payload: String,
    pub created_at: i64,
}

pub const NOTIFICATION_COLUMNS: &str = "seq, kind, actor_id, payload, created_at";

/// A notification as clients see it, over REST, in socket syncs and in op 25 pushes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    /// Consecutive within the user's inbox, from 1. `null` only in the live push of an
    /// announcement, which gets its number when the inbox is next read.
    pub seq: Option<i64>,
    /// `follow`, `gift`, `live`, `announcement`, `video_like`, `video_comment` or
    /// `comment_reply`.
    pub kind: String,
    pub actor_id: Option<i64>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: i64,
}

impl From<NotificationRow> for NotificationView {
    fn from(r: NotificationRow) -> Self {
        NotificationView {
            seq: Some(r.seq),
            kind: r.kind,
            actor_id: r.actor_id,
            payload: serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null),
            created_at: r.created_at,
        }
    }
}
