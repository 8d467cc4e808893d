//! `POST /api/v1/auth/logout`: end a session by revoking its refresh-token family, and
//! revoke the account's access tokens issued before it (other devices refresh theirs).

use axum::extract::State;
use axum::http::StatusCode;

use crate::accounts::errors::IdentityError;
use crate::accounts::refresh::RefreshRequest;
use crate::accounts::{session, standing};
use crate::IdentityState;
use api::error::Result;
use api::http::Body;

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out: this refresh token and its family no longer work, nor do access tokens issued before"),
        (status = 401, description = "Unknown refresh token (`invalid_refresh_token`)", body = kit::error::ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<IdentityState>,
    Body(req): Body<RefreshRequest>,
) -> Result<StatusCode> {
    let hash = session::hash_refresh_token(&req.refresh_token);
    let found: Option<(i64, String)> =
        sqlx::query_as("SELECT user_id, family FROM refresh_tokens WHERE token_hash = $1")
            .bind(&hash)
            .fetch_optional(state.store().pool())
            .await?;
    let (user_id, family) = found.ok_or(IdentityError::InvalidRefreshToken)?;
    let mut tx = state.store().begin().await?;
    session::revoke_family(&mut *tx, &family).await?;
    standing::revoke_access_tokens(&mut *tx, user_id).await?;
    tx.commit().await?;
    crate::users::changes::changed(&state, user_id).await;
    Ok(StatusCode::NO_CONTENT)
}
