//! `POST /api/v1/rooms/{id}/kicks` `{user_id, duration_secs?}`: take a viewer out of a
//! live room's chat, by the room's owner, its admins or a platform admin.
//!
//! The user's connections in the room leave it at once but stay open (they carry the
//! user's notifications and conversations too); each gets an op 13 with
//! `"room_id": null` and `"kicked": {"room_id", "until"}`. Joining the room again (auth
//! with the room, op 12) is refused with op 24 `kicked` until `until` (default 10
//! minutes). The kick is a durable event ([`MemberKicked`]): every node takes the user's
//! connections out of the room and refuses the rejoin.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::rooms::admins::check_moderation;
use crate::rooms::events::MemberKicked;
use crate::LiveState;
use api::error::Result;
use api::events::outbox::Outbox;
use api::http::validate::check_mute_duration;
use api::http::{Auth, Body, Fields, IdPath};

/// How long a kicked user stays out by default: 10 minutes.
pub const DEFAULT_KICK_SECS: i64 = 600;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKick {
    pub user_id: i64,
    /// How long they may not come back: 1 s to 30 days (default 600).
    pub duration_secs: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Kick {
    pub room_id: i64,
    pub user_id: i64,
    /// They may join again from then (ms since the epoch).
    pub until_ms: i64,
    /// Their connections taken out of the room on this node.
    pub connections_removed: usize,
}

#[utoipa::path(
    post,
    path = "/api/v1/rooms/{id}/kicks",
    tag = "live",
    params(("id" = i64, Path, description = "Room id")),
    security(("bearer" = [])),
    request_body = NewKick,
    responses(
        (status = 200, description = "Out of the room until `until_ms`", body = Kick),
        (status = 400, description = "Bad duration or user id (`validation_failed`), oneself (`cannot_moderate_self`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not the owner or a room admin (`not_room_admin`); the owner (`cannot_moderate_owner`); a room admin, by a room admin (`cannot_moderate_room_admin`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room or user (`room_not_found`, `user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn kick(
    State(state): State<LiveState>,
    auth: Auth,
    IdPath(room_id): IdPath,
    Body(req): Body<NewKick>,
) -> Result<Json<Kick>> {
    let secs = req.duration_secs.unwrap_or(DEFAULT_KICK_SECS);
    let mut f = Fields::new();
    f.check("user_id", req.user_id > 0, "must be a user id");
    check_mute_duration(&mut f, "duration_secs", secs);
    check_moderation(&state, room_id, auth.user_id, req.user_id, f).await?;
    let now = kit::time::now_ms();
    let until_ms = now + secs * 1000;
    let mut tx = state.store().begin().await?;
    sqlx::query(
        "INSERT INTO room_kicks (room_id, user_id, until_ms, by_user, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (room_id, user_id) DO UPDATE \
         SET until_ms = excluded.until_ms, by_user = excluded.by_user, \
             created_at = excluded.created_at",
    )
    .bind(room_id)
    .bind(req.user_id)
    .bind(until_ms)
    .bind(auth.user_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let kicked = MemberKicked {
        room_id,
        user_id: req.user_id,
        until: until_ms,
    };
    let mut outbox = Outbox::new();
    outbox.put(&mut tx, &kicked).await?;
    tx.commit().await?;
    // Refuse the rejoin before taking them out, so a quick rejoin cannot slip through.
    state.room_rules().forget(room_id, req.user_id);
    // Counted before the event goes out: every one of them leaves the room by it.
    let connections_removed = state.chat().map_or(0, |gw| {
        gw.connections_in_room(&room_id.to_string(), req.user_id)
    });
    outbox.send(state.store(), state.bus()).await;
    tracing::info!(
        room = room_id,
        user = req.user_id,
        by = auth.user_id,
        "kicked"
    );
    Ok(Json(Kick {
        room_id,
        user_id: req.user_id,
        until_ms,
        connections_removed,
    }))
}
