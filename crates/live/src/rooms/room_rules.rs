//! Who may speak in and join a room's chat, as the room's owner and admins decided
//! (mutes, kicks), answered for the chat gateway from memory.
//!
//! The gateway asks on every danmaku; an answer costs one cache lookup, or one indexed
//! read when the `(room, user)` pair is not cached. Mutes and kicks made through this node
//! drop the pair's entry at once; entries expire after 30 s in any case, which bounds how
//! long a change made through another node takes to apply here.

use std::time::Duration;

use im::gateway::policy::{PolicyFuture, Refusal, RoomPolicy};
use kit::cache::LocalCache;

use crate::LiveState;
use api::error::Result;

/// How long a cached answer lives.
const TTL: Duration = Duration::from_secs(30);

/// Until when a user is muted in, or kicked from, a room (ms since the epoch; 0: not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restrictions {
    pub muted_until: i64,
    pub kicked_until: i64,
}

/// The cache of [`Restrictions`] by `(room, user)`.
#[derive(Debug, Clone)]
pub struct RoomRules {
    cache: LocalCache<(i64, i64), Restrictions>,
}

impl RoomRules {
    pub fn new(capacity: u64) -> Self {
        RoomRules {
            cache: LocalCache::new("room_rules", capacity, TTL),
        }
    }

    /// Drops the cached answer for `user` in `room`, after a change to it commits.
    pub fn forget(&self, room: i64, user: i64) {
        self.cache.invalidate(&(room, user));
    }
}

/// `user`'s restrictions in `room`, from the cache when it can be.
pub async fn restrictions(state: &LiveState, room: i64, user: i64) -> Result<Restrictions> {
    let rules = state.room_rules();
    if let Some(r) = rules.cache.get(&(room, user)) {
        return Ok(r);
    }
    let (muted, kicked): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT until_ms FROM room_mutes WHERE room_id = $1 AND user_id = $2), \
                (SELECT until_ms FROM room_kicks WHERE room_id = $1 AND user_id = $2)",
    )
    .bind(room)
    .bind(user)
    .fetch_one(state.store().pool())
    .await?;
    let r = Restrictions {
        muted_until: muted.unwrap_or(0),
        kicked_until: kicked.unwrap_or(0),
    };
    rules.cache.insert((room, user), r);
    Ok(r)
}

/// The gateway's room policy, from [`restrictions`].
#[derive(Debug, Clone)]
pub struct ChatRoomRules(pub LiveState);

impl ChatRoomRules {
    /// The restrictions in `room` (a bare gateway room id), or none for a room that is
    /// not a live room's id.
    async fn check(&self, room: &str, user: i64) -> std::result::Result<Restrictions, Refusal> {
        let Ok(room) = room.parse::<i64>() else {
            return Ok(Restrictions::default());
        };
        restrictions(&self.0, room, user).await.map_err(|e| {
            tracing::warn!(room, user, "cannot read room rules: {e}");
            Refusal {
                code: "unavailable",
                message: "try again shortly".into(),
                until: None,
            }
        })
    }
}

impl RoomPolicy for ChatRoomRules {
    fn may_speak<'a>(&'a self, room: &'a str, user: i64) -> PolicyFuture<'a> {
        Box::pin(async move {
            let r = self.check(room, user).await?;
            if r.muted_until > kit::time::now_ms() {
                return Err(Refusal {
                    code: "muted",
                    message: "you are muted in this room".into(),
                    until: Some(r.muted_until),
                });
            }
            Ok(())
        })
    }

    fn may_join<'a>(&'a self, room: &'a str, user: i64) -> PolicyFuture<'a> {
        Box::pin(async move {
            let r = self.check(room, user).await?;
            if r.kicked_until > kit::time::now_ms() {
                return Err(Refusal {
                    code: "kicked",
                    message: "you were removed from this room; try again later".into(),
                    until: Some(r.kicked_until),
                });
            }
            Ok(())
        })
    }
}
