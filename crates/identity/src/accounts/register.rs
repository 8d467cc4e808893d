//! `POST /api/v1/auth/register`: create an account and sign it in.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use sqlx::{Any, Executor};

use crate::accounts::errors::IdentityError;
use crate::accounts::{rules, session, Role};
use crate::users::model::{UserRow, UserView, USER_FIELDS};
use crate::IdentityState;
use api::error::Result;
use api::http::{Body, ClientIp, Fields};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3–32 letters, digits or `_`; unique regardless of case.
    pub username: String,
    /// 8–128 characters.
    pub password: String,
    /// Shown to others; defaults to the username.
    pub nickname: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in", body = session::AuthResponse),
        (status = 400, description = "A field is invalid (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 409, description = "The username is taken (`username_taken`)", body = kit::error::ErrorBody),
        (status = 429, description = "Too many accounts from this address (`auth.register_per_hour`); see `Retry-After`", body = kit::error::ErrorBody),
    )
)]
pub async fn register(
    State(state): State<IdentityState>,
    ClientIp(ip): ClientIp,
    Body(req): Body<RegisterRequest>,
) -> Result<(StatusCode, Json<session::AuthResponse>)> {
    state.login_guard().may_register(ip).await?;
    let mut f = Fields::new();
    rules::check_username(&mut f, &req.username);
    rules::check_password(&mut f, "password", &req.password);
    if let Some(n) = &req.nickname {
        rules::check_nickname(&mut f, n);
    }
    f.finish()?;

    let hash = state.passwords().hash(req.password).await?;
    let nickname = req
        .nickname
        .map(|n| n.trim().to_string())
        .unwrap_or_else(|| req.username.clone());
    let mut tx = state.store().begin().await?;
    let row = insert_user(&mut *tx, &req.username, &nickname, &hash, Role::User).await?;
    let tokens = session::issue(&state, &mut *tx, row.id, Role::User, None).await?;
    tx.commit().await?;
    state.login_guard().registered(ip).await;
    let own = row.id;
    let user = UserView::new(row, own);
    Ok((
        StatusCode::CREATED,
        Json(session::AuthResponse { user, tokens }),
    ))
}

/// Inserts a user; a taken username is a 409.
pub(crate) async fn insert_user<'e, E>(
    exec: E,
    username: &str,
    nickname: &str,
    password_hash: &str,
    role: Role,
) -> Result<UserRow>
where
    E: Executor<'e, Database = Any>,
{
    let now = kit::time::now_ms();
    let inserted = sqlx::query_as::<_, UserRow>(&format!(
        "INSERT INTO users (username, username_key, nickname, nickname_key, password_hash, \
         role, created_at, updated_at, search_text, search_v) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9) \
         RETURNING {USER_FIELDS}"
    ))
    .bind(username)
    .bind(rules::key(username))
    .bind(nickname)
    .bind(rules::key(nickname))
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .bind(crate::users::search::terms(username, nickname))
    .bind(store::search::VERSION)
    .fetch_one(exec)
    .await;
    match inserted {
        Ok(row) => Ok(row),
        Err(e) if store::is_unique_violation(&e) => Err(IdentityError::UsernameTaken.into()),
        Err(e) => Err(e.into()),
    }
}
