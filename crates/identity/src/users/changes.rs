//! Keeping every node's profile cache honest: a change to an account (its profile, its
//! role or standing, a password, a sign-out) is published as [`UserChanged`] on
//! `momo.user.{id}.changed`, and a change to the social graph is already published as
//! `GraphChanged`; every node drops what it cached of the users concerned when it hears
//! either ([`follow`]). At most once: a node that misses one keeps the entry until its
//! time to live (`cache.profile_ttl_secs`) runs out.

use bus::{Event, Subject};
use serde::{Deserialize, Serialize};

use crate::IdentityState;
use api::events::social::GraphChanged;

/// Something about account `user_id` changed: drop what is cached of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserChanged {
    pub user_id: i64,
}

impl Event for UserChanged {
    const KIND: &'static str = "user_changed";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_user(self.user_id, "changed")
    }
}

/// Drops this node's cache of `user_id` and tells the other nodes to drop theirs.
pub async fn changed(state: &IdentityState, user_id: i64) {
    state.user_cache().forget_user(user_id);
    api::events::publish(state.bus(), &UserChanged { user_id }).await;
}

/// Drops cached users and follow edges whenever any node says they changed.
pub async fn follow(state: &IdentityState) -> Result<tokio::task::JoinHandle<()>, bus::BusError> {
    let mut subs = Vec::new();
    for pattern in ["momo.user.*.changed", "momo.user.*.graph"] {
        subs.push(api::events::subscribe(state.bus(), pattern, None, 4_096).await?);
    }
    let state = state.clone();
    Ok(tokio::spawn(async move {
        let (tx, mut rx) = bus::merge(subs, 64);
        drop(tx);
        while let Some(d) = rx.recv().await {
            let bus::Delivery::Message(m) = d else {
                tracing::warn!("cache drops were missed: entries live out their time to live");
                continue;
            };
            if let Ok(c) = bus::decode::<UserChanged>(&m.payload) {
                state.user_cache().forget_user(c.user_id);
            } else if let Ok(g) = bus::decode::<GraphChanged>(&m.payload) {
                state.user_cache().forget_follow(g.actor, g.target);
            }
        }
    }))
}
