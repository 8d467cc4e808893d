//! `POST /api/v1/conversations/{id}/read`: the caller has read up to `seq`.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::TalkState;
use api::error::Result;
use api::http::{Auth, Body, IdPath};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    pub seq: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadPosition {
    pub conversation_id: i64,
    pub read_seq: i64,
}

#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/read",
    tag = "chat",
    params(("id" = i64, Path, description = "Conversation id")),
    security(("bearer" = [])),
    request_body = MarkRead,
    responses(
        (status = 200, description = "The read position (it never moves back)", body = ReadPosition),
        (status = 400, description = "Beyond the last message (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 404, description = "Not a conversation of yours (`conversation_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn mark_read(
    State(state): State<TalkState>,
    auth: Auth,
    IdPath(id): IdPath,
    Body(req): Body<MarkRead>,
) -> Result<Json<ReadPosition>> {
    let read_seq = read_upto(&state, id, auth.user_id, req.seq).await?;
    Ok(Json(ReadPosition {
        conversation_id: id,
        read_seq,
    }))
}

/// Moves `user`'s read position in conversation `id` up to `seq` (never back); returns
/// the position now. 404 if not a member, 400 if `seq` is beyond the last message.
pub async fn read_upto(state: &TalkState, id: i64, user: i64, seq: i64) -> Result<i64> {
    // What was read was received.
    crate::chat::delivered::advance(state, id, user, seq, &["read_seq", "delivered_seq"]).await
}
