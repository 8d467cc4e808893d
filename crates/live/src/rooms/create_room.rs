//! `POST /api/v1/rooms`: the caller's live room, created on first call.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;

use crate::rooms::model::{new_stream_key, BaseUrls, RoomRow, RoomView, ROOM_COLUMNS, ROOM_FROM};
use crate::rooms::update_room::{self, UpdateRoom};
use crate::LiveState;
use api::error::Result;
use api::http::{Auth, Body};

/// A new room: every field is optional (see `PATCH /api/v1/rooms/{id}` for the rules).
pub type CreateRoom = UpdateRoom;

#[utoipa::path(
    post,
    path = "/api/v1/rooms",
    tag = "live",
    security(("bearer" = [])),
    request_body = CreateRoom,
    responses(
        (status = 201, description = "Room created, with its stream key and URLs", body = RoomView),
        (status = 200, description = "The caller already had a room: here it is", body = RoomView),
        (status = 400, description = "Bad title (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 401, description = "Not signed in", body = kit::error::ErrorBody),
    )
)]
pub async fn create_room(
    State(state): State<LiveState>,
    auth: Auth,
    parts: Parts,
    Body(req): Body<CreateRoom>,
) -> Result<(StatusCode, Json<RoomView>)> {
    update_room::validate(&req)?;
    let urls = BaseUrls::from_request(&parts, &state.settings().live);
    if let Some(row) = find_by_owner(&state, auth.user_id).await? {
        return Ok((
            StatusCode::OK,
            Json(RoomView::new(row, auth.user_id, &urls).with_viewers(0)),
        ));
    }
    let owner = state.directory().profile(auth.user_id).await?;
    let title = req
        .title
        .map(|t| t.trim().to_string())
        .unwrap_or_else(|| format!("{}'s room", owner.nickname));
    let now = kit::time::now_ms();
    let inserted = sqlx::query(
        "INSERT INTO live_rooms (owner_id, title, stream_key, created_at, updated_at, \
                                 search_text, search_v) \
         VALUES ($1, $2, $3, $4, $4, $5, $6) ON CONFLICT (owner_id) DO NOTHING",
    )
    .bind(auth.user_id)
    .bind(&title)
    .bind(new_stream_key())
    .bind(now)
    .bind(crate::rooms::search::terms(&title))
    .bind(store::search::VERSION)
    .execute(state.store().writer())
    .await?
    .rows_affected();
    let mut row = find_by_owner(&state, auth.user_id)
        .await?
        .ok_or_else(|| api::error::Error::internal("room vanished after insert"))?;
    if inserted > 0 && (req.cover_url.is_some() || req.category.is_some() || req.tags.is_some()) {
        let rest = UpdateRoom { title: None, ..req };
        update_room::apply(&state, row.id, &rest).await?;
        row = find_by_owner(&state, auth.user_id)
            .await?
            .ok_or_else(|| api::error::Error::internal("room vanished after insert"))?;
    }
    let status = if inserted > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(RoomView::new(row, auth.user_id, &urls).with_viewers(0)),
    ))
}

async fn find_by_owner(state: &LiveState, owner: i64) -> Result<Option<RoomRow>> {
    Ok(sqlx::query_as::<_, RoomRow>(&format!(
        "SELECT {ROOM_COLUMNS} FROM {ROOM_FROM} WHERE r.owner_id = $1"
    ))
    .bind(owner)
    .fetch_optional(state.store().pool())
    .await?)
}
