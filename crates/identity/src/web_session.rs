//! Browser sessions: how the web pages sign in, and how the server knows who loads a page.
//!
//! Signing in on the site (`POST /api/v1/web/session`) sets two cookies:
//!
//! - `momo_session`: a random token, `HttpOnly` (page scripts never see it) and
//!   `SameSite=Strict` (other sites' pages never send it). The database keeps its SHA-256.
//! - `momo_csrf`: readable by the pages, derived from the session token. Every request
//!   that changes something and is authenticated by the cookie must repeat it in the
//!   `X-CSRF-Token` header (double submit); a forged cross-site request cannot read it.
//!
//! Requests with `Authorization: Bearer` are not authenticated by a cookie and need no
//! CSRF token: a browser never adds that header by itself.
//!
//! The chat gateway takes an access token in its auth packet, so reading the session
//! also hands the page a short-lived access token for the socket.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kit::ApiError;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::accounts::errors::IdentityError;
use crate::accounts::login::{check_credentials, LoginRequest};
use crate::accounts::{session::hash_refresh_token, Role};
use crate::users::model::UserView;
use crate::IdentityState;
use api::error::Result;
use api::http::{Body, ClientIp};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "momo_session";
/// The CSRF cookie's name, which pages read.
pub const CSRF_COOKIE: &str = "momo_csrf";
/// The header that must repeat the CSRF cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who a session cookie belongs to.
#[derive(Debug, Clone)]
pub struct CookieSession {
    pub user_id: i64,
    pub role: Role,
    /// The raw token, from which the CSRF token is derived.
    token: String,
}

impl CookieSession {
    /// The CSRF token that goes with this session.
    pub fn csrf(&self) -> String {
        csrf_for(&self.token)
    }
}

/// The CSRF token of session `token`: a hash of it, so that it needs no storage and
/// cannot be made without the (HttpOnly) session token.
fn csrf_for(token: &str) -> String {
    let digest = Sha256::digest(format!("momo-csrf:{token}").as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..24])
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The live session named by the request's cookie, if there is one. A banned account's
/// sessions are not live.
pub async fn from_headers(
    state: &IdentityState,
    headers: &HeaderMap,
) -> Result<Option<CookieSession>> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT u.id, u.role FROM web_sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
           AND u.status = 'active'",
    )
    .bind(hash_refresh_token(token))
    .bind(kit::time::now_ms())
    .fetch_optional(state.store().pool())
    .await?;
    Ok(row.map(|(user_id, role)| CookieSession {
        user_id,
        role: Role::parse(&role),
        token: token.to_string(),
    }))
}

/// Whether `method` may change something (and so needs the CSRF token).
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a state-changing request whose `X-CSRF-Token` does not match the session.
pub fn check_csrf(parts: &Parts, session: &CookieSession) -> std::result::Result<(), ApiError> {
    if !changes_state(&parts.method) {
        return Ok(());
    }
    let sent = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !sent.is_empty() && constant_time_eq(sent.as_bytes(), session.csrf().as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::from(IdentityError::CsrfFailed))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a page learns about its visitor: all three are null for a visitor without a
/// live session (a guest, or a session that ended).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebSession {
    pub user: Option<UserView>,
    /// Repeat in `X-CSRF-Token` on every state-changing request.
    pub csrf_token: Option<String>,
    /// A short-lived access token, for the chat socket's auth packet.
    pub access_token: Option<String>,
}

impl WebSession {
    fn guest() -> WebSession {
        WebSession {
            user: None,
            csrf_token: None,
            access_token: None,
        }
    }
}

async fn describe(state: &IdentityState, s: &CookieSession) -> Result<WebSession> {
    let row = crate::users::load(state, s.user_id, s.user_id).await?;
    let gen = crate::accounts::standing::read(state.store().pool(), s.user_id)
        .await?
        .map_or(0, |st| st.token_gen);
    Ok(WebSession {
        user: Some(UserView::new(row, s.user_id)),
        csrf_token: Some(s.csrf()),
        access_token: Some(state.tokens().issue(s.user_id, s.role, gen)?),
    })
}

