//! `POST /api/v1/users/{id}/follow`: follow someone. Following twice is no error. A new
//! follow (not a repeat) puts a `follow` notification in the followee's inbox.

use axum::extract::State;
use axum::Json;
use kit::ApiError;

use crate::accounts::errors::IdentityError;
use crate::notifications::{notify, Notification, NotificationKind};
use crate::social::graph_changed;
use crate::social::{adjust_counts, blocks, check_target, Relation};
use crate::IdentityState;
use api::error::Result;
use api::http::{Auth, IdPath};

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/follow",
    tag = "social",
    params(("id" = i64, Path, description = "The user to follow")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Now following (also when already following)", body = Relation),
        (status = 400, description = "Following oneself (`cannot_follow_self`)", body = kit::error::ErrorBody),
        (status = 403, description = "They block you (`blocked_by_user`) or you block them (`user_blocked`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn follow(
    State(state): State<IdentityState>,
    auth: Auth,
    IdPath(target): IdPath,
) -> Result<Json<Relation>> {
    let me = auth.user_id;
    let self_error = ApiError::from(IdentityError::CannotFollowSelf);
    check_target(&state, me, target, self_error).await?;
    let mut tx = state.store().begin().await?;
    if blocks(&mut *tx, target, me).await? {
        return Err(IdentityError::BlockedByUser
            .with_message("this user does not accept your follow")
            .into());
    }
    if blocks(&mut *tx, me, target).await? {
        return Err(IdentityError::UserBlocked.into());
    }
    let added = sqlx::query(
        "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (follower_id, followee_id) DO NOTHING",
    )
    .bind(me)
    .bind(target)
    .bind(kit::time::now_ms())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if added > 0 {
        adjust_counts(&mut tx, me, target, 1).await?;
    }
    tx.commit().await?;
    state.user_cache().forget_follow(me, target);
    graph_changed(&state, me, target).await;
    if added > 0 {
        let n = Notification {
            kind: NotificationKind::Follow,
            actor_id: Some(me),
            payload: serde_json::json!({}),
        };
        // The follow stands even if the notice cannot be stored.
        if let Err(e) = notify(&state, target, n).await {
            tracing::error!(follower = me, followee = target, "follow notification: {e}");
        }
    }
    Ok(Json(Relation {
        user_id: target,
        is_following: true,
        is_blocking: false,
    }))
}
