//! Conversations and messages as stored and as shown.

use serde::{Deserialize, Serialize};

use crate::chat::errors::TalkError;
use crate::TalkState;
use api::error::Result;

/// What a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// `{"text": "..."}`
    Text,
    /// `{"url": "https://...", ...metadata}`
    Image,
    Voice,
    Video,
    /// Any JSON object the client apps agree on.
    Custom,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::Voice => "voice",
            MessageKind::Video => "video",
            MessageKind::Custom => "custom",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub conversation_id: i64,
    pub seq: i64,
    pub sender_id: i64,
    pub kind: String,
    pub content: String,
    pub client_id: String,
    pub created_at: i64,
    pub recalled_at: Option<i64>,
    pub recalled_by: Option<i64>,
}

/// The columns of a new message.
pub const NEW_MESSAGE_COLUMNS: &str =
    "conversation_id, seq, sender_id, kind, content, client_id, created_at";

/// The columns of a [`MessageRow`].
pub const MESSAGE_COLUMNS: &str =
    "conversation_id, seq, sender_id, kind, content, client_id, created_at, recalled_at, \
     recalled_by";

/// A message as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageView {
    pub conversation_id: i64,
    /// Consecutive within the conversation, from 1.
    pub seq: i64,
    pub sender_id: i64,
    /// What the client sent (`text`, `image`, …); `system` for membership changes
    /// (content `{"event": ...}`); `recalled` for a recalled message (content `{}`).
    pub kind: String,
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    pub client_id: String,
    pub created_at: i64,
    /// When a recalled message was recalled (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recalled_at: Option<i64>,
    /// Who recalled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recalled_by: Option<i64>,
}

impl From<MessageRow> for MessageView {
    fn from(r: MessageRow) -> Self {
        MessageView {
            conversation_id: r.conversation_id,
            seq: r.seq,
            sender_id: r.sender_id,
            kind: r.kind,
            content: serde_json::from_str(&r.content).unwrap_or(serde_json::Value::Null),
            client_id: r.client_id,
            created_at: r.created_at,
            recalled_at: r.recalled_at,
            recalled_by: r.recalled_by,
        }
    }
}

/// The members of conversation `id`, if `user` is one of them; else 404
/// `conversation_not_found` (whether it exists is nobody else's business).
pub async fn members_if_member(state: &TalkState, id: i64, user: i64) -> Result<Vec<i64>> {
    let members: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM conversation_members WHERE conversation_id = $1 ORDER BY user_id",
    )
    .bind(id)
    .fetch_all(state.store().pool())
    .await?;
    if members.contains(&user) {
        Ok(members)
    } else {
        Err(TalkError::ConversationNotFound.into())
    }
}
