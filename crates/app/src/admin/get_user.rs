//! `GET /api/v1/admin/users/{id}`: one account as an operator sees it, banned or not:
//! profile with role and status, balances, and their live room if they have one.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::accounts::errors::IdentityError;
use crate::error::Result;
use crate::http::{Admin, IdPath};
use crate::users::model::{UserRow, UserView, USER_COLUMNS};
use crate::wallet::ledger::{balances, Balances};
use crate::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminUser {
    #[serde(flatten)]
    pub user: UserView,
    pub balances: Balances,
    /// Their room's id, if they ever created one.
    pub room_id: Option<i64>,
    /// Web sessions and refresh tokens still usable.
    pub live_sessions: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{id}",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = AdminUser),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn get_user(
    State(state): State<AppState>,
    _admin: Admin,
    IdPath(id): IdPath,
) -> Result<Json<AdminUser>> {
    let pool = state.store().pool();
    let row = sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or(IdentityError::UserNotFound)?;
    let room_id: Option<i64> = sqlx::query_scalar("SELECT id FROM live_rooms WHERE owner_id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let now = kit::time::now_ms();
    let live_sessions: i64 = sqlx::query_scalar(
        "SELECT CAST((SELECT COUNT(*) FROM web_sessions WHERE user_id = $1 \
                        AND revoked_at IS NULL AND expires_at > $2) \
                   + (SELECT COUNT(*) FROM refresh_tokens WHERE user_id = $1 \
                        AND revoked_at IS NULL AND used_at IS NULL AND expires_at > $2) AS BIGINT)",
    )
    .bind(id)
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok(Json(AdminUser {
        user: UserView::for_admin(row),
        balances: balances(pool, id).await?,
        room_id,
        live_sessions,
    }))
}
