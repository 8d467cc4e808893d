//! Who is calling: extractors for a route's caller, answered by the identity context
//! through [`People`](crate::people::People).
//!
//! - [`Auth`]: a valid access token (or session cookie) is required (401 otherwise).
//! - [`MaybeAuth`]: anonymous callers are welcome, but credentials that are present must
//!   be valid.
//! - [`Admin`]: the route guard for operators; the role is re-read from the database so a
//!   demoted or banned admin loses access at once, not when the token expires.
//!
//! A route's state gives the extractors a [`Directory`] through axum's `FromRef`, so the
//! same extractors serve every context's state.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use kit::ApiError;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::people::Directory;

kit::error_codes! {
    /// Refusals of a caller, shared by every route.
    pub enum AuthError {
        AdminRequired = (FORBIDDEN, "admin_required", "this needs an admin account"),
        MissingToken = (UNAUTHORIZED, "missing_token", "sign in and send `Authorization: Bearer <access_token>`"),
    }
}

crate::from_codes!(AuthError);

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Role {
        if s == "admin" {
            Role::Admin
        } else {
            Role::User
        }
    }
}

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

/// The caller, once per request: later extractors of the same request reuse it.
async fn caller<S>(parts: &mut Parts, state: &S) -> Result<Option<Auth>, ApiError>
where
    Directory: FromRef<S>,
{
    if let Some(auth) = parts.extensions.get::<Auth>() {
        return Ok(Some(*auth));
    }
    let found = Directory::from_ref(state).caller(parts).await?;
    if let Some(auth) = found {
        parts.extensions.insert(auth);
    }
    Ok(found)
}

impl<S> FromRequestParts<S> for Auth
where
    S: Send + Sync,
    Directory: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        caller(parts, state)
            .await?
            .ok_or_else(|| AuthError::MissingToken.into())
    }
}

impl<S> FromRequestParts<S> for MaybeAuth
where
    S: Send + Sync,
    Directory: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        caller(parts, state).await.map(MaybeAuth)
    }
}

impl<S> FromRequestParts<S> for Admin
where
    S: Send + Sync,
    Directory: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let auth = Auth::from_request_parts(parts, state).await?;
        if Directory::from_ref(state).is_admin(auth.user_id).await? {
            Ok(Admin(Auth {
                user_id: auth.user_id,
                role: Role::Admin,
            }))
        } else {
            Err(AuthError::AdminRequired.into())
        }
    }
}
