//! `GET /api/v1/rooms/{id}/sessions`: a room's live periods, newest first, with their
//! peak audience and gift income — for the anchor and operators.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::rooms::errors::LiveError;
use crate::rooms::get_room::load;
use crate::rooms::streams::{GIFT_COINS, GIFT_DIAMONDS};
use crate::LiveState;
use api::error::Result;
use api::http::{Auth, Cursor, IdPath, Page, PageQuery, Query};
use api::Role;

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LiveSession {
    pub id: i64,
    pub room_id: i64,
    pub started_at: i64,
    /// Absent while the session is on air.
    pub ended_at: Option<i64>,
    /// `ended` (the stream stopped), `cut` or `banned` (by an operator), `vanished`
    /// (no node saw the stream any more).
    pub end_reason: Option<String>,
    pub peak_viewers: i64,
    /// Coins spent on gifts in the session.
    pub gift_coins: i64,
    /// Diamonds the anchor earned from them.
    pub gift_diamonds: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/rooms/{id}/sessions",
    tag = "live",
    params(("id" = i64, Path, description = "Room id"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Live sessions, newest first", body = Page<LiveSession>),
        (status = 403, description = "Not the room's owner or an operator (`not_room_owner`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room (`room_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_sessions(
    State(state): State<LiveState>,
    auth: Auth,
    IdPath(id): IdPath,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<LiveSession>>> {
    let (limit, cursor) = page.resolve()?;
    let room = load(&state, id).await?;
    if room.owner_id != auth.user_id && auth.role != Role::Admin {
        return Err(LiveError::NotRoomOwner
            .with_message("only the room's owner and operators see its sessions")
            .into());
    }
    // A session on air has its income summed now; an ended one has it stored.
    let rows = sqlx::query_as::<_, LiveSession>(&format!(
        "SELECT id, room_id, started_at, ended_at, end_reason, peak_viewers, \
                CASE WHEN ended_at IS NULL THEN {GIFT_COINS} ELSE gift_coins END AS gift_coins, \
                CASE WHEN ended_at IS NULL THEN {GIFT_DIAMONDS} ELSE gift_diamonds END AS gift_diamonds \
         FROM live_sessions WHERE room_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(id)
    .bind(cursor.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    Ok(Json(Page::from_rows(rows, limit, |s: &LiveSession| {
        Cursor {
            key: s.id,
            id: s.id,
        }
    })))
}
