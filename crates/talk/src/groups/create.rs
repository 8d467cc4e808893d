//! `POST /api/v1/groups` `{name, member_ids?}`: a new group; the caller is its owner.
//! Members who block the creator are left out; the first message is a `system` one
//! (`{"event": "created", "name", "user_ids"}`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kit::ApiError;
use serde::Deserialize;
use serde_json::json;

use crate::chat::append::{push_messages, system};
use crate::chat::errors::TalkError;
use crate::groups::model::{check_name, load_view, GroupView};
use crate::TalkState;
use api::error::Result;
use api::http::{Auth, Body, Fields};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    /// 1 to 64 characters.
    pub name: String,
    /// Users to add besides the creator.
    #[serde(default)]
    pub member_ids: Vec<i64>,
    /// Only the owner and admins may invite (default: any member may).
    #[serde(default)]
    pub admins_invite_only: bool,
}

pub fn group_full(max: i64) -> ApiError {
    TalkError::GroupFull.with_message(format!("a group has at most {max} members"))
}

#[utoipa::path(
    post,
    path = "/api/v1/groups",
    tag = "groups",
    security(("bearer" = [])),
    request_body = NewGroup,
    responses(
        (status = 201, description = "The group, with its members", body = GroupView),
        (status = 400, description = "Bad name or member ids (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 404, description = "A member id names nobody (`user_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "More members than the limit (`group_full`)", body = kit::error::ErrorBody),
    )
)]
pub async fn create_group(
    State(state): State<TalkState>,
    auth: Auth,
    Body(req): Body<NewGroup>,
) -> Result<(StatusCode, Json<GroupView>)> {
    let me = auth.user_id;
    let mut f = Fields::new();
    check_name(&mut f, &req.name);
    f.check(
        "member_ids",
        req.member_ids.iter().all(|id| *id > 0),
        "must be user ids",
    );
    f.finish()?;
    let max = state.settings().max_group_members;
    let mut ids: Vec<i64> = req
        .member_ids
        .iter()
        .copied()
        .filter(|id| *id != me)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() as i64 + 1 > max {
        return Err(group_full(max).into());
    }
    let mut members = vec![me];
    for id in ids {
        state.directory().ensure_exists(id).await?;
        if !state.directory().blocks(id, me).await? {
            members.push(id);
        }
    }
    let name = req.name.trim().to_string();
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO conversations (kind, name, owner_id, admins_invite_only, member_count, \
                                    created_at, updated_at) \
         VALUES ('group', $1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(&name)
    .bind(me)
    .bind(i64::from(req.admins_invite_only))
    .bind(members.len() as i64)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    for user in &members {
        let role = if *user == me { "owner" } else { "member" };
        sqlx::query(
            "INSERT INTO conversation_members (conversation_id, user_id, role, joined_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(user)
        .bind(role)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let event = json!({"event": "created", "name": name, "user_ids": members, "by": me});
    let notice = system(&mut tx, id, me, event, now).await?;
    let view = load_view(&mut tx, id, me).await?;
    tx.commit().await?;
    push_messages(&state, &members, vec![notice]).await;
    tracing::info!(
        group = id,
        owner = me,
        members = members.len(),
        "group created"
    );
    Ok((StatusCode::CREATED, Json(view)))
}
