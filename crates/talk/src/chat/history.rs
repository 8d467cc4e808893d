//! The gateway's view of stored conversations: sync (op 20), ack (op 18), read (op 22)
//! and send (op 30) over the socket, answered by the same code as the REST history,
//! read and send endpoints.

use im::gateway::history::{History, HistoryError, HistoryFuture, SyncPage};
use serde::Deserialize;

use crate::chat::delivered::delivered_upto;
use crate::chat::errors::TalkError;
use crate::chat::list_messages::messages_after;
use crate::chat::mark_read::read_upto;
use crate::chat::model::{members_if_member, MessageView};
use crate::chat::send_message::{send, SendMessage};
use crate::TalkState;
use api::error::Error;
use api::http::errors::RequestError;

/// Conversations from the app's database.
#[derive(Debug, Clone)]
pub struct ChatHistory(pub TalkState);

/// The codes a socket request may be refused with, as the REST API names them (the op 24
/// `code` must be `'static`); anything else is `unavailable`.
const CODES: &[&str] = &[
    TalkError::ConversationNotFound.code(),
    RequestError::ValidationFailed.code(),
    TalkError::BlockedByUser.code(),
    TalkError::UserBlocked.code(),
    TalkError::Muted.code(),
    TalkError::GroupMuted.code(),
    TalkError::GroupDissolved.code(),
];

/// A refusal with the REST code; `validation_failed` becomes `bad_body` unless
/// `keep_validation` (a send answers as the REST send does).
fn refusal(e: Error, keep_validation: bool) -> HistoryError {
    let api = kit::ApiError::from(e);
    let code = CODES
        .iter()
        .find(|c| **c == api.code.as_ref())
        .copied()
        .unwrap_or("unavailable");
    let code = if code == RequestError::ValidationFailed.code() && !keep_validation {
        "bad_body"
    } else {
        code
    };
    let message = if api.fields.is_empty() {
        api.message
    } else {
        let each: Vec<String> = api
            .fields
            .iter()
            .map(|(field, why)| format!("{field} {why}"))
            .collect();
        each.join("; ")
    };
    HistoryError {
        code,
        message,
        until: api.until,
    }
}

impl History for ChatHistory {
    fn sync(
        &self,
        user: i64,
        positions: Vec<(i64, i64)>,
        limit: usize,
    ) -> HistoryFuture<'_, SyncPage> {
        Box::pin(async move {
            let mut page = SyncPage::default();
            let mut left = limit as i64;
            for (id, after) in positions {
                members_if_member(&self.0, id, user)
                    .await
                    .map_err(|e| refusal(e, false))?;
                if left == 0 {
                    page.more = true;
                    break;
                }
                let (rows, more) = messages_after(&self.0, id, after, left)
                    .await
                    .map_err(|e| refusal(e, false))?;
                left -= rows.len() as i64;
                page.more |= more;
                for row in rows {
                    let view = MessageView::from(row);
                    page.messages
                        .push(serde_json::to_value(view).unwrap_or_default());
                }
            }
            Ok(page)
        })
    }

    fn read(&self, user: i64, conversation_id: i64, seq: i64) -> HistoryFuture<'_, i64> {
        Box::pin(async move {
            read_upto(&self.0, conversation_id, user, seq)
                .await
                .map_err(|e| refusal(e, false))
        })
    }

    fn ack(&self, user: i64, conversation_id: i64, seq: i64) -> HistoryFuture<'_, i64> {
        Box::pin(async move {
            delivered_upto(&self.0, conversation_id, user, seq)
                .await
                .map_err(|e| refusal(e, false))
        })
    }

    fn send(
        &self,
        user: i64,
        conversation_id: i64,
        message: serde_json::Value,
    ) -> HistoryFuture<'_, serde_json::Value> {
        Box::pin(async move {
            let req = SendMessage::deserialize(&message).map_err(|e| HistoryError {
                code: "bad_body",
                message: format!(
                    "expected {{\"conversation_id\", \"kind\", \"content\", \"client_id\"}}: {e}"
                ),
                until: None,
            })?;
            let (_, view) = send(&self.0, user, conversation_id, &req)
                .await
                .map_err(|e| refusal(e, true))?;
            Ok(serde_json::to_value(view).unwrap_or_default())
        })
    }
}
