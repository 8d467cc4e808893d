//! The feed's cached graphs follow the social graph: a follow, unfollow, block or
//! unblock anywhere ([`GraphChanged`]) drops what this node cached of both users.
//! At most once: a missed event leaves an entry stale for its time to live
//! ([`crate::feed::GRAPH_TTL`], seconds).

use api::events::social::GraphChanged;

use crate::VideosState;

/// Starts dropping cached graphs as their users' relations change.
pub async fn follow(state: &VideosState) -> Result<tokio::task::JoinHandle<()>, bus::BusError> {
    let mut sub = api::events::subscribe(state.bus(), "momo.user.*.graph", None, 4_096).await?;
    let state = state.clone();
    Ok(tokio::spawn(async move {
        while let Some(d) = sub.recv().await {
            let bus::Delivery::Message(m) = d else {
                // Some changes were lost: a few feeds show the old graph for seconds.
                continue;
            };
            if let Ok(e) = bus::decode::<GraphChanged>(&m.payload) {
                state.video_runtime().feed_graphs.forget(e.actor, e.target);
            }
        }
    }))
}
