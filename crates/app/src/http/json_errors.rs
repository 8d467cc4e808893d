//! Keeps every error answer in momo's JSON shape, even those made by layers below the
//! handlers (unknown routes, wrong methods, timeouts, panics).

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kit::ApiError;

use crate::http::errors::RequestError;

/// Unknown routes: 404 `not_found`.
pub async fn not_found() -> ApiError {
    ApiError::from(RequestError::NotFound)
}

/// Wrong method on a known route: 405 `method_not_allowed`.
pub async fn method_not_allowed() -> ApiError {
    ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED)
}

/// Middleware: an error status without a JSON body gets the generic body for its status.
/// Web pages (HTML) keep their own error pages.
pub async fn ensure_json(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if is_json {
        return res;
    }
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let mut fixed = ApiError::from_status(status).into_response();
    if let Some(v) = retry_after {
        fixed.headers_mut().insert(header::RETRY_AFTER, v);
    }
    fixed
}
