//! `POST /api/v1/groups/{id}/members` `{user_ids}`: add people to a group. Any member may
//! invite unless the group is `admins_invite_only`. Users who block the inviter, and
//! current members, are skipped (and listed as such). The new members' unread count
//! starts at the `system` message that says they joined
//! (`{"event": "joined", "user_ids", "by"}`); the history before it is theirs to read.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::chat::append::{member_ids, push_messages, system};
use crate::groups::create::group_full;
use crate::groups::model::{lock_as_member, not_group_admin, role_of};
use crate::TalkState;
use api::error::Result;
use api::http::{Auth, Body, Fields, IdPath};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    /// 1 to 100 user ids.
    pub user_ids: Vec<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Skipped {
    pub user_id: i64,
    /// `already_member` or `blocked` (they block the inviter).
    pub reason: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Invited {
    pub added: Vec<i64>,
    pub skipped: Vec<Skipped>,
    pub member_count: i64,
}

#[utoipa::path(
    post,
    path = "/api/v1/groups/{id}/members",
    tag = "groups",
    params(("id" = i64, Path, description = "Group (conversation) id")),
    security(("bearer" = [])),
    request_body = Invite,
    responses(
        (status = 200, description = "Who was added and who was skipped", body = Invited),
        (status = 400, description = "Bad ids (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 403, description = "Only admins invite here (`not_group_admin`)", body = kit::error::ErrorBody),
        (status = 404, description = "Not a group of yours (`conversation_not_found`); an id names nobody (`user_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Over the member limit (`group_full`); dissolved (`group_dissolved`)", body = kit::error::ErrorBody),
    )
)]
pub async fn invite(
    State(state): State<TalkState>,
    auth: Auth,
    IdPath(id): IdPath,
    Body(req): Body<Invite>,
) -> Result<Json<Invited>> {
    let me = auth.user_id;
    let mut f = Fields::new();
    f.check(
        "user_ids",
        (1..=100).contains(&req.user_ids.len()),
        "must hold 1 to 100 user ids",
    );
    f.check(
        "user_ids",
        req.user_ids.iter().all(|id| *id > 0),
        "must be user ids",
    );
    f.finish()?;
    let mut ids = req.user_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    let mut skipped = Vec::new();
    let mut candidates = Vec::new();
    for user in ids {
        state.directory().ensure_exists(user).await?;
        if state.directory().blocks(user, me).await? {
            skipped.push(Skipped {
                user_id: user,
                reason: "blocked",
            });
        } else {
            candidates.push(user);
        }
    }
    let max = state.settings().max_group_members;
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    let (group, role) = lock_as_member(&mut tx, id, me).await?;
    group.ensure_open()?;
    if group.admins_invite_only != 0 && !role.is_manager() {
        return Err(not_group_admin().into());
    }
    let mut added = Vec::new();
    for user in candidates {
        if role_of(&mut tx, id, user).await?.is_some() {
            skipped.push(Skipped {
                user_id: user,
                reason: "already_member",
            });
        } else {
            added.push(user);
        }
    }
    skipped.sort_by_key(|s| s.user_id);
    let member_count = group.member_count + added.len() as i64;
    if member_count > max {
        return Err(group_full(max).into());
    }
    let mut notices = Vec::new();
    if !added.is_empty() {
        sqlx::query("UPDATE conversations SET member_count = $1 WHERE id = $2")
            .bind(member_count)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for user in &added {
            // Read and received up to just before the notice of their joining.
            sqlx::query(
                "INSERT INTO conversation_members \
                   (conversation_id, user_id, role, read_seq, delivered_seq, joined_at) \
                 VALUES ($1, $2, 'member', $3, $3, $4)",
            )
            .bind(id)
            .bind(user)
            .bind(group.last_seq)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let event = json!({"event": "joined", "user_ids": added, "by": me});
        notices.push(system(&mut tx, id, me, event, now).await?);
    }
    tx.commit().await?;
    if !notices.is_empty() {
        push_messages(&state, &member_ids(&state, id).await?, notices).await;
    }
    Ok(Json(Invited {
        added,
        skipped,
        member_count,
    }))
}
