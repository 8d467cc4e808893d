//! The gateway's view of the inbox: sync (op 26) and read (op 28) over the socket,
//! answered with the same queries as the REST endpoints.

use im::gateway::history::{HistoryError, HistoryFuture};
use im::gateway::inbox::{Inbox, InboxPage, InboxPosition};

use crate::notifications::inbox::{page, read_upto};
use crate::notifications::model::NotificationView;
use crate::IdentityState;
use api::error::Error;
use api::http::errors::RequestError;

/// Notifications from the app's database.
#[derive(Debug, Clone)]
pub struct NotificationInbox(pub IdentityState);

fn refusal(e: Error) -> HistoryError {
    let api = kit::ApiError::from(e);
    let code = if RequestError::ValidationFailed.is(&api) {
        "bad_body"
    } else {
        "unavailable"
    };
    let message = match api.fields.get("seq") {
        Some(why) => format!("seq {why}"),
        None => api.message,
    };
    HistoryError {
        code,
        message,
        until: None,
    }
}

impl Inbox for NotificationInbox {
    fn sync(&self, user: i64, after_seq: i64, limit: usize) -> HistoryFuture<'_, InboxPage> {
        Box::pin(async move {
            let (rows, more) = page(&self.0, user, after_seq, limit as i64)
                .await
                .map_err(refusal)?;
            let pos = crate::notifications::inbox::positions(&self.0, user)
                .await
                .map_err(refusal)?;
            Ok(InboxPage {
                notifications: rows
                    .into_iter()
                    .map(|r| serde_json::to_value(NotificationView::from(r)).unwrap_or_default())
                    .collect(),
                more,
                last_seq: pos.last_seq,
                read_seq: pos.read_seq,
            })
        })
    }

    fn read(&self, user: i64, seq: i64) -> HistoryFuture<'_, InboxPosition> {
        Box::pin(async move {
            let pos = read_upto(&self.0, user, seq).await.map_err(refusal)?;
            Ok(InboxPosition {
                read_seq: pos.read_seq,
                unread: pos.unread(),
            })
        })
    }
}
