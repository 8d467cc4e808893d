//! The error every context's use cases return, and its mapping to HTTP, in one place.
//!
//! Use cases return [`Error`]: either an [`ApiError`] they chose (a 4xx with a stable code)
//! or a failure from below (database, hashing) that becomes a logged 500, or a 503 when
//! the database is out of connections.

use axum::response::{IntoResponse, Response};
use kit::ApiError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    pub fn internal(what: impl std::fmt::Display) -> Self {
        Error::Internal(what.to_string())
    }
}

/// Makes each of a context's code enums (see [`kit::error_codes!`]) an [`Error`], so
/// that its refusals work with `?` and `.into()`: `api::from_codes!(VideoError);`.
#[macro_export]
macro_rules! from_codes {
    ($($codes:ty),* $(,)?) => {$(
        impl From<$codes> for $crate::error::Error {
            fn from(e: $codes) -> $crate::error::Error {
                $crate::error::Error::Api(e.into())
            }
        }
    )*};
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        match e {
            Error::Api(api) => api,
            Error::Db(db) if store::is_pool_timeout(&db) => {
                tracing::warn!("database pool exhausted: {db}");
                ApiError::unavailable("the database is busy; try again shortly")
            }
            Error::Db(db) => {
                tracing::error!(error = %db, "database error");
                ApiError::internal()
            }
            Error::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}
