//! `GET /api/v1/rooms/{id}`: a room, its status and where to watch it.

use axum::extract::State;
use axum::http::request::Parts;
use axum::Json;

use crate::rooms::errors::LiveError;
use crate::rooms::model::{BaseUrls, RoomRow, RoomView, ROOM_COLUMNS, ROOM_FROM};
use crate::LiveState;
use api::error::Result;
use api::http::{IdPath, MaybeAuth};

#[utoipa::path(
    get,
    path = "/api/v1/rooms/{id}",
    tag = "live",
    params(("id" = i64, Path, description = "Room id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The room (with its stream key, for its owner)", body = RoomView),
        (status = 404, description = "No such room (`room_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn get_room(
    State(state): State<LiveState>,
    viewer: MaybeAuth,
    IdPath(id): IdPath,
    parts: Parts,
) -> Result<Json<RoomView>> {
    let row = load(&state, id).await?;
    let urls = BaseUrls::from_request(&parts, &state.settings().live);
    Ok(Json(
        RoomView::new(row, viewer.viewer_id(), &urls).with_viewers(state.room_viewers(id)),
    ))
}

/// Room `id`, or 404 `room_not_found`.
pub async fn load(state: &LiveState, id: i64) -> Result<RoomRow> {
    sqlx::query_as::<_, RoomRow>(&format!(
        "SELECT {ROOM_COLUMNS} FROM {ROOM_FROM} WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(state.store().pool())
    .await?
    .ok_or_else(|| LiveError::RoomNotFound.into())
}
