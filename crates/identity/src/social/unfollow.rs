//! `DELETE /api/v1/users/{id}/follow`: stop following. Unfollowing twice is no error.

use axum::extract::State;
use axum::Json;

use crate::social::graph_changed;
use crate::social::{blocks, remove_follow, Relation};
use crate::IdentityState;
use api::error::Result;
use api::http::{Auth, IdPath};

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/follow",
    tag = "social",
    params(("id" = i64, Path, description = "The user to unfollow")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Not following (also when not following before)", body = Relation),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn unfollow(
    State(state): State<IdentityState>,
    auth: Auth,
    IdPath(target): IdPath,
) -> Result<Json<Relation>> {
    crate::users::ensure_exists(&state, target).await?;
    let mut tx = state.store().begin().await?;
    remove_follow(&mut tx, auth.user_id, target).await?;
    let is_blocking = blocks(&mut *tx, auth.user_id, target).await?;
    tx.commit().await?;
    state.user_cache().forget_follow(auth.user_id, target);
    graph_changed(&state, auth.user_id, target).await;
    Ok(Json(Relation {
        user_id: target,
        is_following: false,
        is_blocking,
    }))
}
