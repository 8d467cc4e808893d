//! `DELETE /api/v1/groups/{id}/members/me`: leave a group. The others get a `system`
//! message (`{"event": "left", "user_id"}`). The owner cannot leave a live group
//! (409 `owner_cannot_leave`): they hand ownership to a member first, or dissolve it.
//! Anyone may leave a dissolved group, which just drops it from their list.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use crate::chat::append::{member_ids, push_messages, system};
use crate::chat::errors::TalkError;
use crate::groups::model::{lock_as_member, GroupRole};
use crate::TalkState;
use api::error::Result;
use api::http::{Auth, IdPath};

#[utoipa::path(
    delete,
    path = "/api/v1/groups/{id}/members/me",
    tag = "groups",
    params(("id" = i64, Path, description = "Group (conversation) id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Left"),
        (status = 404, description = "Not a group of yours (`conversation_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "The owner must transfer ownership or dissolve first (`owner_cannot_leave`)", body = kit::error::ErrorBody),
    )
)]
pub async fn leave(
    State(state): State<TalkState>,
    auth: Auth,
    IdPath(id): IdPath,
) -> Result<StatusCode> {
    let me = auth.user_id;
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    let (group, role) = lock_as_member(&mut tx, id, me).await?;
    let mut notices = Vec::new();
    if group.dissolved_at.is_none() {
        if role == GroupRole::Owner {
            return Err(TalkError::OwnerCannotLeave.into());
        }
        notices.push(
            system(
                &mut tx,
                id,
                me,
                json!({"event": "left", "user_id": me}),
                now,
            )
            .await?,
        );
    }
    remove_member(&mut tx, id, me).await?;
    tx.commit().await?;
    if !notices.is_empty() {
        let mut to = member_ids(&state, id).await?;
        to.push(me);
        push_messages(&state, &to, notices).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Takes `user` out of group `id` and counts them out.
pub async fn remove_member(conn: &mut sqlx::AnyConnection, id: i64, user: i64) -> Result<()> {
    sqlx::query("DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2")
        .bind(id)
        .bind(user)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE conversations SET member_count = member_count - 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
