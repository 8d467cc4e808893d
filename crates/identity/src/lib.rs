//! The identity context: accounts ([`accounts`]: registration, sign-in, tokens and
//! their revocation, passwords, login throttles, who a chat token belongs to), profiles
//! ([`users`]), the social graph ([`social`]: follows, friends, blocks), the
//! notifications inbox ([`notifications`]) and the web pages' cookie sessions
//! ([`web_session`]). It owns its routes, its state ([`IdentityState`]) and its SQL, and
//! answers the other contexts' questions as [`api::People`] (through
//! [`IdentityState::directory`]).

pub mod accounts;
pub mod notifications;
pub mod social;
pub mod users;
pub mod web_session;

mod settings;
mod state;

pub use settings::{AuthSettings, CacheSettings, Settings};
pub use state::{IdentityState, Parts};

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;
use utoipa_axum::router::OpenApiRouter;

/// The context's routes, for any state that holds an [`IdentityState`] and what the
/// shared extractors read. The web session's routes are the shell's to place
/// ([`web_session`]).
pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    IdentityState: FromRef<S>,
    Directory: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    OpenApiRouter::new()
        .merge(accounts::routes())
        .merge(users::routes())
        .merge(social::routes())
        .merge(notifications::routes())
}

/// Starts this node's subscribers of the identity context: followers' live notices, and
/// cache drops for changes made on any node.
pub async fn listen(
    state: &IdentityState,
) -> Result<Vec<tokio::task::JoinHandle<()>>, bus::BusError> {
    Ok(vec![
        notifications::followers_live::follow(state).await?,
        users::changes::follow(state).await?,
    ])
}
