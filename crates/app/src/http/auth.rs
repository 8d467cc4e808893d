//! Authentication extractors: who is calling, from `Authorization: Bearer <token>`, or
//! else from the web pages' session cookie (see [`crate::web::session`]); a request that
//! changes something and is authenticated by the cookie must carry the CSRF token.
//!
//! - [`Auth`]: a valid access token is required (401 otherwise).
//! - [`MaybeAuth`]: anonymous callers are welcome, but a token that is present must be valid.
//! - [`Admin`]: the route guard for operators; the role is re-read from the database so a
//!   demoted or banned admin loses access at once, not when the token expires.
//!
//! Every token is also checked against the account's standing (cached, dropped on every
//! change): a banned account's tokens stop working at once, a token issued before a
//! sign-out or a password change is refused (`token_revoked`), and the role that counts
//! is the account's role now, not the one written in the token.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use kit::ApiError;

use crate::accounts::errors::IdentityError;
use crate::accounts::Role;
use crate::error::Error;
use crate::AppState;

/// An authenticated caller.
#[derive(Debug, Clone, Copy)]
pub struct Auth {
    pub user_id: i64,
    pub role: Role,
}

/// A caller who may or may not be signed in.
#[derive(Debug, Clone, Copy)]
pub struct MaybeAuth(pub Option<Auth>);

impl MaybeAuth {
    /// The caller's id, or 0 (no user has it) when anonymous; handy in SQL.
    pub fn viewer_id(&self) -> i64 {
        self.0.map(|a| a.user_id).unwrap_or(0)
    }
}

/// A caller with the admin role.
#[derive(Debug, Clone, Copy)]
pub struct Admin(pub Auth);

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

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(*auth);
        }
        let (user_id, gen) = match bearer(parts)? {
            Some(token) => {
                let (user_id, claims) = state.tokens().verify(token)?;
                (user_id, Some(claims.gen))
            }
            None => {
                let session = crate::web::session::from_headers(state, &parts.headers)
                    .await?
                    .ok_or(IdentityError::MissingToken)?;
                crate::web::session::check_csrf(parts, &session)?;
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
        let auth = Auth {
            user_id,
            role: standing.role,
        };
        parts.extensions.insert(auth);
        Ok(auth)
    }
}

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // A stale session cookie makes an anonymous caller, not an error.
        if bearer(parts)?.is_none()
            && crate::web::session::from_headers(state, &parts.headers)
                .await?
                .is_none()
        {
            return Ok(MaybeAuth(None));
        }
        Auth::from_request_parts(parts, state)
            .await
            .map(|a| MaybeAuth(Some(a)))
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let auth = Auth::from_request_parts(parts, state).await?;
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT role, status FROM users WHERE id = $1")
                .bind(auth.user_id)
                .fetch_optional(state.store().pool())
                .await?;
        match row {
            Some((role, status)) if role == Role::Admin.as_str() && status == "active" => {
                Ok(Admin(Auth {
                    user_id: auth.user_id,
                    role: Role::Admin,
                }))
            }
            _ => Err(IdentityError::AdminRequired.into()),
        }
    }
}
