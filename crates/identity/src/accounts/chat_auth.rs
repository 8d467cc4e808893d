//! The gateway's question "who is this token?", answered with the app's tokens and users.

use im::gateway::{AuthError, AuthFuture, Authenticator, Identity};

use crate::accounts::errors::IdentityError;
use crate::accounts::Role;
use crate::IdentityState;

/// Checks access tokens as the HTTP API does, and reads the user's name and role.
#[derive(Debug, Clone)]
pub struct ChatAuth(pub IdentityState);

impl Authenticator for ChatAuth {
    fn authenticate(&self, token: &str) -> AuthFuture<'_> {
        let checked = self.0.tokens().verify(token);
        Box::pin(async move {
            let (user_id, claims) = checked.map_err(|e| {
                if IdentityError::TokenExpired.is(&e) {
                    AuthError::Expired
                } else {
                    AuthError::InvalidToken
                }
            })?;
            // The row, not the token, says the name and the role now; a banned or
            // deleted account is refused even with a token that has not expired, and a
            // token from before a sign-out or password change is refused.
            match crate::accounts::standing::load(&self.0, user_id).await {
                Ok(Some(s)) if s.active && s.token_gen != claims.gen => {
                    return Err(AuthError::InvalidToken)
                }
                Err(e) => return Err(AuthError::Unavailable(e.to_string())),
                _ => {}
            }
            match crate::users::load(&self.0, user_id, user_id).await {
                Ok(row) => Ok(Identity {
                    user_id,
                    is_admin: Role::parse(&row.role) == Role::Admin,
                    name: row.nickname,
                }),
                Err(api::error::Error::Api(_)) => Err(AuthError::Banned),
                Err(e) => Err(AuthError::Unavailable(e.to_string())),
            }
        })
    }
}
