//! `PATCH /api/v1/groups/{id}` `{name?, muted_all?, admins_invite_only?}` by the owner or
//! an admin. `muted_all` silences everyone but the owner and admins. The change is told
//! to the members as one `system` message `{"event": "updated", "changes": {...}}`.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::chat::append::{member_ids, push_messages, system};
use crate::groups::model::{check_name, load_view, lock_as_member, not_group_admin, GroupView};
use crate::TalkState;
use api::error::Result;
use api::http::{Auth, Body, Fields, IdPath};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    /// 1 to 64 characters.
    pub name: Option<String>,
    /// Only the owner and admins may speak.
    pub muted_all: Option<bool>,
    /// Only the owner and admins may invite.
    pub admins_invite_only: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/groups/{id}",
    tag = "groups",
    params(("id" = i64, Path, description = "Group (conversation) id")),
    security(("bearer" = [])),
    request_body = GroupPatch,
    responses(
        (status = 200, description = "The group as it is now", body = GroupView),
        (status = 400, description = "Bad or no fields (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not the owner or an admin (`not_group_admin`)", body = kit::error::ErrorBody),
        (status = 404, description = "Not a group of yours (`conversation_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Dissolved (`group_dissolved`)", body = kit::error::ErrorBody),
    )
)]
pub async fn update_group(
    State(state): State<TalkState>,
    auth: Auth,
    IdPath(id): IdPath,
    Body(req): Body<GroupPatch>,
) -> Result<Json<GroupView>> {
    let me = auth.user_id;
    let mut f = Fields::new();
    if let Some(name) = &req.name {
        check_name(&mut f, name);
    }
    f.check(
        "name",
        req.name.is_some() || req.muted_all.is_some() || req.admins_invite_only.is_some(),
        "give at least one of name, muted_all, admins_invite_only",
    );
    f.finish()?;
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    let (group, role) = lock_as_member(&mut tx, id, me).await?;
    group.ensure_open()?;
    if !role.is_manager() {
        return Err(not_group_admin().into());
    }
    let mut changes = Map::new();
    if let Some(name) = req.name.as_deref().map(str::trim) {
        if group.name.as_deref() != Some(name) {
            changes.insert("name".into(), json!(name));
        }
    }
    if let Some(on) = req.muted_all.filter(|on| *on != (group.muted_all != 0)) {
        changes.insert("muted_all".into(), json!(on));
    }
    if let Some(on) = req
        .admins_invite_only
        .filter(|on| *on != (group.admins_invite_only != 0))
    {
        changes.insert("admins_invite_only".into(), json!(on));
    }
    let mut notices = Vec::new();
    if !changes.is_empty() {
        let flag = |k: &str, old: i64| {
            changes
                .get(k)
                .and_then(Value::as_bool)
                .map_or(old, i64::from)
        };
        sqlx::query(
            "UPDATE conversations SET name = $1, muted_all = $2, admins_invite_only = $3 \
             WHERE id = $4",
        )
        .bind(
            changes
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or(group.name.clone()),
        )
        .bind(flag("muted_all", group.muted_all))
        .bind(flag("admins_invite_only", group.admins_invite_only))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let event = json!({"event": "updated", "changes": changes, "by": me});
        notices.push(system(&mut tx, id, me, event, now).await?);
    }
    let view = load_view(&mut tx, id, me).await?;
    tx.commit().await?;
    if !notices.is_empty() {
        push_messages(&state, &member_ids(&state, id).await?, notices).await;
    }
    Ok(Json(view))
}
