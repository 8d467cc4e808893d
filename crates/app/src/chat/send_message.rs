//! `POST /api/v1/conversations/{id}/messages`: send a message. It is stored with the
//! conversation's next sequence number before the sender is answered, then pushed
//! (op 1000, `{"type": "message", ...}`) to every connection of every member. Sending
//! again with the same `client_id` returns the stored message and stores nothing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use bytes::Bytes;
use kit::ApiError;
use serde::Deserialize;

use crate::chat::model::{
    members_if_member, MessageKind, MessageRow, MessageView, MESSAGE_COLUMNS,
};
use crate::error::Result;
use crate::http::{Auth, Body, Fields, IdPath};
use crate::AppState;

/// Largest message content, as JSON text.
pub const MAX_CONTENT: usize = 8 * 1024;
/// Longest text message, in characters.
pub const MAX_TEXT: usize = 4000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    pub kind: MessageKind,
    /// `{"text": ...}` for text; `{"url": "https://...", ...}` for image, voice and video;
    /// any object for custom. At most 8 KiB as JSON.
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    /// The sender's key for this message (1–64 characters): retries with the same key
    /// are answered with the first result.
    pub client_id: String,
}

fn validate(req: &SendMessage) -> std::result::Result<String, ApiError> {
    let mut f = Fields::new();
    f.check(
        "client_id",
        (1..=64).contains(&req.client_id.chars().count()),
        "must be 1 to 64 characters",
    );
    let content = req.content.to_string();
    f.check(
        "content",
        content.len() <= MAX_CONTENT,
        "must be at most 8 KiB of JSON",
    );
    f.check("content", req.content.is_object(), "must be a JSON object");
    match req.kind {
        MessageKind::Text => {
            let text = req
                .content
                .get("text")
                .and_then(|t| t.as_str())
                .unwrap_or("");
            f.check(
                "content",
                !text.trim().is_empty() && text.chars().count() <= MAX_TEXT,
                "a text message needs {\"text\": \"...\"} of 1 to 4000 characters",
            );
        }
        MessageKind::Image | MessageKind::Voice | MessageKind::Video => {
            let url = req
                .content
                .get("url")
                .and_then(|u| u.as_str())
                .unwrap_or("");
            f.check(
                "content",
                url.starts_with("https://") || url.starts_with("http://"),
                "a media message needs {\"url\": \"https://...\"}",
            );
        }
        MessageKind::Custom => {}
    }
    f.finish()?;
    Ok(content)
}

#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/messages",
    tag = "chat",
    params(("id" = i64, Path, description = "Conversation id")),
    security(("bearer" = [])),
    request_body = SendMessage,
    responses(
        (status = 201, description = "Stored, with its sequence number", body = MessageView),
        (status = 200, description = "Already stored under this client_id", body = MessageView),
        (status = 400, description = "Bad content (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 403, description = "Blocked (`blocked_by_user`, `user_blocked`)", body = kit::error::ErrorBody),
        (status = 404, description = "Not a conversation of yours (`conversation_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn send_message(
    State(state): State<AppState>,
    auth: Auth,
    IdPath(id): IdPath,
    Body(req): Body<SendMessage>,
) -> Result<(StatusCode, Json<MessageView>)> {
    let content = validate(&req)?;
    let me = auth.user_id;
    let members = members_if_member(&state, id, me).await?;
    for other in members.iter().filter(|m| **m != me) {
        if crate::social::blocks(state.store().pool(), *other, me).await? {
            return Err(ApiError::forbidden(
                "blocked_by_user",
                "this user does not accept your messages",
            )
            .into());
        }
        if crate::social::blocks(state.store().pool(), me, *other).await? {
            return Err(ApiError::forbidden(
                "user_blocked",
                "you block this user; unblock them first",
            )
            .into());
        }
    }
    if let Some(existing) = find(&state, id, me, &req.client_id).await? {
        return Ok((StatusCode::OK, Json(existing.into())));
    }
    let now = kit::time::now_ms();
    let stored = store(&state, id, me, &req, &content, now).await;
    let row = match stored {
        Ok(row) => row,
        // The same client_id raced in from a retry: answer with what the winner stored.
        Err(crate::error::Error::Db(e)) if store::is_unique_violation(&e) => {
            let existing = find(&state, id, me, &req.client_id).await?;
            return existing
                .map(|r| (StatusCode::OK, Json(r.into())))
                .ok_or_else(|| crate::error::Error::Db(e));
        }
        Err(e) => return Err(e),
    };
    let view = MessageView::from(row);
    if let Some(gw) = state.chat() {
        let body = serde_json::json!({"type": "message", "message": &view}).to_string();
        gw.push_users(&members, im::proto::op::MESSAGE, Bytes::from(body));
    }
    metrics::counter!("chat_messages_total").increment(1);
    Ok((StatusCode::CREATED, Json(view)))
}

async fn find(
    state: &AppState,
    id: i64,
    sender: i64,
    client_id: &str,
) -> Result<Option<MessageRow>> {
    Ok(sqlx::query_as::<_, MessageRow>(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages \
         WHERE conversation_id = $1 AND sender_id = $2 AND client_id = $3"
    ))
    .bind(id)
    .bind(sender)
    .bind(client_id)
    .fetch_optional(state.store().pool())
    .await?)
}

/// Takes the next sequence number and stores the message, in one transaction.
async fn store(
    state: &AppState,
    id: i64,
    sender: i64,
    req: &SendMessage,
    content: &str,
    now: i64,
) -> Result<MessageRow> {
    let mut tx = state.store().begin().await?;
    let seq: i64 = sqlx::query_scalar(
        "UPDATE conversations SET last_seq = last_seq + 1, updated_at = $1 WHERE id = $2 \
         RETURNING last_seq",
    )
    .bind(now)
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let row = sqlx::query_as::<_, MessageRow>(&format!(
        "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         RETURNING {MESSAGE_COLUMNS}"
    ))
    .bind(id)
    .bind(seq)
    .bind(sender)
    .bind(req.kind.as_str())
    .bind(content)
    .bind(&req.client_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    // The sender has read what they wrote.
    sqlx::query(
        "UPDATE conversation_members SET read_seq = $1 \
         WHERE conversation_id = $2 AND user_id = $3 AND read_seq < $1",
    )
    .bind(seq)
    .bind(id)
    .bind(sender)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}
