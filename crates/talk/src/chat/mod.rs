//! Conversations —
//! stored messages with a sequence number per conversation, persisted before the sender
//! is answered, then pushed to the members' connections; clients catch up by asking for
//! everything after the last sequence number they have. Groups ([`crate::groups`]) are
//! conversations too, with the same messages, sequence numbers and positions.

pub mod append;
pub mod delivered;
pub mod errors;
pub mod events;
pub mod history;
pub mod list_conversations;
pub mod list_messages;
pub mod mark_read;
pub mod model;
pub mod open_direct;
pub mod recall;
pub mod send_message;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;

use crate::TalkState;

pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    TalkState: FromRef<S>,
    Directory: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(open_direct::open_direct))
        .routes(routes!(list_conversations::list_conversations))
        .routes(routes!(
            send_message::send_message,
            list_messages::list_messages
        ))
        .routes(routes!(mark_read::mark_read))
        .routes(routes!(recall::recall))
}
