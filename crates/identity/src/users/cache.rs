//! The profile cache: user rows by id, and follow edges by pair, kept in memory so that
//! a profile read usually costs no database round trip.
//!
//! Writers call [`UserCache::forget_user`] / [`UserCache::forget_follow`] after their
//! transaction commits; entries expire after `cache.profile_ttl_secs` regardless, which
//! bounds staleness across nodes and against a read racing a write.

use std::time::Duration;

use kit::cache::LocalCache;

use crate::accounts::standing::Standing;
use crate::users::model::UserRow;
use crate::CacheSettings;

#[derive(Debug, Clone)]
pub struct UserCache {
    /// Active users by id (relation fields unset).
    profiles: LocalCache<i64, UserRow>,
    /// Whether `(follower, followee)` is a follow edge.
    follows: LocalCache<(i64, i64), bool>,
    /// Accounts' role, status and token generation, by id.
    standings: LocalCache<i64, Standing>,
}

impl UserCache {
    pub fn new(s: &CacheSettings) -> Self {
        let ttl = Duration::from_secs(s.profile_ttl_secs);
        Self {
            profiles: LocalCache::new("profiles", s.capacity, ttl),
            follows: LocalCache::new("follows", s.capacity, ttl),
            standings: LocalCache::new("standings", s.capacity, ttl),
        }
    }

    pub fn profile(&self, id: i64) -> Option<UserRow> {
        self.profiles.get(&id)
    }

    pub fn remember_profile(&self, row: &UserRow) {
        self.profiles.insert(row.id, row.clone());
    }

    /// Drops a user's row: their profile, counts, role, status or token generation
    /// changed.
    pub fn forget_user(&self, id: i64) {
        self.profiles.invalidate(&id);
        self.standings.invalidate(&id);
    }

    pub fn standing(&self, id: i64) -> Option<Standing> {
        self.standings.get(&id)
    }

    pub fn remember_standing(&self, id: i64, standing: Standing) {
        self.standings.insert(id, standing);
    }

    pub fn follow(&self, follower: i64, followee: i64) -> Option<bool> {
        self.follows.get(&(follower, followee))
    }

    pub fn remember_follow(&self, follower: i64, followee: i64, yes: bool) {
        self.follows.insert((follower, followee), yes);
    }

    /// Drops what is known about the pair, both ways, and both users' counts.
    pub fn forget_follow(&self, a: i64, b: i64) {
        self.follows.invalidate(&(a, b));
        self.follows.invalidate(&(b, a));
        self.forget_user(a);
        self.forget_user(b);
    }
}
