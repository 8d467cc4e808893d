//! `IdPath`: a numeric id from the route's one `{id}` segment, refused clearly when it
//! is not a positive integer.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use kit::ApiError;

use crate::http::errors::RequestError;

/// The positive integer id in the path.
#[derive(Debug, Clone, Copy)]
pub struct IdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let bad = || ApiError::from(RequestError::InvalidId);
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| bad())?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(IdPath)
            .ok_or_else(bad)
    }
}

/// The two positive integer ids of a route like `/rooms/{id}/admins/{user_id}`, in
/// order.
#[derive(Debug, Clone, Copy)]
pub struct IdPairPath(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPairPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let bad = || {
            RequestError::InvalidId.with_message("the ids in the path must be positive integers")
        };
        let Path((a, b)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| bad())?;
        let parse = |raw: &str| raw.parse::<i64>().ok().filter(|id| *id > 0);
        match (parse(&a), parse(&b)) {
            (Some(a), Some(b)) => Ok(IdPairPath(a, b)),
            _ => Err(bad()),
        }
    }
}
