//! The `q` of a search route: at most `max` characters (else 400 `invalid_query`), cut
//! into `store::search`'s terms (empty when it holds no word: the route answers an
//! empty page).

use kit::ApiError;

use crate::http::errors::RequestError;

/// The terms of `q`, or the refusal of a too long one.
pub fn terms(q: &str, max: usize) -> Result<Vec<String>, ApiError> {
    if q.chars().count() > max {
        return Err(
            RequestError::InvalidQuery.with_message(format!("q must be at most {max} characters"))
        );
    }
    Ok(store::search::query_terms(q))
}
