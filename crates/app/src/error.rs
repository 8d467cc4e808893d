//! The application's error type and its mapping to HTTP, in one place.
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

/// Each context's refusals become an [`Error`] with `?` or `.into()`.
macro_rules! from_codes {
    ($($codes:ty),*) => {$(
        impl From<$codes> for Error {
            fn from(e: $codes) -> Error {
                Error::Api(e.into())
            }
        }
    )*};
}

from_codes!(
    crate::accounts::errors::IdentityError,
    crate::admin::errors::AdminError,
    crate::chat::errors::TalkError,
    crate::http::errors::RequestError,
    crate::live::errors::LiveError,
    crate::videos::errors::VideoError,
    crate::web::errors::WebError
);

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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::accounts::errors::IdentityError;
    use crate::admin::errors::AdminError;
    use crate::chat::errors::TalkError;
    use crate::http::errors::RequestError;
    use crate::live::errors::LiveError;
    use crate::videos::errors::VideoError;
    use crate::web::errors::WebError;

    /// Every context's codes: (enum, code, status).
    fn all() -> Vec<(&'static str, &'static str, u16)> {
        let mut out = Vec::new();
        macro_rules! add {
            ($($e:ident),*) => {$(
                for c in $e::ALL {
                    out.push((stringify!($e), c.code(), c.status().as_u16()));
                }
            )*};
        }
        add!(
            IdentityError,
            AdminError,
            TalkError,
            RequestError,
            LiveError,
            VideoError,
            WebError
        );
        out
    }

    #[test]
    fn codes_are_snake_case_and_one_code_means_one_status() {
        let mut status_of: HashMap<&str, u16> = HashMap::new();
        for (e, code, status) in all() {
            assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{e}: {code:?} is not snake_case"
            );
            // The one code answered two ways: a payment provider unknown in a body
            // (400) and in a callback's path (404).
            if code == "unknown_provider" {
                continue;
            }
            let first = *status_of.entry(code).or_insert(status);
            assert_eq!(first, status, "{code} has two statuses");
        }
    }
}
