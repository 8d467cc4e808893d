//! Muting one member: `POST /api/v1/groups/{id}/mutes` `{user_id, duration_secs}` and
//! `DELETE /api/v1/groups/{id}/mutes/{user_id}`, by the owner or an admin (not on the
//! owner, nor an admin on an admin). A muted member still reads the group; their sends
//! answer 403 `muted` with `until`. Members get a `system` message
//! (`{"event": "muted", "user_id", "until", "by"}` or `{"event": "unmuted", ...}`).
//! Muting everyone at once is `muted_all` on the group (`PATCH /api/v1/groups/{id}`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::chat::append::{member_ids, push_messages, system};
use crate::groups::model::{check_moderation, lock_as_member, member_not_found, role_of};
use crate::TalkState;
use api::error::Result;
use api::http::validate::check_mute_duration;
use api::http::{Auth, Body, Fields, IdPairPath, IdPath};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupMute {
    pub user_id: i64,
    /// 1 s to 30 days.
    pub duration_secs: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupMute {
    pub group_id: i64,
    pub user_id: i64,
    /// Muted until then (ms since the epoch).
    pub until: i64,
    pub by_user: i64,
}

#[utoipa::path(
    post,
    path = "/api/v1/groups/{id}/mutes",
    tag = "groups",
    params(("id" = i64, Path, description = "Group (conversation) id")),
    security(("bearer" = [])),
    request_body = NewGroupMute,
    responses(
        (status = 200, description = "Muted (a new duration replaces the old)", body = GroupMute),
        (status = 400, description = "Bad duration (`validation_failed`); oneself (`cannot_moderate_self`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not the owner or an admin (`not_group_admin`); the owner (`cannot_moderate_owner`); an admin, by an admin (`cannot_moderate_group_admin`)", body = kit::error::ErrorBody),
        (status = 404, description = "Not a group of yours (`conversation_not_found`); not a member (`member_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Dissolved (`group_dissolved`)", body = kit::error::ErrorBody),
    )
)]
pub async fn mute(
    State(state): State<TalkState>,
    auth: Auth,
    IdPath(id): IdPath,
    Body(req): Body<NewGroupMute>,
) -> Result<Json<GroupMute>> {
    let me = auth.user_id;
    let mut f = Fields::new();
    f.check("user_id", req.user_id > 0, "must be a user id");
    check_mute_duration(&mut f, "duration_secs", req.duration_secs);
    f.finish()?;
    let now = kit::time::now_ms();
    let until = now + req.duration_secs * 1000;
    let notice = set_mute(&state, id, me, req.user_id, until, now).await?;
    push_messages(
        &state,
        &member_ids(&state, id).await?,
        notice.into_iter().collect(),
    )
    .await;
    Ok(Json(GroupMute {
        group_id: id,
        user_id: req.user_id,
        until,
        by_user: me,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/groups/{id}/mutes/{user_id}",
    tag = "groups",
    params(
        ("id" = i64, Path, description = "Group (conversation) id"),
        ("user_id" = i64, Path, description = "The member to unmute"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Not muted now (also when they were not)"),
        (status = 403, description = "Not allowed (as for muting)", body = kit::error::ErrorBody),
        (status = 404, description = "Not a group of yours (`conversation_not_found`); not a member (`member_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Dissolved (`group_dissolved`)", body = kit::error::ErrorBody),
    )
)]
pub async fn unmute(
    State(state): State<TalkState>,
    auth: Auth,
    IdPairPath(id, user_id): IdPairPath,
) -> Result<StatusCode> {
    let me = auth.user_id;
    let now = kit::time::now_ms();
    let notice = set_mute(&state, id, me, user_id, 0, now).await?;
    push_messages(
        &state,
        &member_ids(&state, id).await?,
        notice.into_iter().collect(),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets `user`'s mute to end at `until` (0: unmuted), checking `me` may; the notice
/// stored, if anything changed.
async fn set_mute(
    state: &TalkState,
    id: i64,
    me: i64,
    user: i64,
    until: i64,
    now: i64,
) -> Result<Option<crate::chat::model::MessageRow>> {
    let mut tx = state.store().begin().await?;
    let (group, role) = lock_as_member(&mut tx, id, me).await?;
    group.ensure_open()?;
    let target = role_of(&mut tx, id, user)
        .await?
        .ok_or_else(member_not_found)?;
    check_moderation(role, target, user == me)?;
    let was: i64 = sqlx::query_scalar(
        "SELECT muted_until FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user)
    .fetch_one(&mut *tx)
    .await?;
    if until == 0 && was <= now {
        return Ok(None);
    }
    sqlx::query(
        "UPDATE conversation_members SET muted_until = $1 \
         WHERE conversation_id = $2 AND user_id = $3",
    )
    .bind(until)
    .bind(id)
    .bind(user)
    .execute(&mut *tx)
    .await?;
    let event = if until == 0 {
        json!({"event": "unmuted", "user_id": user, "by": me})
    } else {
        json!({"event": "muted", "user_id": user, "until": until, "by": me})
    };
    let notice = system(&mut tx, id, me, event, now).await?;
    tx.commit().await?;
    Ok(Some(notice))
}
