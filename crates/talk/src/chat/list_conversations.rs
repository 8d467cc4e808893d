//! `GET /api/v1/conversations`: the caller's conversations, latest activity first, each
//! with its last sequence number, the caller's read position and the unread count;
//! for a direct conversation also how far the peer has received and read.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::TalkState;
use api::error::Result;
use api::http::Auth;

#[derive(Debug, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct ConversationSummary {
    pub id: i64,
    /// `direct` or `group`.
    pub kind: String,
    /// A group's name.
    pub name: Option<String>,
    /// The other member of a direct conversation.
    pub peer_id: Option<i64>,
    /// How far the other member of a direct conversation has received ("delivered").
    pub peer_delivered_seq: Option<i64>,
    /// How far the other member of a direct conversation has read ("read").
    pub peer_read_seq: Option<i64>,
    pub last_seq: i64,
    pub read_seq: i64,
    pub delivered_seq: i64,
    pub unread: i64,
    pub updated_at: i64,
    /// When a group was dissolved (it is read-only since).
    pub dissolved_at: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/conversations",
    tag = "chat",
    security(("bearer" = [])),
    responses((status = 200, description = "Conversations, latest first (at most 200)", body = [ConversationSummary]))
)]
pub async fn list_conversations(
    State(state): State<TalkState>,
    auth: Auth,
) -> Result<Json<Vec<ConversationSummary>>> {
    let rows = sqlx::query_as::<_, ConversationSummary>(
        "SELECT c.id, c.kind, c.name, p.user_id AS peer_id, \
           p.delivered_seq AS peer_delivered_seq, p.read_seq AS peer_read_seq, \
           c.last_seq, m.read_seq, m.delivered_seq, c.last_seq - m.read_seq AS unread, \
           c.updated_at, c.dissolved_at \
         FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id \
         LEFT JOIN conversation_members p ON c.kind = 'direct' \
           AND p.conversation_id = c.id AND p.user_id <> $1 \
         WHERE m.user_id = $1 ORDER BY c.updated_at DESC, c.id DESC LIMIT 200",
    )
    .bind(auth.user_id)
    .fetch_all(state.store().pool())
    .await?;
    Ok(Json(rows))
}
