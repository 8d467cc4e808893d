//! Profiles: reading and editing them, and finding people.

pub mod get_me;
pub mod get_user;
pub mod model;
pub mod search;
pub mod update_me;

use kit::ApiError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::Result;
use crate::AppState;
use model::{UserRow, RELATION_COLUMNS, USER_COLUMNS};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me::get_me, update_me::update_me))
        .routes(routes!(search::search))
        .routes(routes!(get_user::get_user))
}

/// Loads an active user with `viewer`'s relation to them; 404 `user_not_found` if there
/// is none (banned users are not shown).
pub async fn load(state: &AppState, id: i64, viewer: i64) -> Result<UserRow> {
    sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS}, {RELATION_COLUMNS} FROM users u \
         WHERE u.id = $2 AND u.status = 'active'"
    ))
    .bind(viewer)
    .bind(id)
    .fetch_optional(state.store().pool())
    .await?
    .ok_or_else(|| ApiError::not_found("user_not_found", "no such user").into())
}

/// The range `[start, end)` holding every key that starts with `prefix` (byte order;
/// PostgreSQL keys use the "C" collation so the order is the same on both engines).
pub fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_string(), format!("{prefix}\u{10FFFF}"))
}

/// Checks that an active user `id` exists.
pub async fn ensure_exists(state: &AppState, id: i64) -> Result<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND status = 'active'")
            .bind(id)
            .fetch_optional(state.store().pool())
            .await?;
    found
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("user_not_found", "no such user").into())
}
