//! `POST /api/v1/conversations/direct`: the 1:1 conversation with another user, created
//! on first use.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::chat::errors::TalkError;
use crate::TalkState;
use api::error::Result;
use api::http::{Auth, Body};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDirect {
    pub user_id: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DirectConversation {
    pub id: i64,
    pub kind: &'static str,
    pub peer_id: i64,
    pub last_seq: i64,
}

#[utoipa::path(
    post,
    path = "/api/v1/conversations/direct",
    tag = "chat",
    security(("bearer" = [])),
    request_body = OpenDirect,
    responses(
        (status = 200, description = "The conversation (created if new)", body = DirectConversation),
        (status = 400, description = "With oneself (`cannot_message_self`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn open_direct(
    State(state): State<TalkState>,
    auth: Auth,
    Body(req): Body<OpenDirect>,
) -> Result<Json<DirectConversation>> {
    let me = auth.user_id;
    if req.user_id == me {
        return Err(TalkError::CannotMessageSelf.into());
    }
    state.directory().ensure_exists(req.user_id).await?;
    let (low, high) = (me.min(req.user_id), me.max(req.user_id));
    let pair = format!("{low}:{high}");
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    sqlx::query(
        "INSERT INTO conversations (kind, pair_key, created_at, updated_at) \
         VALUES ('direct', $1, $2, $2) ON CONFLICT (pair_key) DO NOTHING",
    )
    .bind(&pair)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let (id, last_seq): (i64, i64) =
        sqlx::query_as("SELECT id, last_seq FROM conversations WHERE pair_key = $1")
            .bind(&pair)
            .fetch_one(&mut *tx)
            .await?;
    for user in [low, high] {
        sqlx::query(
            "INSERT INTO conversation_members (conversation_id, user_id, joined_at) \
             VALUES ($1, $2, $3) ON CONFLICT (conversation_id, user_id) DO NOTHING",
        )
        .bind(id)
        .bind(user)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Json(DirectConversation {
        id,
        kind: "direct",
        peer_id: req.user_id,
        last_seq,
    }))
}
