//! Keeping room states true to the streams: each node beats a heart for the streams it
//! carries (`live_seen_at`, and the session's peak audience), and a sweep closes rooms
//! still marked live whose stream no node has seen for a while — their node crashed or
//! was cut off — so they do not stay "live" forever.

use std::time::Duration;

use crate::LiveState;
use api::error::Result;

/// A live room not seen by any node for this long is closed by [`sweep_vanished`].
pub const VANISHED_AFTER: Duration = Duration::from_secs(60);
/// How often [`heartbeat`] runs.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);

/// Records that this node's streams are alive, with their audience.
pub async fn heartbeat(state: &LiveState) -> Result<()> {
    let Some(hub) = state.media() else {
        return Ok(());
    };
    let now = kit::time::now_ms();
    for key in hub.keys() {
        let Ok(id) = key.parse::<i64>() else {
            continue;
        };
        // A stream pulled from its origin on another node is the origin's to keep.
        let pulled = hub.stream(&key).is_some_and(|s| s.is_relay());
        let seen = sqlx::query(
            "UPDATE live_rooms SET live_seen_at = $1 WHERE id = $2 AND status = 'live'",
        )
        .bind(now)
        .bind(id)
        .execute(state.store().writer())
        .await?
        .rows_affected();
        if seen == 0 && !pulled {
            // Streaming here but recorded offline (a sweep raced a slow heartbeat).
            crate::rooms::streams::go_live(state, id, now).await?;
        }
        sqlx::query(
            "UPDATE live_sessions SET peak_viewers = $1 \
             WHERE id = (SELECT session_id FROM live_rooms WHERE id = $2) AND peak_viewers < $1",
        )
        .bind(state.room_viewers(id) as i64)
        .bind(id)
        .execute(state.store().writer())
        .await?;
    }
    Ok(())
}

/// Beats [`heartbeat`] until the process ends.
pub async fn run_heartbeat(state: LiveState) {
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = heartbeat(&state).await {
            tracing::warn!("live heartbeat failed: {e}");
        }
    }
}

/// Closes rooms marked live that no node has seen for [`VANISHED_AFTER`]. Returns how
/// many were closed.
pub async fn sweep_vanished(state: &LiveState) -> Result<usize> {
    let now = kit::time::now_ms();
    let cutoff = now - VANISHED_AFTER.as_millis() as i64;
    let stale: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM live_rooms WHERE status = 'live' \
         AND (live_seen_at IS NULL OR live_seen_at < $1)",
    )
    .bind(cutoff)
    .fetch_all(state.store().pool())
    .await?;
    for id in &stale {
        // Streaming on this node after all: leave it to the heartbeat.
        if state
            .media()
            .is_some_and(|h| h.stream(&id.to_string()).is_some())
        {
            continue;
        }
        tracing::warn!(room = id, "closing a live room whose stream vanished");
        crate::rooms::streams::end_session(state, *id, "vanished", 0, now).await?;
    }
    Ok(stale.len())
}
