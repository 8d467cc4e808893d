//! `GET /api/v1/users/me/blocks`: the people the caller blocks, newest first.

use axum::extract::State;
use axum::Json;

use crate::social::edge_page;
use crate::users::model::UserView;
use crate::IdentityState;
use api::error::Result;
use api::http::{Auth, Page, PageQuery, Query};

#[utoipa::path(
    get,
    path = "/api/v1/users/me/blocks",
    tag = "social",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Blocked users, newest block first", body = Page<UserView>),
        (status = 401, description = "Not signed in", body = kit::error::ErrorBody),
    )
)]
pub async fn blocks(
    State(state): State<IdentityState>,
    auth: Auth,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<UserView>>> {
    let sql = "FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = $2";
    let page = edge_page(
        &state,
        auth.user_id,
        auth.user_id,
        sql,
        "b.created_at",
        &page,
    )
    .await?;
    Ok(Json(page))
}
