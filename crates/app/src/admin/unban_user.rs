//! `DELETE /api/v1/admin/users/{id}/ban`: lift a ban. The account can sign in again
//! (its old sessions stay revoked).

use axum::extract::State;
use axum::Json;

use crate::accounts::errors::IdentityError;
use crate::admin::ban_user::BanResult;
use crate::error::Result;
use crate::http::{Admin, IdPath};
use crate::AppState;

#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{id}/ban",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Active again (also when not banned)", body = BanResult),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn unban_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
) -> Result<Json<BanResult>> {
    let changed = sqlx::query("UPDATE users SET status = 'active', updated_at = $1 WHERE id = $2")
        .bind(kit::time::now_ms())
        .bind(id)
        .execute(state.store().writer())
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(IdentityError::UserNotFound.into());
    }
    crate::users::changes::changed(state.identity(), id).await;
    crate::admin::audit::record(
        &state,
        admin.user_id,
        "user.unban",
        &format!("user:{id}"),
        serde_json::json!({}),
    )
    .await?;
    tracing::info!(admin = admin.user_id, user = id, "user unbanned");
    Ok(Json(BanResult {
        user_id: id,
        status: "active",
        connections_closed: 0,
    }))
}
