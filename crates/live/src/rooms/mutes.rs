//! Muting in a live room: `POST /api/v1/rooms/{id}/mutes` `{user_id, duration_secs}`,
//! `DELETE /api/v1/rooms/{id}/mutes/{user_id}`, `GET /api/v1/rooms/{id}/mutes`, by the
//! room's owner, its admins or a platform admin. A muted member stays in the room and
//! reads it, but their danmaku is refused (op 24 `muted`, with `until`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kit::ApiError;
use serde::{Deserialize, Serialize};

use crate::rooms::admins::{check_moderation, moderator};
use crate::rooms::errors::LiveError;
use crate::LiveState;
use api::error::Result;
use api::http::{Auth, Body, Fields, IdPairPath, IdPath};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMute {
    pub user_id: i64,
    /// 1 s to 30 days.
    pub duration_secs: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct RoomMute {
    pub room_id: i64,
    pub user_id: i64,
    /// Muted until then (ms since the epoch).
    pub until_ms: i64,
    /// Who muted them.
    pub by_user: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoomMutes {
    pub items: Vec<RoomMute>,
}

fn not_room_admin() -> ApiError {
    ApiError::from(LiveError::NotRoomAdmin)
}

#[utoipa::path(
    post,
    path = "/api/v1/rooms/{id}/mutes",
    tag = "live",
    params(("id" = i64, Path, description = "Room id")),
    security(("bearer" = [])),
    request_body = NewMute,
    responses(
        (status = 200, description = "Muted (a new duration replaces the old)", body = RoomMute),
        (status = 400, description = "Bad duration or user id (`validation_failed`), oneself (`cannot_moderate_self`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not the owner or a room admin (`not_room_admin`); the owner (`cannot_moderate_owner`); a room admin, by a room admin (`cannot_moderate_room_admin`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room or user (`room_not_found`, `user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn mute(
    State(state): State<LiveState>,
    auth: Auth,
    IdPath(room_id): IdPath,
    Body(req): Body<NewMute>,
) -> Result<Json<RoomMute>> {
    let mut f = Fields::new();
    f.check("user_id", req.user_id > 0, "must be a user id");
    api::http::validate::check_mute_duration(&mut f, "duration_secs", req.duration_secs);
    check_moderation(&state, room_id, auth.user_id, req.user_id, f).await?;
    let now = kit::time::now_ms();
    let until_ms = now + req.duration_secs * 1000;
    sqlx::query(
        "INSERT INTO room_mutes (room_id, user_id, until_ms, by_user, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (room_id, user_id) DO UPDATE \
         SET until_ms = excluded.until_ms, by_user = excluded.by_user, \
             created_at = excluded.created_at",
    )
    .bind(room_id)
    .bind(req.user_id)
    .bind(until_ms)
    .bind(auth.user_id)
    .bind(now)
    .execute(state.store().writer())
    .await?;
    crate::rooms::rule_changes::changed(&state, room_id, req.user_id).await;
    tracing::info!(
        room = room_id,
        user = req.user_id,
        by = auth.user_id,
        "muted"
    );
    Ok(Json(RoomMute {
        room_id,
        user_id: req.user_id,
        until_ms,
        by_user: auth.user_id,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/rooms/{id}/mutes/{user_id}",
    tag = "live",
    params(
        ("id" = i64, Path, description = "Room id"),
        ("user_id" = i64, Path, description = "The member to unmute"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Not muted now (also when they were not)"),
        (status = 403, description = "Not the owner or a room admin (`not_room_admin`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room (`room_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn unmute(
    State(state): State<LiveState>,
    auth: Auth,
    IdPairPath(room_id, user_id): IdPairPath,
) -> Result<StatusCode> {
    let (_, power) = moderator(&state, room_id, auth.user_id).await?;
    if power.is_none() {
        return Err(not_room_admin().into());
    }
    sqlx::query("DELETE FROM room_mutes WHERE room_id = $1 AND user_id = $2")
        .bind(room_id)
        .bind(user_id)
        .execute(state.store().writer())
        .await?;
    crate::rooms::rule_changes::changed(&state, room_id, user_id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/rooms/{id}/mutes",
    tag = "live",
    params(("id" = i64, Path, description = "Room id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Members muted now, soonest to end first (at most 500)", body = RoomMutes),
        (status = 403, description = "Not the owner or a room admin (`not_room_admin`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room (`room_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_mutes(
    State(state): State<LiveState>,
    auth: Auth,
    IdPath(room_id): IdPath,
) -> Result<Json<RoomMutes>> {
    let (_, power) = moderator(&state, room_id, auth.user_id).await?;
    if power.is_none() {
        return Err(not_room_admin().into());
    }
    let items = sqlx::query_as::<_, RoomMute>(
        "SELECT room_id, user_id, until_ms, by_user FROM room_mutes \
         WHERE room_id = $1 AND until_ms > $2 ORDER BY until_ms, user_id LIMIT 500",
    )
    .bind(room_id)
    .bind(kit::time::now_ms())
    .fetch_all(state.store().pool())
    .await?;
    Ok(Json(RoomMutes { items }))
}
