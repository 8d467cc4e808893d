//! `POST /api/v1/admin/users/{id}/password`: an operator sets a new password for an
//! account (the owner lost theirs, or it leaked). Every session of the account ends:
//! refresh tokens, web sessions and access tokens are revoked, so only the new password
//! signs in.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::accounts::errors::IdentityError;
use crate::accounts::rules;
use crate::admin::audit;
use crate::error::Result;
use crate::http::{Admin, Body, Fields, IdPath};
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// 8–128 characters.
    pub password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/password",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    request_body = NewPassword,
    responses(
        (status = 204, description = "Set; the account's sessions are revoked"),
        (status = 400, description = "Bad password (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
    Body(req): Body<NewPassword>,
) -> Result<StatusCode> {
    let mut f = Fields::new();
    rules::check_password(&mut f, "password", &req.password);
    f.finish()?;
    let hash = state.passwords().hash(req.password).await?;
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    let changed = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(&hash)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(IdentityError::UserNotFound.into());
    }
    crate::accounts::standing::end_sessions(&mut tx, id, None).await?;
    tx.commit().await?;
    crate::users::changes::changed(state.identity(), id).await;
    audit::record(
        &state,
        admin.user_id,
        "user.reset_password",
        &format!("user:{id}"),
        serde_json::json!({}),
    )
    .await?;
    tracing::info!(admin = admin.user_id, user = id, "password reset");
    Ok(StatusCode::NO_CONTENT)
}
