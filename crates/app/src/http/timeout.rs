//! The API's request timeout: a request that has not been answered after
//! `[api] request_timeout_secs` gets 408. Streaming uploads are exempt — a large video
//! from a phone takes minutes — and enforce an idle timeout of their own instead.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kit::ApiError;

/// Middleware: answers 408 when the handler takes longer than `limit`.
pub async fn limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    if crate::videos::is_streaming_upload(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::from_status(StatusCode::REQUEST_TIMEOUT).into_response(),
    }
}
