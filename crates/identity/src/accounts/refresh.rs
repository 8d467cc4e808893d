//! `POST /api/v1/auth/refresh`: trade a refresh token for a new pair (rotation).

use axum::extract::State;
use axum::Json;
use kit::ApiError;
use serde::Deserialize;

use crate::accounts::errors::IdentityError;
use crate::accounts::{session, Role};
use crate::IdentityState;
use api::error::Result;
use api::http::{Body, Fields};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    user_id: i64,
    family: String,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    role: String,
    status: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the old refresh token is spent", body = session::TokenPair),
        (status = 401, description = "Unknown (`invalid_refresh_token`), expired (`refresh_token_expired`), revoked (`refresh_token_revoked`) or reused (`refresh_token_reused`, which revokes its whole family)", body = kit::error::ErrorBody),
        (status = 403, description = "The account is banned (`account_banned`)", body = kit::error::ErrorBody),
    )
)]
pub async fn refresh(
    State(state): State<IdentityState>,
    Body(req): Body<RefreshRequest>,
) -> Result<Json<session::TokenPair>> {
    let mut f = Fields::new();
    f.check(
        "refresh_token",
        !req.refresh_token.is_empty() && req.refresh_token.len() <= 256,
        "must be a refresh token",
    );
    f.finish()?;

    let hash = session::hash_refresh_token(&req.refresh_token);
    let row = sqlx::query_as::<_, TokenRow>(
        "SELECT t.id, t.user_id, t.family, t.expires_at, t.used_at, t.revoked_at, u.role, u.status \
         FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(state.store().pool())
    .await?
    .ok_or(IdentityError::InvalidRefreshToken)?;

    if row.revoked_at.is_some() {
        return Err(revoked());
    }
    if row.used_at.is_some() {
        return Err(reused(&state, &row.family).await);
    }
    if row.expires_at <= kit::time::now_ms() {
        return Err(IdentityError::RefreshTokenExpired.into());
    }
    if row.status != "active" {
        return Err(IdentityError::AccountBanned.into());
    }

    let mut tx = state.store().begin().await?;
    // Claim the token; only one of two concurrent uses can win this update.
    let claimed = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $1 \
         WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(kit::time::now_ms())
    .bind(row.id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 0 {
        drop(tx);
        return Err(reused(&state, &row.family).await);
    }
    let pair = session::issue(
        &state,
        &mut *tx,
        row.user_id,
        Role::parse(&row.role),
        Some(&row.family),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(pair))
}

fn revoked() -> api::error::Error {
    ApiError::from(IdentityError::RefreshTokenRevoked).into()
}

/// A spent token came back: revoke its family and say so.
async fn reused(state: &IdentityState, family: &str) -> api::error::Error {
    match session::revoke_family(state.store().pool(), family).await {
        Ok(n) => {
            tracing::warn!(revoked = n, "refresh token reused; its family is revoked");
            metrics::counter!("auth_refresh_reuse_total").increment(1);
            ApiError::from(IdentityError::RefreshTokenReused).into()
        }
        Err(e) => e,
    }
}
