//! `DELETE /api/v1/groups/{id}`: the owner dissolves the group. The members get a last
//! `system` message (`{"event": "dissolved"}`); from then on the conversation is
//! read-only (sending and changes answer 409 `group_dissolved`), but stays in the
//! members' lists and history until each leaves it.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use crate::chat::append::{member_ids, push_messages, system};
use crate::groups::model::{lock_as_member, not_group_owner, GroupRole};
use crate::TalkState;
use api::error::Result;
use api::http::{Auth, IdPath};

#[utoipa::path(
    delete,
    path = "/api/v1/groups/{id}",
    tag = "groups",
    params(("id" = i64, Path, description = "Group (conversation) id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Dissolved"),
        (status = 403, description = "Not the owner (`not_group_owner`)", body = kit::error::ErrorBody),
        (status = 404, description = "Not a group of yours (`conversation_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Already dissolved (`group_dissolved`)", body = kit::error::ErrorBody),
    )
)]
pub async fn dissolve_group(
    State(state): State<TalkState>,
    auth: Auth,
    IdPath(id): IdPath,
) -> Result<StatusCode> {
    let me = auth.user_id;
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    let (group, role) = lock_as_member(&mut tx, id, me).await?;
    group.ensure_open()?;
    if role != GroupRole::Owner {
        return Err(not_group_owner().into());
    }
    let notice = system(
        &mut tx,
        id,
        me,
        json!({"event": "dissolved", "by": me}),
        now,
    )
    .await?;
    sqlx::query("UPDATE conversations SET dissolved_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    push_messages(&state, &member_ids(&state, id).await?, vec![notice]).await;
    tracing::info!(group = id, owner = me, "group dissolved");
    Ok(StatusCode::NO_CONTENT)
}
