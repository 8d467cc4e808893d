//! Appending to a conversation: the one place a message gets its sequence number.
//!
//! The conversation row is bumped first (`last_seq + 1`), which also locks it for the rest
//! of the transaction (a row lock on PostgreSQL, the write lock on SQLite). Everything
//! that changes who may speak (kicks, mutes, dissolving) bumps or locks the same row, so a
//! speaker's rights are checked after that lock and cannot change before the commit: a
//! message never lands after the group was dissolved or its sender was kicked.

use kit::ApiError;
use serde_json::Value;
use sqlx::AnyConnection;

use crate::chat::errors::TalkError;
use crate::chat::events::MessageAppended;
use crate::chat::model::{MessageRow, MessageView, MESSAGE_COLUMNS, NEW_MESSAGE_COLUMNS};
use crate::groups::model::GroupRole;
use crate::TalkState;
use api::error::Result;

/// A message to append.
pub struct NewMessage<'a> {
    pub conversation_id: i64,
    pub sender_id: i64,
    pub kind: &'a str,
    /// JSON text.
    pub content: &'a str,
    /// `None` for system messages, which are keyed by their seq.
    pub client_id: Option<&'a str>,
    pub now: i64,
}

pub fn group_dissolved() -> ApiError {
    ApiError::from(TalkError::GroupDissolved)
}

pub fn conversation_not_found() -> ApiError {
    ApiError::from(TalkError::ConversationNotFound)
}

/// Stores `new` with the conversation's next sequence number, inside the caller's
/// transaction. With `speaker_checks` the sender must be a member allowed to speak now:
/// not muted (403 `muted` with `until`), not silenced by a group-wide mute (403
/// `group_muted`). A dissolved group refuses everything (409 `group_dissolved`).
pub async fn append(
    conn: &mut AnyConnection,
    new: &NewMessage<'_>,
    speaker_checks: bool,
) -> Result<MessageRow> {
    let bumped: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE conversations SET last_seq = last_seq + 1, updated_at = $1 \
         WHERE id = $2 AND dissolved_at IS NULL RETURNING last_seq, muted_all",
    )
    .bind(new.now)
    .bind(new.conversation_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((seq, muted_all)) = bumped else {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM conversations WHERE id = $1")
            .bind(new.conversation_id)
            .fetch_optional(&mut *conn)
            .await?;
        return Err(match exists {
            Some(_) => group_dissolved(),
            None => conversation_not_found(),
        }
        .into());
    };
    if speaker_checks {
        let member: Option<(String, i64)> = sqlx::query_as(
            "SELECT role, muted_until FROM conversation_members \
             WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(new.conversation_id)
        .bind(new.sender_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((role, muted_until)) = member else {
            return Err(conversation_not_found().into());
        };
        if muted_until > new.now {
            return Err(ApiError::from(TalkError::Muted).until(muted_until).into());
        }
        if muted_all != 0 && GroupRole::parse(&role) == Some(GroupRole::Member) {
            return Err(TalkError::GroupMuted.into());
        }
    }
    let client_id = match new.client_id {
        Some(c) => c.to_string(),
        None => format!("system:{seq}"),
    };
    let row = sqlx::query_as::<_, MessageRow>(&format!(
        "INSERT INTO messages ({NEW_MESSAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         RETURNING {MESSAGE_COLUMNS}"
    ))
    .bind(new.conversation_id)
    .bind(seq)
    .bind(new.sender_id)
    .bind(new.kind)
    .bind(new.content)
    .bind(&client_id)
    .bind(new.now)
    .fetch_one(&mut *conn)
    .await?;
    // The sender has received and read what they wrote.
    sqlx::query(
        "UPDATE conversation_members SET read_seq = $1, delivered_seq = $1 \
         WHERE conversation_id = $2 AND user_id = $3 AND read_seq < $1",
    )
    .bind(seq)
    .bind(new.conversation_id)
    .bind(new.sender_id)
    .execute(&mut *conn)
    .await?;
    Ok(row)
}

/// Appends a `system` message (`{"event": ..., ...}`) by `actor`: how membership changes
/// reach every member's history in order.
pub async fn system(
    conn: &mut AnyConnection,
    conversation_id: i64,
    actor: i64,
    event: Value,
    now: i64,
) -> Result<MessageRow> {
    let content = event.to_string();
    append(
        conn,
        &NewMessage {
            conversation_id,
            sender_id: actor,
            kind: "system",
            content: &content,
            client_id: None,
            now,
        },
        false,
    )
    .await
}

/// Tells the sockets of `users` about stored messages ([`MessageAppended`]; they get
/// op 1000, `{"type": "message", ...}`). Called after the commit, so a pushed message is
/// always in the history.
pub async fn push_messages(state: &TalkState, users: &[i64], rows: Vec<MessageRow>) {
    for row in rows {
        let event = MessageAppended {
            message: MessageView::from(row),
        };
        api::events::publish_to_users(state.bus(), users, "message", &event).await;
    }
}

/// The members of conversation `id` now.
pub async fn member_ids(state: &TalkState, id: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM conversation_members WHERE conversation_id = $1 ORDER BY user_id",
    )
    .bind(id)
    .fetch_all(state.store().pool())
    .await?)
}
