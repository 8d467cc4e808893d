//! Notifications as given, stored and shown.

use serde::Serialize;

pub use api::people::{Notification, NotificationKind};

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
    /// `follow`, `gift`, `live`, `announcement`, `video_like`, `video_comment`,
    /// `comment_reply` or `stream_warning`.
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
