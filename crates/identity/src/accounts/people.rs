//! The identity context answering the others ([`api::People`]): who is calling, from
//! `Authorization: Bearer <token>` or else the web pages' session cookie (see
//! [`crate::web_session`]; a request that changes something and is authenticated by the
//! cookie must carry the CSRF token), whether one user follows or blocks another,
//! whether a user exists, and notices for inboxes.
//!
//! Every token is also checked against the account's standing (cached, dropped on every
//! change): a banned account's tokens stop working at once, a token issued before a
//! sign-out or a password change is refused (`token_revoked`), and the role that counts
//! is the account's role now, not the one written in the token.

use api::people::People;
use api::{Auth, Profile, Role};
use axum::http::{header, request::Parts};
use futures::future::BoxFuture;
use kit::ApiError;

use crate::accounts::errors::IdentityError;
use crate::state::IdentityRef;
use crate::IdentityState;
use api::error::{Error, Result};

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(malformed());
    }
    Ok(Some(token.trim()))
}

fn malformed() -> ApiError {
    IdentityError::InvalidToken
        .with_message("the Authorization header must be `Bearer <access_token>`")
}

/// The caller of a request, if it carries credentials; see [`People::caller`].
pub async fn caller(state: &IdentityState, parts: &Parts) -> Result<Option<Auth>, ApiError> {
    let (user_id, gen) = match bearer(parts)? {
        Some(token) => {
            let (user_id, claims) = state.tokens().verify(token)?;
            (user_id, Some(claims.gen))
        }
        None => {
            // A stale session cookie makes an anonymous caller, not an error.
            let Some(session) = crate::web_session::from_headers(state, &parts.headers).await?
            else {
                return Ok(None);
            };
            crate::web_session::check_csrf(parts, &session)?;
            (session.user_id, None)
        }
    };
    // A banned or deleted account loses access at once, not when its token expires.
    // The cache answers this almost always; writers drop it on a change.
    let standing = crate::accounts::standing::load(state, user_id)
        .await
        .map_err(ApiError::from)?
        .filter(|s| s.active)
        .ok_or(IdentityError::AccountBanned)?;
    if gen.is_some_and(|gen| gen != standing.token_gen) {
        return Err(ApiError::from(IdentityError::TokenRevoked));
    }
    Ok(Some(Auth {
        user_id,
        role: standing.role,
    }))
}

/// Whether `user` is an active admin now.
pub async fn is_admin(state: &IdentityState, user: i64) -> Result<bool> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT role, status FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(state.store().pool())
            .await?;
    Ok(matches!(row, Some((role, status)) if role == Role::Admin.as_str() && status == "active"))
}

/// Whether `follower` follows `followee`, through the profile cache.
pub async fn follows(state: &IdentityState, follower: i64, followee: i64) -> Result<bool> {
    if follower == 0 {
        return Ok(false);
    }
    if let Some(yes) = state.user_cache().follow(follower, followee) {
        return Ok(yes);
    }
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2")
            .bind(follower)
            .bind(followee)
            .fetch_optional(state.store().pool())
            .await?;
    state
        .user_cache()
        .remember_follow(follower, followee, found.is_some());
    Ok(found.is_some())
}

fn gone() -> Error {
    Error::internal("the application is shutting down")
}

impl People for IdentityRef {
    fn caller<'a>(&'a self, parts: &'a Parts) -> BoxFuture<'a, Result<Option<Auth>, ApiError>> {
        Box::pin(async move {
            let state = self.upgrade().ok_or_else(|| ApiError::from(gone()))?;
            caller(&state, parts).await
        })
    }

    fn is_admin(&self, user: i64) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move { is_admin(&self.upgrade().ok_or_else(gone)?, user).await })
    }

    fn follows(&self, follower: i64, followee: i64) -> BoxFuture<'_, Result<bool>> {
        Box::pin(
            async move { follows(&self.upgrade().ok_or_else(gone)?, follower, followee).await },
        )
    }

    fn profile(&self, id: i64) -> BoxFuture<'_, Result<Profile>> {
        Box::pin(async move {
            let state = self.upgrade().ok_or_else(gone)?;
            let row = crate::users::load(&state, id, 0).await?;
            Ok(Profile {
                nickname: row.nickname,
                avatar_url: row.avatar_url,
            })
        })
    }

    fn blocks(&self, blocker: i64, blocked: i64) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let state = self.upgrade().ok_or_else(gone)?;
            crate::social::blocks(state.store().pool(), blocker, blocked).await
        })
    }

    fn ensure_exists(&self, id: i64) -> BoxFuture<'_, Result<()>> {
        Box::pin(
            async move { crate::users::ensure_exists(&self.upgrade().ok_or_else(gone)?, id).await },
        )
    }
}
