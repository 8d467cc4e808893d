//! Profiles: reading and editing them, and finding people.

pub mod cache;
pub mod changes;
pub mod get_me;
pub mod get_user;
pub mod model;
pub mod search;
pub mod update_me;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::errors::IdentityError;
use api::error::Result;
use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;

use crate::IdentityState;
use model::{UserRow, USER_COLUMNS};

pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    IdentityState: FromRef<S>,
    Directory: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(get_me::get_me, update_me::update_me))
        .routes(routes!(search::search))
        .routes(routes!(get_user::get_user))
}

/// Loads an active user with `viewer`'s relation to them (0: anonymous); 404
/// `user_not_found` if there is none (banned users are not shown). Served from the
/// profile cache when it can be.
pub async fn load(state: &IdentityState, id: i64, viewer: i64) -> Result<UserRow> {
    let cache = state.user_cache();
    let mut row = match cache.profile(id) {
        Some(row) => row,
        None => {
            let row = sqlx::query_as::<_, UserRow>(&format!(
                "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1 AND u.status = 'active'"
            ))
            .bind(id)
            .fetch_optional(state.store().pool())
            .await?
            .ok_or(IdentityError::UserNotFound)?;
            cache.remember_profile(&row);
            row
        }
    };
    if viewer != 0 && viewer != id {
        row.is_following = crate::accounts::people::follows(state, viewer, id).await? as i64;
        row.is_followed_by = crate::accounts::people::follows(state, id, viewer).await? as i64;
    }
    Ok(row)
}

/// The range `[start, end)` holding every key that starts with `prefix` (byte order;
/// PostgreSQL keys use the "C" collation so the order is the same on both engines).
pub fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_string(), format!("{prefix}\u{10FFFF}"))
}

/// Checks that an active user `id` exists.
pub async fn ensure_exists(state: &IdentityState, id: i64) -> Result<()> {
    load(state, id, 0).await.map(|_| ())
}
