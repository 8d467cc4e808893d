//! Room admins: users a room's owner trusts to mute and kick in the room.
//! `PUT /api/v1/rooms/{id}/admins/{user_id}` and `DELETE` (the owner, or a platform
//! admin), `GET /api/v1/rooms/{id}/admins` (anyone). Also who may moderate a room:
//! [`moderator`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kit::ApiError;
use serde::Serialize;

use crate::rooms::errors::LiveError;
use crate::LiveState;
use api::error::Result;
use api::http::{Auth, IdPairPath, IdPath, MaybeAuth};
use api::Role;

/// Why a caller may moderate a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Owner,
    PlatformAdmin,
    RoomAdmin,
}

impl Power {
    /// May appoint and remove room admins, and moderate room admins.
    pub fn is_above_room_admins(self) -> bool {
        matches!(self, Power::Owner | Power::PlatformAdmin)
    }
}

/// Room `room_id`'s owner and `caller`'s power in it (`None`: an ordinary member);
/// 404 `room_not_found` when there is no such room. The caller's role is read from the
/// database, so a demoted admin loses the power at once.
pub async fn moderator(
    state: &LiveState,
    room_id: i64,
    caller: i64,
) -> Result<(i64, Option<Power>)> {
    let row: Option<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT r.owner_id, \
           (SELECT 1 FROM room_admins a WHERE a.room_id = r.id AND a.user_id = $2), \
           (SELECT u.role FROM users u WHERE u.id = $2 AND u.status = 'active') \
         FROM live_rooms r WHERE r.id = $1",
    )
    .bind(room_id)
    .bind(caller)
    .fetch_optional(state.store().pool())
    .await?;
    let (owner, room_admin, role) = row.ok_or(LiveError::RoomNotFound)?;
    let power = if owner == caller {
        Some(Power::Owner)
    } else if role.as_deref().map(Role::parse) == Some(Role::Admin) {
        Some(Power::PlatformAdmin)
    } else if room_admin.is_some() {
        Some(Power::RoomAdmin)
    } else {
        None
    };
    Ok((owner, power))
}

/// Whether `user` is an admin of room `room_id`.
pub async fn is_room_admin(state: &LiveState, room_id: i64, user: i64) -> Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM room_admins WHERE room_id = $1 AND user_id = $2")
            .bind(room_id)
            .bind(user)
            .fetch_optional(state.store().pool())
            .await?;
    Ok(found.is_some())
}

fn not_owner() -> ApiError {
    ApiError::from(LiveError::NotRoomOwner)
}

#[derive(Debug, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct RoomAdmin {
    pub room_id: i64,
    pub user_id: i64,
    pub nickname: String,
    pub created_at: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoomAdmins {
    pub items: Vec<RoomAdmin>,
}

async fn load_admins(state: &LiveState, room_id: i64, only: Option<i64>) -> Result<Vec<RoomAdmin>> {
    Ok(sqlx::query_as::<_, RoomAdmin>(
        "SELECT a.room_id, a.user_id, u.nickname, a.created_at \
         FROM room_admins a JOIN users u ON u.id = a.user_id \
         WHERE a.room_id = $1 AND ($2 = 0 OR a.user_id = $2) ORDER BY a.created_at, a.user_id",
    )
    .bind(room_id)
    .bind(only.unwrap_or(0))
    .fetch_all(state.store().pool())
    .await?)
}

#[utoipa::path(
    put,
    path = "/api/v1/rooms/{id}/admins/{user_id}",
    tag = "live",
    params(
        ("id" = i64, Path, description = "Room id"),
        ("user_id" = i64, Path, description = "The user to make a room admin"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A room admin (also when already one)", body = RoomAdmin),
        (status = 400, description = "The owner (`owner_is_not_admin`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not the room's owner (`not_room_owner`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room or user (`room_not_found`, `user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn add_admin(
    State(state): State<LiveState>,
    auth: Auth,
    IdPairPath(room_id, user_id): IdPairPath,
) -> Result<Json<RoomAdmin>> {
    let (owner, power) = moderator(&state, room_id, auth.user_id).await?;
    if !power.is_some_and(Power::is_above_room_admins) {
        return Err(not_owner().into());
    }
    if user_id == owner {
        return Err(LiveError::OwnerIsNotAdmin.into());
    }
    state.directory().ensure_exists(user_id).await?;
    sqlx::query(
        "INSERT INTO room_admins (room_id, user_id, created_by, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (room_id, user_id) DO NOTHING",
    )
    .bind(room_id)
    .bind(user_id)
    .bind(auth.user_id)
    .bind(kit::time::now_ms())
    .execute(state.store().writer())
    .await?;
    let mut rows = load_admins(&state, room_id, Some(user_id)).await?;
    rows.pop()
        .map(Json)
        .ok_or_else(|| crate::rooms::errors::LiveError::UserNotFound.into())
}

#[utoipa::path(
    delete,
    path = "/api/v1/rooms/{id}/admins/{user_id}",
    tag = "live",
    params(
        ("id" = i64, Path, description = "Room id"),
        ("user_id" = i64, Path, description = "The room admin to remove"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Not a room admin now (also when they were not)"),
        (status = 403, description = "Not the room's owner (`not_room_owner`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room (`room_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn remove_admin(
    State(state): State<LiveState>,
    auth: Auth,
    IdPairPath(room_id, user_id): IdPairPath,
) -> Result<StatusCode> {
    let (_, power) = moderator(&state, room_id, auth.user_id).await?;
    if !power.is_some_and(Power::is_above_room_admins) {
        return Err(not_owner().into());
    }
    sqlx::query("DELETE FROM room_admins WHERE room_id = $1 AND user_id = $2")
        .bind(room_id)
        .bind(user_id)
        .execute(state.store().writer())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/rooms/{id}/admins",
    tag = "live",
    params(("id" = i64, Path, description = "Room id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The room's admins, longest-serving first", body = RoomAdmins),
        (status = 404, description = "No such room (`room_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_admins(
    State(state): State<LiveState>,
    _viewer: MaybeAuth,
    IdPath(room_id): IdPath,
) -> Result<Json<RoomAdmins>> {
    crate::rooms::get_room::load(&state, room_id).await?;
    Ok(Json(RoomAdmins {
        items: load_admins(&state, room_id, None).await?,
    }))
}

/// Checks that `caller` may mute or kick `target` in room `room_id`: the caller
/// moderates the room (403 `not_room_admin`), the request's `fields` are valid (400
/// `validation_failed`; checked second, so strangers learn nothing from it), the
/// target is a user (404
/// `user_not_found`) other than the caller (400 `cannot_moderate_self`) and the owner
/// (403 `cannot_moderate_owner`), and a room admin only acts on ordinary members (403
/// `cannot_moderate_room_admin`).
pub async fn check_moderation(
    state: &LiveState,
    room_id: i64,
    caller: i64,
    target: i64,
    fields: api::http::Fields,
) -> Result<()> {
    let (owner, power) = moderator(state, room_id, caller).await?;
    let Some(power) = power else {
        return Err(LiveError::NotRoomAdmin.into());
    };
    fields.finish()?;
    if target == caller {
        return Err(LiveError::CannotModerateSelf.into());
    }
    if target == owner {
        return Err(LiveError::CannotModerateOwner.into());
    }
    state.directory().ensure_exists(target).await?;
    if !power.is_above_room_admins() && is_room_admin(state, room_id, target).await? {
        return Err(LiveError::CannotModerateRoomAdmin.into());
    }
    Ok(())
}
