//! Operators and live rooms: the rooms on air with their stream figures, cutting a
//! stream, and banning a room (its stream is cut and it cannot go live until unbanned).
//!
//! A cut is a durable event ([`StreamCut`](crate::rooms::events::StreamCut)) that the node
//! with the stream acts on. While the bus is in-process (one node), a room banned while
//! its stream runs on another node is refused at its next publish and closed there by
//! the vanished-room sweep.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::request::Parts;
use axum::Json;
use serde::Serialize;

use crate::rooms::errors::LiveError;
use crate::rooms::model::{BaseUrls, RoomRow, RoomView, ROOM_COLUMNS, ROOM_FROM};
use crate::LiveState;
use api::error::Result;
use api::http::{Admin, Cursor, IdPath, Page, PageQuery, Query};

/// A stream's figures on this node.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StreamFigures {
    pub frames_in: u64,
    pub bytes_in: u64,
    /// Frames dropped for viewers that fell behind.
    pub frames_dropped: u64,
    pub players: u64,
    pub players_peak: u64,
    pub publishing: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminRoom {
    #[serde(flatten)]
    pub room: RoomView,
    /// Present when the stream runs on this node.
    pub stream: Option<StreamFigures>,
}

fn figures(state: &LiveState, id: i64) -> Option<StreamFigures> {
    let stream = state.media()?.stream(&id.to_string())?;
    let st = &stream.stats;
    Some(StreamFigures {
        frames_in: st.frames_in.load(Ordering::Relaxed),
        bytes_in: st.bytes_in.load(Ordering::Relaxed),
        frames_dropped: st.frames_dropped.load(Ordering::Relaxed),
        players: stream.viewer_count() as u64,
        players_peak: st.viewers_peak.load(Ordering::Relaxed),
        publishing: stream.is_publishing(),
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/rooms",
    tag = "admin",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Live rooms, latest to go live first, with stream figures", body = Page<AdminRoom>),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_live_rooms(
    State(state): State<LiveState>,
    _admin: Admin,
    parts: Parts,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<AdminRoom>>> {
    let (limit, cursor) = page.resolve()?;
    let rows = sqlx::query_as::<_, RoomRow>(&format!(
        "SELECT {ROOM_COLUMNS} FROM {ROOM_FROM} WHERE r.status = 'live' \
           AND (r.live_since < $1 OR (r.live_since = $1 AND r.id < $2)) \
         ORDER BY r.live_since DESC, r.id DESC LIMIT $3"
    ))
    .bind(cursor.key)
    .bind(cursor.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    let urls = BaseUrls::from_request(&parts, &state.settings().live);
    let rooms = rows
        .into_iter()
        .map(|row| {
            let id = row.id;
            AdminRoom {
                room: RoomView::new(row, 0, &urls).with_viewers(state.room_viewers(id)),
                stream: figures(&state, id),
            }
        })
        .collect();
    Ok(Json(Page::from_rows(rooms, limit, |r: &AdminRoom| {
        Cursor {
            key: r.room.live_since.unwrap_or(0),
            id: r.room.id,
        }
    })))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoomAction {
    pub room_id: i64,
    pub banned: bool,
    /// Whether a stream was running here and was cut.
    pub stream_cut: bool,
}

async fn exists(state: &LiveState, id: i64) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM live_rooms WHERE id = $1")
        .bind(id)
        .fetch_optional(state.store().pool())
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| LiveError::RoomNotFound.into())
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/rooms/{id}/cut",
    tag = "admin",
    params(("id" = i64, Path, description = "Room id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stream is cut and the room offline", body = RoomAction),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room (`room_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn cut_stream(
    State(state): State<LiveState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
) -> Result<Json<RoomAction>> {
    exists(&state, id).await?;
    let stream_cut = crate::rooms::cut::cut_stream(&state, id, "cut").await?;
    api::audit::record(
        state.store(),
        admin.user_id,
        "room.cut",
        &format!("room:{id}"),
        serde_json::json!({"stream_cut": stream_cut}),
    )
    .await?;
    tracing::info!(admin = admin.user_id, room = id, stream_cut, "stream cut");
    let banned: i64 = sqlx::query_scalar("SELECT banned FROM live_rooms WHERE id = $1")
        .bind(id)
        .fetch_one(state.store().pool())
        .await?;
    Ok(Json(RoomAction {
        room_id: id,
        banned: banned != 0,
        stream_cut,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/rooms/{id}/ban",
    tag = "admin",
    params(("id" = i64, Path, description = "Room id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Banned: the stream is cut and publishing is refused", body = RoomAction),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room (`room_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn ban_room(
    State(state): State<LiveState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
) -> Result<Json<RoomAction>> {
    exists(&state, id).await?;
    sqlx::query("UPDATE live_rooms SET banned = 1, updated_at = $1 WHERE id = $2")
        .bind(kit::time::now_ms())
        .bind(id)
        .execute(state.store().writer())
        .await?;
    crate::gifts::lookup::forget_room(&state, id);
    let stream_cut = crate::rooms::cut::cut_stream(&state, id, "banned").await?;
    api::audit::record(
        state.store(),
        admin.user_id,
        "room.ban",
        &format!("room:{id}"),
        serde_json::json!({"stream_cut": stream_cut}),
    )
    .await?;
    tracing::info!(admin = admin.user_id, room = id, stream_cut, "room banned");
    Ok(Json(RoomAction {
        room_id: id,
        banned: true,
        stream_cut,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/rooms/{id}/ban",
    tag = "admin",
    params(("id" = i64, Path, description = "Room id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Unbanned: the room may go live again", body = RoomAction),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room (`room_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn unban_room(
    State(state): State<LiveState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
) -> Result<Json<RoomAction>> {
    exists(&state, id).await?;
    sqlx::query("UPDATE live_rooms SET banned = 0, updated_at = $1 WHERE id = $2")
        .bind(kit::time::now_ms())
        .bind(id)
        .execute(state.store().writer())
        .await?;
    crate::gifts::lookup::forget_room(&state, id);
    api::audit::record(
        state.store(),
        admin.user_id,
        "room.unban",
        &format!("room:{id}"),
        serde_json::json!({}),
    )
    .await?;
    tracing::info!(admin = admin.user_id, room = id, "room unbanned");
    Ok(Json(RoomAction {
        room_id: id,
        banned: false,
        stream_cut: false,
    }))
}
