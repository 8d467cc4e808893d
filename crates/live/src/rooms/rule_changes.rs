//! Keeping every node's room rules honest: a mute or unmute made on one node is
//! published as [`MuteChanged`] on `momo.room.{room}.mute`, and every node drops what it
//! cached of the member's standing in the room when it hears it ([`follow`]). At most
//! once: a node that misses one keeps the cached rule until its time to live runs out.
//! (Kicks are durable events of their own, acted on by the relay.)

use bus::{Event, Subject};
use serde::{Deserialize, Serialize};

use crate::LiveState;

/// `user_id`'s mute in `room_id` was set or lifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteChanged {
    pub room_id: i64,
    pub user_id: i64,
}

impl Event for MuteChanged {
    const KIND: &'static str = "mute_changed";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_room(self.room_id, "mute")
    }
}

/// Drops this node's cached rule and tells the other nodes to drop theirs.
pub async fn changed(state: &LiveState, room_id: i64, user_id: i64) {
    state.room_rules().forget(room_id, user_id);
    api::events::publish(state.bus(), &MuteChanged { room_id, user_id }).await;
}

/// Drops cached room rules whenever any node says a mute changed.
pub async fn follow(state: &LiveState) -> Result<tokio::task::JoinHandle<()>, bus::BusError> {
    let mut sub = api::events::subscribe(state.bus(), "momo.room.*.mute", None, 4_096).await?;
    let state = state.clone();
    Ok(tokio::spawn(async move {
        while let Some(d) = sub.recv().await {
            match d {
                bus::Delivery::Message(m) => {
                    if let Ok(c) = bus::decode::<MuteChanged>(&m.payload) {
                        state.room_rules().forget(c.room_id, c.user_id);
                    }
                }
                bus::Delivery::Lagged(_) => {
                    tracing::warn!("mute changes were missed: cached rules live out their time")
                }
            }
        }
    }))
}
