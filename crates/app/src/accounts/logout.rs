//! `POST /api/v1/auth/logout`: end a session by revoking its refresh-token family.

use axum::extract::State;
use axum::http::StatusCode;
use kit::ApiError;

use crate::accounts::refresh::RefreshRequest;
use crate::accounts::session;
use crate::error::Result;
use crate::http::Body;
use crate::AppState;

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out: this refresh token and its family no longer work"),
        (status = 401, description = "Unknown refresh token (`invalid_refresh_token`)", body = kit::error::ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    Body(req): Body<RefreshRequest>,
) -> Result<StatusCode> {
    let hash = session::hash_refresh_token(&req.refresh_token);
    let family: Option<String> =
        sqlx::query_scalar("SELECT family FROM refresh_tokens WHERE token_hash = $1")
            .bind(&hash)
            .fetch_optional(state.store().pool())
            .await?;
    let family = family
        .ok_or_else(|| ApiError::unauthorized("invalid_refresh_token", "unknown refresh token"))?;
    session::revoke_family(state.store().pool(), &family).await?;
    Ok(StatusCode::NO_CONTENT)
}
