//! A user's graph as lists: `GET /api/v1/users/{id}/followers`, `/following` and
//! `/friends` (people they follow who follow them back). Newest edge first, paged by
//! cursor, each item carrying the viewer's relation to that user.

use axum::extract::State;
use axum::Json;

use crate::social::edge_page;
use crate::users::model::UserView;
use crate::IdentityState;
use api::error::Result;
use api::http::{IdPath, MaybeAuth, Page, PageQuery, Query};

const FOLLOWERS: &str =
    "FROM follows f JOIN users u ON u.id = f.follower_id WHERE f.followee_id = $2";
const FOLLOWING: &str =
    "FROM follows f JOIN users u ON u.id = f.followee_id WHERE f.follower_id = $2";
const FRIENDS: &str = "FROM follows f JOIN users u ON u.id = f.followee_id \
     WHERE f.follower_id = $2 \
       AND EXISTS (SELECT 1 FROM follows b WHERE b.follower_id = u.id AND b.followee_id = $2)";

async fn list(
    state: &IdentityState,
    viewer: MaybeAuth,
    id: i64,
    page: &PageQuery,
    from_where: &str,
) -> Result<Json<Page<UserView>>> {
    crate::users::ensure_exists(state, id).await?;
    let page = edge_page(
        state,
        viewer.viewer_id(),
        id,
        from_where,
        "f.created_at",
        page,
    )
    .await?;
    Ok(Json(page))
}

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
    State(state): State<IdentityState>,
    viewer: MaybeAuth,
    IdPath(id): IdPath,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<UserView>>> {
    list(&state, viewer, id, &page, FOLLOWERS).await
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/following",
    tag = "social",
    params(("id" = i64, Path, description = "User id"), PageQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Whom the user follows, newest first", body = Page<UserView>),
        (status = 400, description = "Bad cursor (`invalid_cursor`) or limit (`invalid_limit`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn following(
    State(state): State<IdentityState>,
    viewer: MaybeAuth,
    IdPath(id): IdPath,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<UserView>>> {
    list(&state, viewer, id, &page, FOLLOWING).await
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/friends",
    tag = "social",
    params(("id" = i64, Path, description = "User id"), PageQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The user's friends (mutual follows), newest follow first", body = Page<UserView>),
        (status = 400, description = "Bad cursor (`invalid_cursor`) or limit (`invalid_limit`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn friends(
    State(state): State<IdentityState>,
    viewer: MaybeAuth,
    IdPath(id): IdPath,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<UserView>>> {
    list(&state, viewer, id, &page, FRIENDS).await
}
