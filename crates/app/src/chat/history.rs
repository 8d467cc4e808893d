//! The gateway's view of stored conversations: sync (op 20) and read (op 22) over the
//! socket, answered with the same queries as the REST history and read endpoints.

use im::gateway::history::{History, HistoryError, HistoryFuture, SyncPage};

use crate::chat::list_messages::messages_after;
use crate::chat::mark_read::read_upto;
use crate::chat::model::{members_if_member, MessageView};
use crate::error::Error;
use crate::AppState;

/// Conversations from the app's database.
#[derive(Debug, Clone)]
pub struct ChatHistory(pub AppState);

fn refusal(e: Error) -> HistoryError {
    let api = kit::ApiError::from(e);
    let code = match api.code.as_ref() {
        "conversation_not_found" => "conversation_not_found",
        "validation_failed" => "bad_body",
        _ => "unavailable",
    };
    HistoryError {
        code,
        message: api.message,
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
                    .map_err(refusal)?;
                if left == 0 {
                    page.more = true;
                    break;
                }
                let (rows, more) = messages_after(&self.0, id, after, left)
                    .await
                    .map_err(refusal)?;
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
                .map_err(refusal)
        })
    }
}
