//! "An anchor you follow is live": one `live` notification to each follower.

use serde_json::json;

use crate::notifications::model::{Notification, NotificationKind};
use crate::notifications::notify::notify_many;
use crate::IdentityState;
use api::error::Result;
use api::events::live::RoomWentLive;

/// Notifies every active follower of `anchor_id` that room `room_id` (titled `title`)
/// went live. Returns how many were notified. Costs one indexed read of the followers
/// and [`notify_many`]'s fan-out.
pub async fn notify_followers_live(
    state: &IdentityState,
    anchor_id: i64,
    room_id: i64,
    title: &str,
) -> Result<usize> {
    let followers: Vec<i64> = sqlx::query_scalar(
        "SELECT f.follower_id FROM follows f JOIN users u ON u.id = f.follower_id \
         WHERE f.followee_id = $1 AND u.status = 'active'",
    )
    .bind(anchor_id)
    .fetch_all(state.store().pool())
    .await?;
    let n = Notification {
        kind: NotificationKind::Live,
        actor_id: Some(anchor_id),
        payload: json!({"room_id": room_id, "title": title}),
    };
    notify_many(state, &followers, n).await
}

/// Notifies followers when a room goes live ([`RoomWentLive`] opening a session), once
/// per event whichever node hears it (a queue group), in the background: a fan-out to
/// many followers does not hold up the next event. At most once: a fan-out lost to a
/// full queue leaves followers to find the room in the live list.
pub async fn follow(state: &IdentityState) -> Result<tokio::task::JoinHandle<()>, bus::BusError> {
    let group = Some("notifications.followers_live");
    let mut sub = api::events::subscribe(state.bus(), "momo.room.*.live", group, 4_096).await?;
    let state = state.clone();
    Ok(tokio::spawn(async move {
        while let Some(d) = sub.recv().await {
            let bus::Delivery::Message(m) = d else {
                tracing::warn!("live notices to followers were dropped");
                continue;
            };
            if let Ok(live) = bus::decode::<RoomWentLive>(&m.payload) {
                if !live.session_resumed {
                    spawn_if_went_live(&state, live.room_id, live.at);
                }
            }
        }
    }))
}

/// When room `room_id` has just gone live (its `live_since` is `since`, so this publish
/// started the session rather than resumed it), notifies its owner's followers in the
/// background.
pub fn spawn_if_went_live(state: &IdentityState, room_id: i64, since: i64) {
    let state = state.clone();
    tokio::spawn(async move {
        let room: Option<(i64, String, Option<i64>)> = match sqlx::query_as(
            "SELECT owner_id, title, live_since FROM live_rooms WHERE id = $1",
        )
        .bind(room_id)
        .fetch_optional(state.store().pool())
        .await
        {
            Ok(room) => room,
            Err(e) => {
                tracing::error!(room = room_id, "cannot read the room gone live: {e}");
                return;
            }
        };
        let Some((owner, title, Some(live_since))) = room else {
            return;
        };
        if live_since != since {
            return; // a publisher came back within the grace period: same session
        }
        if let Err(e) = notify_followers_live(&state, owner, room_id, &title).await {
            tracing::error!(room = room_id, "cannot notify followers: {e}");
        }
    });
}
