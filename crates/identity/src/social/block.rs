//! `POST /api/v1/users/{id}/block`: block someone. Follows between the two are removed
//! both ways, and they cannot follow you until you unblock them.

use axum::extract::State;
use axum::Json;
use kit::ApiError;

use crate::accounts::errors::IdentityError;
use crate::social::graph_changed;
use crate::social::{check_target, remove_follow, Relation};
use crate::IdentityState;
use api::error::Result;
use api::http::{Auth, IdPath};

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/block",
    tag = "social",
    params(("id" = i64, Path, description = "The user to block")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Blocked (also when already blocked)", body = Relation),
        (status = 400, description = "Blocking oneself (`cannot_block_self`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn block(
    State(state): State<IdentityState>,
    auth: Auth,
    IdPath(target): IdPath,
) -> Result<Json<Relation>> {
    let me = auth.user_id;
    let self_error = ApiError::from(IdentityError::CannotBlockSelf);
    check_target(&state, me, target, self_error).await?;
    let mut tx = state.store().begin().await?;
    sqlx::query(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
    )
    .bind(me)
    .bind(target)
    .bind(kit::time::now_ms())
    .execute(&mut *tx)
    .await?;
    remove_follow(&mut tx, me, target).await?;
    remove_follow(&mut tx, target, me).await?;
    tx.commit().await?;
    state.user_cache().forget_follow(me, target);
    graph_changed(&state, me, target).await;
    Ok(Json(Relation {
        user_id: target,
        is_following: false,
        is_blocking: true,
    }))
}
