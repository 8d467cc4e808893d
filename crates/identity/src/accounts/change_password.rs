//! `POST /api/v1/auth/password`: the owner changes their password, proving the old one.
//!
//! Every other session ends: refresh tokens and web sessions are revoked (the browser
//! session making the change, if it is one, is kept), and the account's token
//! generation moves on, so access tokens issued before stop working at once. The caller
//! gets a fresh token pair. A wrong old password counts as a failed sign-in, with the
//! same slowing and refusal, so a stolen access token cannot be used to guess it.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;

use crate::accounts::errors::IdentityError;
use crate::accounts::login::{check_credentials, LoginRequest};
use crate::accounts::session::hash_refresh_token;
use crate::accounts::{rules, session, standing};
use crate::web_session::{cookie, SESSION_COOKIE};
use crate::IdentityState;
use api::error::{Error, Result};
use api::http::{Auth, Body, ClientIp, Fields};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub old_password: String,
    /// 8–128 characters.
    pub new_password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/password",
    tag = "auth",
    request_body = ChangePassword,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; every other session is signed out, and this is the caller's new session", body = session::TokenPair),
        (status = 400, description = "The new password is invalid (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 401, description = "Not signed in, or the token is revoked", body = kit::error::ErrorBody),
        (status = 403, description = "The old password is wrong (`wrong_password`), or the account is banned", body = kit::error::ErrorBody),
        (status = 429, description = "Too many wrong passwords; see `Retry-After`", body = kit::error::ErrorBody),
    )
)]
pub async fn change_password(
    State(state): State<IdentityState>,
    auth: Auth,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Body(req): Body<ChangePassword>,
) -> Result<Json<session::TokenPair>> {
    let mut f = Fields::new();
    f.check("old_password", !req.old_password.is_empty(), "is required");
    rules::check_password(&mut f, "new_password", &req.new_password);
    f.finish()?;
    let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(auth.user_id)
        .fetch_one(state.store().pool())
        .await?;
    let login = LoginRequest {
        username,
        password: req.old_password,
    };
    match check_credentials(&state, ip, login).await {
        Ok(_) => {}
        Err(Error::Api(e)) if IdentityError::InvalidCredentials.is(&e) => {
            return Err(IdentityError::WrongPassword.into())
        }
        Err(e) => return Err(e),
    }
    let hash = state.passwords().hash(req.new_password).await?;
    let keep_web = cookie(&headers, SESSION_COOKIE).map(hash_refresh_token);
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(&hash)
        .bind(now)
        .bind(auth.user_id)
        .execute(&mut *tx)
        .await?;
    standing::end_sessions(&mut tx, auth.user_id, keep_web.as_deref()).await?;
    tx.commit().await?;
    crate::users::changes::changed(&state, auth.user_id).await;
    let pair = session::issue(
        &state,
        state.store().writer(),
        auth.user_id,
        auth.role,
        None,
    )
    .await?;
    tracing::info!(
        user = auth.user_id,
        "password changed; other sessions ended"
    );
    Ok(Json(pair))
}
