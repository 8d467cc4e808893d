//! `POST /api/v1/rooms/{id}/stream-key`: a new stream key; the old one stops working
//! at once, and a stream it is publishing now is cut.

use axum::extract::State;
use axum::http::request::Parts;
use axum::Json;

use crate::rooms::errors::LiveError;
use crate::rooms::get_room::load;
use crate::rooms::model::{new_stream_key, BaseUrls, RoomView};
use crate::LiveState;
use api::error::Result;
use api::http::{Auth, IdPath};

#[utoipa::path(
    post,
    path = "/api/v1/rooms/{id}/stream-key",
    tag = "live",
    params(("id" = i64, Path, description = "Room id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The room with its new key; a stream live with the old key is cut", body = RoomView),
        (status = 403, description = "Not the room's owner (`not_room_owner`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room (`room_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn rotate_key(
    State(state): State<LiveState>,
    auth: Auth,
    IdPath(id): IdPath,
    parts: Parts,
) -> Result<Json<RoomView>> {
    let room = load(&state, id).await?;
    if room.owner_id != auth.user_id {
        return Err(LiveError::NotRoomOwner
            .with_message("only the room's owner can do this")
            .into());
    }
    sqlx::query("UPDATE live_rooms SET stream_key = $1, updated_at = $2 WHERE id = $3")
        .bind(new_stream_key())
        .bind(kit::time::now_ms())
        .bind(id)
        .execute(state.store().writer())
        .await?;
    // A leaked key is rotated to stop whoever holds it: the stream it is publishing now
    // is cut, not left running until it disconnects.
    if room.status == "live"
        || state
            .media()
            .is_some_and(|h| h.stream(&id.to_string()).is_some())
    {
        crate::rooms::cut::cut_stream(&state, id, "key_rotated").await?;
    }
    let row = load(&state, id).await?;
    let urls = BaseUrls::from_request(&parts, &state.settings().live);
    Ok(Json(RoomView::new(row, auth.user_id, &urls)))
}
