//! Who a token belongs to: the gateway asks, the app answers (it owns the users).

use std::future::Future;
use std::pin::Pin;

/// A signed-in chat user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: i64,
    /// Shown beside their messages.
    pub name: String,
    /// May use the push API and moderate any room.
    pub is_admin: bool,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the token is not valid")]
    InvalidToken,
    #[error("the token has expired")]
    Expired,
    #[error("this account is banned")]
    Banned,
    #[error("cannot check the token now: {0}")]
    Unavailable(String),
}

impl AuthError {
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidToken => "invalid_token",
            AuthError::Expired => "token_expired",
            AuthError::Banned => "account_banned",
            AuthError::Unavailable(_) => "unavailable",
        }
    }
}

pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<Identity, AuthError>> + Send + 'a>>;

/// Turns an access token into an [`Identity`].
pub trait Authenticator: Send + Sync + 'static {
    fn authenticate(&self, token: &str) -> AuthFuture<'_>;
}

/// Tokens mapped to identities, for tests.
#[derive(Debug, Clone, Default)]
pub struct StaticTokens(pub Vec<(String, Identity)>);

impl Authenticator for StaticTokens {
    fn authenticate(&self, token: &str) -> AuthFuture<'_> {
        let found = self
            .0
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, i)| i.clone());
        Box::pin(async move { found.ok_or(AuthError::InvalidToken) })
    }
}
