//! `DELETE /api/v1/users/{id}/block`: unblock someone. Follows removed by the block are
//! not restored.

use axum::extract::State;
use axum::Json;

use crate::social::graph_changed;
use crate::social::Relation;
use crate::IdentityState;
use api::error::Result;
use api::http::{Auth, IdPath};

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/block",
    tag = "social",
    params(("id" = i64, Path, description = "The user to unblock")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Not blocked (also when not blocked before)", body = Relation),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn unblock(
    State(state): State<IdentityState>,
    auth: Auth,
    IdPath(target): IdPath,
) -> Result<Json<Relation>> {
    crate::users::ensure_exists(&state, target).await?;
    sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
        .bind(auth.user_id)
        .bind(target)
        .execute(state.store().writer())
        .await?;
    graph_changed(&state, auth.user_id, target).await;
    let is_following: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2")
            .bind(auth.user_id)
            .bind(target)
            .fetch_optional(state.store().pool())
            .await?;
    Ok(Json(Relation {
        user_id: target,
        is_following: is_following.is_some(),
        is_blocking: false,
    }))
}
