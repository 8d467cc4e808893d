//! Keeps every error answer in momo's JSON shape, even those made by layers below the
//! handlers (unknown routes, wrong methods, timeouts, panics).

use axum::extract::Request;
use axum::http::{header, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kit::ApiError;

use crate::http::errors::RequestError;

/// Unknown routes: 404 `not_found` in JSON under the API, the push APIs, the chat
/// sockets, media and the ops endpoints; anywhere else a person followed a link, so the
/// answer is a page ([`crate::web::pages::not_found`]).
pub async fn not_found(uri: Uri) -> Response {
    if is_machine_path(uri.path()) {
        ApiError::from(RequestError::NotFound).into_response()
    } else {
        crate::web::pages::not_found().await
    }
}

/// Paths programs call (JSON errors), as opposed to pages people open.
fn is_machine_path(path: &str) -> bool {
    const PREFIXES: [&str; 5] = ["/api", "/goim", "/live", "/ws", "/sub"];
    const EXACT: [&str; 3] = ["/healthz", "/readyz", "/metrics"];
    EXACT.contains(&path)
        || PREFIXES.iter().any(|p| {
            path.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
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

#[cfg(test)]
mod tests {
    use super::is_machine_path;

    #[test]
    fn the_api_and_media_keep_json_and_pages_get_html() {
        for p in [
            "/api",
            "/api/v1/nope",
            "/goim/x",
            "/live/1.flv",
            "/ws",
            "/sub/x",
            "/healthz",
        ] {
            assert!(is_machine_path(p), "{p}");
        }
        for p in [
            "/register",
            "/feed",
            "/favicon.png",
            "/apiary",
            "/livestream",
            "/x/api",
        ] {
            assert!(!is_machine_path(p), "{p}");
        }
    }
}
