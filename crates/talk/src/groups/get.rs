//! `GET /api/v1/groups/{id}`: the group and its members with their roles.

use axum::extract::State;
use axum::Json;

use crate::groups::model::{load_view, GroupView};
use crate::TalkState;
use api::error::Result;
use api::http::{Auth, IdPath};

#[utoipa::path(
    get,
    path = "/api/v1/groups/{id}",
    tag = "groups",
    params(("id" = i64, Path, description = "Group (conversation) id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The group, dissolved or not", body = GroupView),
        (status = 404, description = "Not a group of yours (`conversation_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn get_group(
    State(state): State<TalkState>,
    auth: Auth,
    IdPath(id): IdPath,
) -> Result<Json<GroupView>> {
    let mut conn = state.store().pool().acquire().await?;
    Ok(Json(load_view(&mut conn, id, auth.user_id).await?))
}
