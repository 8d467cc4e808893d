//! `POST /api/v1/admin/users/{id}/ban`: ban an account. Its sessions are revoked (no
//! more refreshes or sign-ins), its chat connections are closed and new ones refused,
//! and it vanishes from profiles and lists.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::accounts::errors::IdentityError;
use crate::admin::errors::AdminError;
use crate::admin::events::UserBanned;
use crate::error::Result;
use crate::events::Outbox;
use crate::http::{Admin, IdPath};
use crate::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BanResult {
    pub user_id: i64,
    /// `banned` or `active`.
    pub status: &'static str,
    /// Chat connections this ban closes on this node.
    pub connections_closed: usize,
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/ban",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Banned (also when already banned)", body = BanResult),
        (status = 400, description = "Banning oneself (`cannot_ban_self`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn ban_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
) -> Result<Json<BanResult>> {
    Ok(Json(ban(&state, admin.user_id, id).await?))
}

/// Bans user `id` on behalf of admin `by`: the account is marked, its sessions revoked
/// and its chat connections closed. Also how a report's `ban_author` decision bans.
pub async fn ban(state: &AppState, by: i64, id: i64) -> Result<BanResult> {
    if id == by {
        return Err(AdminError::CannotBanSelf.into());
    }
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    let changed = sqlx::query("UPDATE users SET status = 'banned', updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(IdentityError::UserNotFound.into());
    }
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    crate::web::session::revoke_all(&mut *tx, id).await?;
    let mut outbox = Outbox::new();
    outbox.put(&mut tx, &UserBanned { user_id: id }).await?;
    tx.commit().await?;
    crate::users::changes::changed(state.identity(), id).await;
    // Counted before the event goes out: every one of them is closed by it.
    let connections_closed = state.chat().map_or(0, |gw| gw.connections_of(id));
    outbox.send(state.store(), state.bus()).await;
    crate::admin::audit::record(
        state,
        by,
        "user.ban",
        &format!("user:{id}"),
        serde_json::json!({"connections_closed": connections_closed}),
    )
    .await?;
    tracing::info!(admin = by, user = id, "user banned");
    Ok(BanResult {
        user_id: id,
        status: "banned",
        connections_closed,
    })
}
