//! The talk context: conversations between users ([`chat`]: direct ones, stored
//! messages with a sequence number per conversation, read positions, recalls, and the
//! chat gateway's history) and groups ([`groups`]: conversations with members, roles and
//! mutes). It owns its routes, its state ([`TalkState`]) and its SQL; it asks identity
//! through [`api::Directory`] and tells the members' sockets through events on the bus.

pub mod chat;
pub mod groups;

mod settings;
mod state;

pub use settings::ConversationSettings;
pub use state::{Parts, TalkState};

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;
use utoipa_axum::router::OpenApiRouter;

/// The context's routes, for any state that holds a [`TalkState`] and what the shared
/// extractors read.
pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    TalkState: FromRef<S>,
    Directory: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    OpenApiRouter::new()
        .merge(chat::routes())
        .merge(groups::routes())
}
