//! `DELETE /api/v1/groups/{id}/members/{user_id}`: the owner or an admin removes a
//! member (an admin cannot remove another admin or the owner). Everyone, the kicked
//! member included, gets a `system` message (`{"event": "kicked", "user_id", "by"}`);
//! after it the kicked member's requests answer 404 like any stranger's.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use crate::chat::append::{member_ids, push_messages, system};
use crate::groups::leave::remove_member;
use crate::groups::model::{check_moderation, lock_as_member, member_not_found, role_of};
use crate::TalkState;
use api::error::Result;
use api::http::{Auth, IdPairPath};

#[utoipa::path(
    delete,
    path = "/api/v1/groups/{id}/members/{user_id}",
    tag = "groups",
    params(
        ("id" = i64, Path, description = "Group (conversation) id"),
        ("user_id" = i64, Path, description = "The member to remove"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Oneself (`cannot_moderate_self`; leave instead)", body = kit::error::ErrorBody),
        (status = 403, description = "Not the owner or an admin (`not_group_admin`); the owner (`cannot_moderate_owner`); an admin, by an admin (`cannot_moderate_group_admin`)", body = kit::error::ErrorBody),
        (status = 404, description = "Not a group of yours (`conversation_not_found`); not a member (`member_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Dissolved (`group_dissolved`)", body = kit::error::ErrorBody),
    )
)]
pub async fn kick(
    State(state): State<TalkState>,
    auth: Auth,
    IdPairPath(id, user_id): IdPairPath,
) -> Result<StatusCode> {
    let me = auth.user_id;
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    let (group, role) = lock_as_member(&mut tx, id, me).await?;
    group.ensure_open()?;
    let target = role_of(&mut tx, id, user_id)
        .await?
        .ok_or_else(member_not_found)?;
    check_moderation(role, target, user_id == me)?;
    let event = json!({"event": "kicked", "user_id": user_id, "by": me});
    let notice = system(&mut tx, id, me, event, now).await?;
    remove_member(&mut tx, id, user_id).await?;
    tx.commit().await?;
    let mut to = member_ids(&state, id).await?;
    to.push(user_id);
    push_messages(&state, &to, vec![notice]).await;
    tracing::info!(group = id, user = user_id, by = me, "kicked from group");
    Ok(StatusCode::NO_CONTENT)
}
