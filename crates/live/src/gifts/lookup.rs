//! What sending a gift reads on every request — the room (owner, live or not, current
//! session) and the gift (price, name) — kept in short-lived in-process caches, so that a
//! gift costs the database only its transaction. Writers on this node drop the entry at
//! once (a room going live or offline, a ban, a gift edited or retired); other nodes see
//! the change within the time to live.

use std::time::Duration;

use kit::cache::LocalCache;

use crate::gifts::catalogue::{self, GiftRow};
use crate::LiveState;
use api::error::Result;

/// How long a room's entry may be served.
const ROOM_TTL: Duration = Duration::from_secs(2);
/// How long a gift's entry may be served.
const GIFT_TTL: Duration = Duration::from_secs(10);

/// A room, as a gift needs it.
#[derive(Debug, Clone, Copy)]
pub struct RoomForGifts {
    pub owner_id: i64,
    pub live: bool,
    pub banned: bool,
    pub session_id: Option<i64>,
}

#[derive(Debug)]
pub struct GiftLookups {
    rooms: LocalCache<i64, Option<RoomForGifts>>,
    gifts: LocalCache<i64, Option<GiftRow>>,
}

impl GiftLookups {
    pub fn new(capacity: u64) -> GiftLookups {
        GiftLookups {
            rooms: LocalCache::new("gift_rooms", capacity, ROOM_TTL),
            gifts: LocalCache::new("gift_catalogue", capacity.min(10_000), GIFT_TTL),
        }
    }
}

/// Room `id`, or `None` if there is no such room.
pub async fn room(state: &LiveState, id: i64) -> Result<Option<RoomForGifts>> {
    let cache = &state.gift_lookups().rooms;
    if let Some(hit) = cache.get(&id) {
        return Ok(hit);
    }
    let row: Option<(i64, String, i64, Option<i64>)> =
        sqlx::query_as("SELECT owner_id, status, banned, session_id FROM live_rooms WHERE id = $1")
            .bind(id)
            .fetch_optional(state.store().pool())
            .await?;
    let room = row.map(|(owner_id, status, banned, session_id)| RoomForGifts {
        owner_id,
        live: status == "live",
        banned: banned != 0,
        session_id,
    });
    cache.insert(id, room);
    Ok(room)
}

/// Gift `id`, retired or not, or `None` if there is no such gift.
pub async fn gift(state: &LiveState, id: i64) -> Result<Option<GiftRow>> {
    let cache = &state.gift_lookups().gifts;
    if let Some(hit) = cache.get(&id) {
        return Ok(hit);
    }
    let row = catalogue::find(state, id).await?;
    cache.insert(id, row.clone());
    Ok(row)
}

/// Drops room `id`'s entry (it went live or offline, or was banned).
pub fn forget_room(state: &LiveState, id: i64) {
    state.gift_lookups().rooms.invalidate(&id);
}

/// Drops gift `id`'s entry (it was edited or retired).
pub fn forget_gift(state: &LiveState, id: i64) {
    state.gift_lookups().gifts.invalidate(&id);
}
