//! `POST/DELETE /api/v1/videos/{id}/favorite`: keep a video in one's favourites (listed
//! by `GET /api/v1/users/me/favorites`), or drop it. Idempotent, counted like likes.

use axum::extract::State;
use axum::Json;

use crate::access::Counter;
use crate::like::{set_mark, Mark, MarkKind};
use crate::VideosState;
use api::error::Result;
use api::http::{Auth, IdPath};

const FAVORITES: MarkKind = MarkKind {
    table: "video_favorites",
    counter: Counter::Favorites,
    notice: None,
};

#[utoipa::path(
    post,
    path = "/api/v1/videos/{id}/favorite",
    tag = "videos",
    params(("id" = i64, Path, description = "Video id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "In the caller's favourites (also when it was)", body = Mark),
        (status = 404, description = "No such video the caller may see (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn favorite(
    State(state): State<VideosState>,
    auth: Auth,
    IdPath(id): IdPath,
) -> Result<Json<Mark>> {
    let (_, mark, _) = set_mark(&state, &auth, id, FAVORITES, true).await?;
    Ok(Json(mark))
}

#[utoipa::path(
    delete,
    path = "/api/v1/videos/{id}/favorite",
    tag = "videos",
    params(("id" = i64, Path, description = "Video id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Not in the caller's favourites (also when it was not)", body = Mark),
        (status = 404, description = "No such video the caller may see (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn unfavorite(
    State(state): State<VideosState>,
    auth: Auth,
    IdPath(id): IdPath,
) -> Result<Json<Mark>> {
    let (_, mark, _) = set_mark(&state, &auth, id, FAVORITES, false).await?;
    Ok(Json(mark))
}
