//! `GET /api/v1/users/{id}/followers`: Who follows the user, newest first.

use axum::extract::{Query, State};
use axum::Json;

use crate::error::Result;
use crate::http::{IdPath, MaybeAuth, Page, PageQuery};
use crate::social::edge_page;
use crate::users::model::UserView;
use crate::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/followers",
    tag = "social",
    params(("id" = i64, Path, description = "User id"), PageQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Who follows the user, newest first", body = Page<UserView>),
        (status = 400, description = "Bad cursor (`invalid_cursor`) or limit (`invalid_limit`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn followers(
    State(state): State<AppState>,
    viewer: MaybeAuth,
    IdPath(id): IdPath,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<UserView>>> {
    crate::users::ensure_exists(&state, id).await?;
    let sql = "FROM follows f JOIN users u ON u.id = f.follower_id WHERE f.followee_id = $2";
    let page = edge_page(&state, viewer.viewer_id(), id, sql, "f.created_at", &page).await?;
    Ok(Json(page))
}
