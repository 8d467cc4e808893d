//! `POST /api/v1/conversations/{id}/messages/{seq}/recall`: take a message back.
//!
//! The sender may recall their message within `[chat] recall_window_secs` (120 s) of
//! sending it; a group's owner and admins may recall any message at any time (they
//! moderate the group). The message keeps its seq, but its content is replaced by a
//! tombstone (`kind: "recalled"`, `content: {}`, `recalled_at`, `recalled_by`), so a
//! sync from before it returns the tombstone. Clients that already hold it learn it
//! twice over: online ones from a push (op 1000 `{"type": "recall", "conversation_id",
//! "seq", "recalled_at", "recalled_by"}`), and everyone from a `system` message
//! (`{"event": "recalled", "seq", "by"}`) appended after it, which a later sync returns.

use axum::extract::State;
use axum::Json;
use serde_json::json;

use crate::chat::append::{
    conversation_not_found, group_dissolved, member_ids, push_messages, system,
};
use crate::chat::errors::TalkError;
use crate::chat::events::MessageRecalled;
use crate::chat::model::{MessageRow, MessageView, MESSAGE_COLUMNS};
use crate::groups::model::role_of;
use crate::TalkState;
use api::error::Result;
use api::http::{Auth, IdPairPath};

#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/messages/{seq}/recall",
    tag = "chat",
    params(
        ("id" = i64, Path, description = "Conversation id"),
        ("seq" = i64, Path, description = "The message's sequence number"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tombstone (also when it was recalled before)", body = MessageView),
        (status = 403, description = "Someone else's message, or a system message (`cannot_recall`)", body = kit::error::ErrorBody),
        (status = 404, description = "Not a conversation of yours (`conversation_not_found`); no such message (`message_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Too late for the sender (`recall_window_passed`); the group was dissolved (`group_dissolved`)", body = kit::error::ErrorBody),
    )
)]
pub async fn recall(
    State(state): State<TalkState>,
    auth: Auth,
    IdPairPath(id, seq): IdPairPath,
) -> Result<Json<MessageView>> {
    let me = auth.user_id;
    let now = kit::time::now_ms();
    let window_ms = state.settings().recall_window_secs as i64 * 1000;
    let mut tx = state.store().begin().await?;
    // Lock the conversation: a recall and the sends around it are stored in one order.
    let conv: Option<(String, Option<i64>)> = sqlx::query_as(
        "UPDATE conversations SET updated_at = updated_at WHERE id = $1 \
         RETURNING kind, dissolved_at",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (kind, dissolved_at) = conv.ok_or_else(conversation_not_found)?;
    let role = role_of(&mut tx, id, me)
        .await?
        .ok_or_else(conversation_not_found)?;
    if dissolved_at.is_some() {
        return Err(group_dissolved().into());
    }
    let row = sqlx::query_as::<_, MessageRow>(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq = $2"
    ))
    .bind(id)
    .bind(seq)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(TalkError::MessageNotFound)?;
    if row.kind == "recalled" {
        return Ok(Json(row.into()));
    }
    let moderator = kind == "group" && role.is_manager();
    if row.kind == "system" || (row.sender_id != me && !moderator) {
        return Err(TalkError::CannotRecall.into());
    }
    if !moderator && now - row.created_at > window_ms {
        return Err(TalkError::RecallWindowPassed
            .with_message(format!(
                "a message can be recalled within {} seconds of sending",
                window_ms / 1000
            ))
            .into());
    }
    let tombstone = sqlx::query_as::<_, MessageRow>(&format!(
        "UPDATE messages SET kind = 'recalled', content = '{{}}', recalled_at = $1, \
                             recalled_by = $2 \
         WHERE conversation_id = $3 AND seq = $4 RETURNING {MESSAGE_COLUMNS}"
    ))
    .bind(now)
    .bind(me)
    .bind(id)
    .bind(seq)
    .fetch_one(&mut *tx)
    .await?;
    let notice = system(
        &mut tx,
        id,
        me,
        json!({"event": "recalled", "seq": seq, "by": me}),
        now,
    )
    .await?;
    tx.commit().await?;
    let members = member_ids(&state, id).await?;
    let recalled = MessageRecalled {
        conversation_id: id,
        seq,
        recalled_at: now,
        recalled_by: me,
    };
    api::events::publish_to_users(state.bus(), &members, "message", &recalled).await;
    push_messages(&state, &members, vec![notice]).await;
    tracing::info!(conversation = id, seq, by = me, "message recalled");
    Ok(Json(tombstone.into()))
}
