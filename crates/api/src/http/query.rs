//! `Query<T>`: the query string, with a bad one answered 400 `invalid_query` naming
//! what was wrong (axum's own extractor answers in plain text).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kit::ApiError;
use serde::de::DeserializeOwned;

use crate::http::errors::RequestError;

/// The query string parsed into `T`.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Query(q.0))
            .map_err(|e| {
                let detail = e.body_text();
                let detail = detail
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&detail);
                RequestError::InvalidQuery.with_message(format!("bad query string: {detail}"))
            })
    }
}
