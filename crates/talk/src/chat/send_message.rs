//! `POST /api/v1/conversations/{id}/messages`: send a message. It is stored with the
//! conversation's next sequence number before the sender is answered, then pushed
//! (op 1000, `{"type": "message", ...}`) to every connection of every member. Sending
//! again with the same `client_id` returns the stored message and stores nothing.
//! The socket's send (op 30) goes through [`send`] too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kit::ApiError;
use serde::Deserialize;

use crate::chat::append::{append, member_ids, push_messages, NewMessage};
use crate::chat::errors::TalkError;
use crate::chat::model::{
    members_if_member, MessageKind, MessageRow, MessageView, MESSAGE_COLUMNS,
};
use crate::TalkState;
use api::error::Result;
use api::http::{Auth, Body, Fields, IdPath};

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
        (status = 403, description = "Blocked in a direct conversation (`blocked_by_user`, `user_blocked`); muted in a group (`muted`, with `until`); a muted group, for a plain member (`group_muted`)", body = kit::error::ErrorBody),
        (status = 404, description = "Not a conversation of yours (`conversation_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "The group was dissolved (`group_dissolved`)", body = kit::error::ErrorBody),
        (status = 429, description = "Sending faster than `chat.conversation_send_per_sec` (`too_many_requests`); see `Retry-After`", body = kit::error::ErrorBody),
    )
)]
pub async fn send_message(
    State(state): State<TalkState>,
    auth: Auth,
    IdPath(id): IdPath,
    Body(req): Body<SendMessage>,
) -> Result<(StatusCode, Json<MessageView>)> {
    let (created, view) = send(&state, auth.user_id, id, &req).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)))
}

/// Sends `req` from `me` to conversation `id` (REST and socket alike): the stored
/// message, and whether it is new (false: the same `client_id` was stored before).
pub async fn send(
    state: &TalkState,
    me: i64,
    id: i64,
    req: &SendMessage,
) -> Result<(bool, MessageView)> {
    let content = validate(req)?;
    let members = members_if_member(state, id, me).await?;
    let kind: String = sqlx::query_scalar("SELECT kind FROM conversations WHERE id = $1")
        .bind(id)
        .fetch_one(state.store().pool())
        .await?;
    // Blocks apply between two people; a group is not held hostage by one member's list.
    if kind == "direct" {
        for other in members.iter().filter(|m| **m != me) {
            if state.directory().blocks(*other, me).await? {
                return Err(TalkError::BlockedByUser.into());
            }
            if state.directory().blocks(me, *other).await? {
                return Err(TalkError::UserBlocked.into());
            }
        }
    }
    if let Some(existing) = find(state, id, me, &req.client_id).await? {
        return Ok((false, existing.into()));
    }
    // Only new messages draw on the sender's rate; a retry above is answered freely.
    if !state.take_message(me).await {
        return Err(ApiError::too_many_requests(
            "you are sending messages too fast; wait a moment",
            1,
        )
        .into());
    }
    let new = NewMessage {
        conversation_id: id,
        sender_id: me,
        kind: req.kind.as_str(),
        content: &content,
        client_id: Some(&req.client_id),
        now: kit::time::now_ms(),
    };
    let stored = store(state, &new).await;
    let row = match stored {
        Ok(row) => row,
        // The same client_id raced in from a retry: answer with what the winner stored.
        Err(api::error::Error::Db(e)) if store::is_unique_violation(&e) => {
            let existing = find(state, id, me, &req.client_id).await?;
            return existing
                .map(|r| (false, r.into()))
                .ok_or_else(|| api::error::Error::Db(e));
        }
        Err(e) => return Err(e),
    };
    let view = MessageView::from(row.clone());
    // Members as of the commit: a kick between the check above and the store is seen.
    let members = member_ids(state, id).await?;
    push_messages(state, &members, vec![row]).await;
    metrics::counter!("chat_messages_total").increment(1);
    Ok((true, view))
}

async fn find(
    state: &TalkState,
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

/// Takes the next sequence number and stores the message, in one transaction, after
/// checking (under the conversation's lock) that the sender may speak.
async fn store(state: &TalkState, new: &NewMessage<'_>) -> Result<MessageRow> {
    let mut tx = state.store().begin().await?;
    let row = append(&mut tx, new, true).await?;
    tx.commit().await?;
    Ok(row)
}
