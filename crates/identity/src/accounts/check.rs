//! `GET /api/v1/auth/check`: the answer to a reverse proxy's `auth_request` (nginx) or
//! `forward_auth` (others) for what it serves in front of momo: 204 with the caller's
//! id and role in headers, 401 (or 403 for a banned account) otherwise.
//!
//! The proxy passes the original request's headers, so a bearer token or the session
//! cookie works as for any route; a player that cannot set headers (HTTP-FLV in a
//! `<video>`, ffplay) can put `token=<access token>` in its URL, which the proxy passes
//! as `X-Original-URI`.

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use api::{Auth, Directory};

/// The header that carries the caller's id back to the proxy.
pub const USER_ID_HEADER: &str = "x-user-id";
/// The header that carries the caller's role (`user` or `admin`).
pub const USER_ROLE_HEADER: &str = "x-user-role";
/// Where the proxy says what was asked (nginx: `proxy_set_header X-Original-URI $request_uri`).
const ORIGINAL_URI: &str = "x-original-uri";

#[utoipa::path(
    get,
    path = "/api/v1/auth/check",
    tag = "auth",
    params(
        ("X-Original-URI" = Option<String>, Header, description = "The original request's path and query, as the proxy saw it: a `token` parameter there is used when no `Authorization` header or session cookie came"),
    ),
    responses(
        (status = 204, description = "Signed in: `X-User-Id` and `X-User-Role` name the caller", headers(
            ("X-User-Id" = i64, description = "The caller's user id"),
            ("X-User-Role" = String, description = "`user` or `admin`"),
        )),
        (status = 401, description = "No valid credentials (`missing_token`, `invalid_token`)", body = kit::error::ErrorBody),
        (status = 403, description = "The account is banned (`account_banned`)", body = kit::error::ErrorBody),
    )
)]
pub async fn check<S>(
    axum::extract::State(state): axum::extract::State<S>,
    req: Request,
) -> Response
where
    S: Clone + Send + Sync + 'static,
    Directory: FromRef<S>,
{
    let (mut parts, _) = req.into_parts();
    if !parts.headers.contains_key(header::AUTHORIZATION) {
        if let Some(token) = parts
            .headers
            .get(ORIGINAL_URI)
            .and_then(|v| v.to_str().ok())
            .and_then(token_in_uri)
        {
            if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
                parts.headers.insert(header::AUTHORIZATION, value);
            }
        }
    }
    match Auth::from_request_parts(&mut parts, &state).await {
        Ok(auth) => {
            let mut res = StatusCode::NO_CONTENT.into_response();
            let h = res.headers_mut();
            h.insert(USER_ID_HEADER, HeaderValue::from(auth.user_id));
            h.insert(
                USER_ROLE_HEADER,
                HeaderValue::from_static(auth.role.as_str()),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => e.into_response(),
    }
}

/// The `token` query parameter of a path-and-query, percent-decoded.
pub fn token_in_uri(uri: &str) -> Option<String> {
    let query = uri.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "token")
        .and_then(|(_, v)| {
            urlencoding::decode(&v.replace('+', " "))
                .ok()
                .map(|v| v.into_owned())
        })
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::token_in_uri;

    #[test]
    fn the_token_is_read_from_the_original_query_only() {
        assert_eq!(
            token_in_uri("/live/7.flv?token=abc.def").as_deref(),
            Some("abc.def")
        );
        assert_eq!(
            token_in_uri("/live/7.flv?x=1&token=a%2Bb#f").as_deref(),
            Some("a+b")
        );
        assert_eq!(token_in_uri("/?tokenx=1&token=t").as_deref(), Some("t"));
        assert_eq!(token_in_uri("/live/7.flv?token="), None);
        assert_eq!(token_in_uri("/live/token=abc"), None);
        assert_eq!(token_in_uri(""), None);
    }
}
