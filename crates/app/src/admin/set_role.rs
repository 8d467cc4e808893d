//! `PUT /api/v1/admin/users/{id}/role`: grant or take away the admin role. The change
//! holds at once: the admin guard reads the role from the database on every request.
//! An admin cannot demote themselves, so the last admin cannot lock everyone out.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::accounts::errors::IdentityError;
use crate::accounts::Role;
use crate::admin::audit;
use crate::admin::errors::AdminError;
use crate::error::Result;
use crate::http::{Admin, Body, IdPath};
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: Role,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleResult {
    pub user_id: i64,
    pub role: Role,
}

#[utoipa::path(
    put,
    path = "/api/v1/admin/users/{id}/role",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The account's role now", body = RoleResult),
        (status = 400, description = "Demoting oneself (`cannot_demote_self`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn set_role(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
    Body(req): Body<RoleChange>,
) -> Result<Json<RoleResult>> {
    if id == admin.user_id && req.role != Role::Admin {
        return Err(AdminError::CannotDemoteSelf.into());
    }
    let changed = sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
        .bind(req.role.as_str())
        .bind(kit::time::now_ms())
        .bind(id)
        .execute(state.store().writer())
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(IdentityError::UserNotFound.into());
    }
    crate::users::changes::changed(state.identity(), id).await;
    audit::record(
        &state,
        admin.user_id,
        "user.set_role",
        &format!("user:{id}"),
        serde_json::json!({"role": req.role.as_str()}),
    )
    .await?;
    tracing::info!(
        admin = admin.user_id,
        user = id,
        role = req.role.as_str(),
        "role set"
    );
    Ok(Json(RoleResult {
        user_id: id,
        role: req.role,
    }))
}