fn secure(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookies(res: &mut Response, token: &str, max_age: i64, secure: bool) {
    let sec = if secure { "; Secure" } else { "" };
    let session = format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{sec}"
    );
    let csrf_value = if token.is_empty() {
        String::new()
    } else {
        csrf_for(token)
    };
    let csrf =
        format!("{CSRF_COOKIE}={csrf_value}; Path=/; Max-Age={max_age}; SameSite=Strict{sec}");
    for c in [session, csrf] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/web/session",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 201, description = "Signed in; the session and CSRF cookies are set", body = WebSession),
        (status = 401, description = "Wrong username or password (`invalid_credentials`)", body = kit::error::ErrorBody),
        (status = 403, description = "The account is banned (`account_banned`)", body = kit::error::ErrorBody),
        (status = 429, description = "Too many failures; see `Retry-After`", body = kit::error::ErrorBody),
    )
)]
/// Signs in for the web pages: the same checks as `POST /api/v1/auth/login`, but the
/// session lives in cookies.
pub async fn sign_in(
    State(state): State<IdentityState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Body(req): Body<LoginRequest>,
) -> Result<Response> {
    let row = check_credentials(&state, ip, req).await?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("ws_{}", URL_SAFE_NO_PAD.encode(bytes));
    let ttl_secs = state.settings().auth.refresh_ttl_secs as i64;
    let now = kit::time::now_ms();
    sqlx::query(
        "INSERT INTO web_sessions (user_id, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(row.id)
    .bind(hash_refresh_token(&token))
    .bind(now)
    .bind(now + ttl_secs * 1000)
    .execute(state.store().writer())
    .await?;
    let session = CookieSession {
        user_id: row.id,
        role: Role::parse(&row.role),
        token: token.clone(),
    };
    let body = describe(&state, &session).await?;
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    set_cookies(&mut res, &token, ttl_secs, secure(&headers));
    Ok(res)
}

#[utoipa::path(
    get,
    path = "/api/v1/web/session",
    tag = "auth",
    responses(
        (status = 200, description = "The signed-in visitor, with a CSRF token and a fresh access token; all null for a guest (no live session cookie): a page asks on every load, and a guest is not an error", body = WebSession),
    )
)]
/// Who the session cookie belongs to, if anyone.
pub async fn current(
    State(state): State<IdentityState>,
    headers: HeaderMap,
) -> Result<Json<WebSession>> {
    match from_headers(&state, &headers).await? {
        Some(session) => Ok(Json(describe(&state, &session).await?)),
        None => Ok(Json(WebSession::guest())),
    }
}

fn no_session() -> ApiError {
    ApiError::from(IdentityError::NoSession)
}

#[utoipa::path(
    delete,
    path = "/api/v1/web/session",
    tag = "auth",
    responses(
        (status = 204, description = "Signed out; the cookies are cleared"),
        (status = 401, description = "No live session cookie (`no_session`)", body = kit::error::ErrorBody),
        (status = 403, description = "Missing or wrong `X-CSRF-Token` (`csrf_failed`)", body = kit::error::ErrorBody),
    )
)]
/// Signs out of the web pages: the session is revoked and its cookies cleared.
pub async fn sign_out(State(state): State<IdentityState>, parts: Parts) -> Result<Response> {
    let session = from_headers(&state, &parts.headers)
        .await?
        .ok_or_else(no_session)?;
    check_csrf(&parts, &session)?;
    let mut tx = state.store().begin().await?;
    sqlx::query("UPDATE web_sessions SET revoked_at = $1 WHERE token_hash = $2")
        .bind(kit::time::now_ms())
        .bind(hash_refresh_token(&session.token))
        .execute(&mut *tx)
        .await?;
    // The access token the page held for the chat socket goes with it.
    crate::accounts::standing::revoke_access_tokens(&mut *tx, session.user_id).await?;
    tx.commit().await?;
    crate::users::changes::changed(&state, session.user_id).await;
    let mut res = StatusCode::NO_CONTENT.into_response();
    set_cookies(&mut res, "", 0, secure(&parts.headers));
    Ok(res)
}

/// Revokes every web session of `user` (on a ban or a password reset), inside `tx`.
pub async fn revoke_all<'e, E>(exec: E, user: i64) -> Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "UPDATE web_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(kit::time::now_ms())
    .bind(user)
    .execute(exec)
    .await?;
    Ok(())
}

/// Deletes sessions that expired, or were revoked, more than a day before `now`.
pub async fn prune(state: &IdentityState, now: i64) -> Result<u64> {
    let cutoff = now - 86_400_000;
    let done = sqlx::query(
        "DELETE FROM web_sessions WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1)",
    )
    .bind(cutoff)
    .execute(state.store().writer())
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; momo_session=ws_x; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("ws_x"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn malformed_cookie_headers_find_nothing_and_never_panic() {
        let mut h = HeaderMap::new();
        for raw in [
            &b"momo_session"[..],
            b"=ws_x",
            b";;;; ;",
            b"momo_session=",
            b"momo_session= ; x",
            b"\xff\xfe=1",
        ] {
            h.append(header::COOKIE, HeaderValue::from_bytes(raw).unwrap());
        }
        assert_eq!(cookie(&h, SESSION_COOKIE), None);
        assert_eq!(cookie(&h, ""), Some("ws_x"));
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("momo_session=a=b"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("a=b"));
    }

    #[test]
    fn the_csrf_token_depends_on_the_session() {
        assert_ne!(csrf_for("ws_a"), csrf_for("ws_b"));
        assert_eq!(csrf_for("ws_a"), csrf_for("ws_a"));
    }
}
