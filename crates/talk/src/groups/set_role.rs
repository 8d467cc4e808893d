//! `PUT /api/v1/groups/{id}/members/{user_id}/role` `{role}` by the owner: make a member
//! an `admin`, make an admin a `member` again, or hand over ownership (`owner`: the
//! member becomes the owner and the old owner an admin). The members get a `system`
//! message (`{"event": "role_changed", "user_id", "role", "by"}`).

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::chat::append::{member_ids, push_messages, system};
use crate::chat::errors::TalkError;
use crate::groups::model::{
    load_view, lock_as_member, member_not_found, not_group_owner, role_of, GroupRole, GroupView,
};
use crate::TalkState;
use api::error::Result;
use api::http::{Auth, Body, Fields, IdPairPath};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    /// `admin`, `member`, or `owner` to hand over ownership.
    pub role: String,
}

#[utoipa::path(
    put,
    path = "/api/v1/groups/{id}/members/{user_id}/role",
    tag = "groups",
    params(
        ("id" = i64, Path, description = "Group (conversation) id"),
        ("user_id" = i64, Path, description = "The member"),
    ),
    security(("bearer" = [])),
    request_body = NewRole,
    responses(
        (status = 200, description = "The group as it is now", body = GroupView),
        (status = 400, description = "Not a role (`validation_failed`); oneself (`cannot_moderate_self`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not the owner (`not_group_owner`)", body = kit::error::ErrorBody),
        (status = 404, description = "Not a group of yours (`conversation_not_found`); not a member (`member_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Dissolved (`group_dissolved`)", body = kit::error::ErrorBody),
    )
)]
pub async fn set_role(
    State(state): State<TalkState>,
    auth: Auth,
    IdPairPath(id, user_id): IdPairPath,
    Body(req): Body<NewRole>,
) -> Result<Json<GroupView>> {
    let me = auth.user_id;
    let role = GroupRole::parse(&req.role);
    let mut f = Fields::new();
    f.check("role", role.is_some(), "must be owner, admin or member");
    f.finish()?;
    let Some(new_role) = role else {
        unreachable!("checked just above")
    };
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    let (group, my_role) = lock_as_member(&mut tx, id, me).await?;
    group.ensure_open()?;
    if my_role != GroupRole::Owner {
        return Err(not_group_owner().into());
    }
    if user_id == me {
        return Err(TalkError::CannotModerateSelf
            .with_message("the owner's role changes only by handing ownership to someone else")
            .into());
    }
    let old = role_of(&mut tx, id, user_id)
        .await?
        .ok_or_else(member_not_found)?;
    let mut notices = Vec::new();
    if old != new_role {
        let set = "UPDATE conversation_members SET role = $1 \
                   WHERE conversation_id = $2 AND user_id = $3";
        sqlx::query(set)
            .bind(new_role.as_str())
            .bind(id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if new_role == GroupRole::Owner {
            sqlx::query(set)
                .bind(GroupRole::Admin.as_str())
                .bind(id)
                .bind(me)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE conversations SET owner_id = $1 WHERE id = $2")
                .bind(user_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let event = json!({
            "event": "role_changed", "user_id": user_id, "role": new_role.as_str(), "by": me,
        });
        notices.push(system(&mut tx, id, me, event, now).await?);
    }
    let view = load_view(&mut tx, id, me).await?;
    tx.commit().await?;
    if !notices.is_empty() {
        push_messages(&state, &member_ids(&state, id).await?, notices).await;
    }
    Ok(Json(view))
}
