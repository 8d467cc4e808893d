//! `GET /api/v1/conversations/{id}/messages?after_seq=N&limit=M`: the messages after
//! sequence number N, in order, with no gaps — how a client catches up after being away.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::chat::model::{members_if_member, MessageRow, MessageView, MESSAGE_COLUMNS};
use crate::TalkState;
use api::error::Result;
use api::http::{Auth, Fields, IdPath, Query};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The last sequence number the client has (default 0: from the start).
    pub after_seq: Option<i64>,
    /// At most this many messages, 1–200 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct History {
    pub items: Vec<MessageView>,
    /// Ask again with this `after_seq` for more; absent when there is no more.
    pub next_after_seq: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}/messages",
    tag = "chat",
    params(("id" = i64, Path, description = "Conversation id"), HistoryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Messages after `after_seq`, oldest first", body = History),
        (status = 404, description = "Not a conversation of yours (`conversation_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_messages(
    State(state): State<TalkState>,
    auth: Auth,
    IdPath(id): IdPath,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<History>> {
    let after = q.after_seq.unwrap_or(0);
    let limit = q.limit.unwrap_or(50);
    let mut f = Fields::new();
    f.check("after_seq", after >= 0, "must be 0 or more");
    f.check("limit", (1..=200).contains(&limit), "must be 1 to 200");
    f.finish()?;
    members_if_member(&state, id, auth.user_id).await?;
    let (rows, more) = messages_after(&state, id, after, limit).await?;
    let next_after_seq = if more {
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    Ok(Json(History {
        items: rows.into_iter().map(MessageView::from).collect(),
        next_after_seq,
    }))
}

/// Up to `limit` messages of conversation `id` after `after`, in order, and whether there
/// are more.
pub async fn messages_after(
    state: &TalkState,
    id: i64,
    after: i64,
    limit: i64,
) -> Result<(Vec<MessageRow>, bool)> {
    let mut rows = sqlx::query_as::<_, MessageRow>(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq > $2 \
         ORDER BY seq LIMIT $3"
    ))
    .bind(id)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}
