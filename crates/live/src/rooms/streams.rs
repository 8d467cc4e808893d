//! The media server's news, applied to rooms: a room goes live when a publisher starts
//! and a live session is opened; it goes offline when its stream ends (after the grace
//! period, not on a brief disconnect) and the session is closed with its peak audience.
//! Both are events on the bus ([`RoomWentLive`], [`RoomWentOffline`]): the room's chat is
//! told (op 1000, `{"type": "live_started" | "live_ended"}`), followers are notified and a
//! replay starts recording.
//!
//! Across nodes, the room's row names its origin (`live_rooms.origin`, the node its
//! stream is published to), set when a publisher starts. An encoder that reconnects to
//! another node within the grace period moves the origin there and keeps its session;
//! the stream that then ends on the old node only adds its peak audience to the session
//! and leaves the room live. A move is announced ([`OriginMoved`]) so that the old node
//! cuts a publisher it still holds (a half-open connection).
//!
//! A stream warning (the encoder sends B-frames, which WebRTC viewers cannot take) becomes
//! a `stream_warning` notification to the room's anchor. A keyframe wanted by a viewer
//! of a stream pulled from another node goes to that origin ([`KeyframeWanted`]).

use media::hub::{MediaEvent, StreamWarning};

use crate::rooms::events::{KeyframeWanted, OriginMoved, RoomWentLive, RoomWentOffline};
use crate::LiveState;
use api::error::Result;

/// Records what `event` means for its room.
pub async fn apply(state: &LiveState, event: &MediaEvent) -> Result<()> {
    let now = kit::time::now_ms();
    match event {
        MediaEvent::PublishStarted { key, resumed } => {
            let Ok(id) = key.parse::<i64>() else {
                return Ok(());
            };
            let (opened, moved) = go_live_here(state, id, now).await?;
            if moved {
                let node = state.node().to_owned();
                api::events::publish(state.bus(), &OriginMoved { room_id: id, node }).await;
            }
            if !resumed {
                let live = RoomWentLive {
                    room_id: id,
                    at: now,
                    session_resumed: !opened,
                };
                api::events::publish(state.bus(), &live).await;
            }
        }
        MediaEvent::StreamEnded { key, summary } => {
            let Ok(id) = key.parse::<i64>() else {
                return Ok(());
            };
            let peak = summary.viewers_peak as i64;
            if stream_ended_here(state, id, peak, now).await? {
                api::events::publish(
                    state.bus(),
                    &RoomWentOffline {
                        room_id: id,
                        at: now,
                    },
                )
                .await;
            }
        }
        MediaEvent::StreamWarning { key, warning } => {
            let Ok(id) = key.parse::<i64>() else {
                return Ok(());
            };
            warn_anchor(state, id, *warning).await?;
        }
        MediaEvent::KeyframeWanted { key } => {
            let Ok(id) = key.parse::<i64>() else {
                return Ok(());
            };
            api::events::publish(state.bus(), &KeyframeWanted { room_id: id }).await;
        }
        MediaEvent::PublisherLeft { .. } => {}
    }
    Ok(())
}

/// Tells room `id`'s anchor what to change in the encoder, in their notifications.
async fn warn_anchor(state: &LiveState, id: i64, warning: StreamWarning) -> Result<()> {
    let owner: Option<i64> = sqlx::query_scalar("SELECT owner_id FROM live_rooms WHERE id = $1")
        .bind(id)
        .fetch_optional(state.store().pool())
        .await?;
    let Some(owner) = owner else {
        return Ok(());
    };
    let message = match warning {
        StreamWarning::BFrames => {
            "Your encoder sends B-frames: viewers in low-latency (WebRTC) mode see fewer \
             frames. Turn B-frames off (OBS: x264 options bframes=0, or the baseline profile)."
        }
    };
    let n = api::people::Notification {
        kind: api::people::NotificationKind::StreamWarning,
        actor_id: None,
        payload: serde_json::json!({"room_id": id, "code": warning.code(), "message": message}),
    };
    api::notices::request(state.jobs(), owner, n).await
}

/// Marks room `id` live, opening a session unless one is open. Returns whether a new
/// session was opened.
pub async fn go_live(state: &LiveState, id: i64, now: i64) -> Result<bool> {
    Ok(go_live_here(state, id, now).await?.0)
}

/// [`go_live`] with this node as the stream's origin: whether a new session was opened,
/// and whether the origin moved here from another node while the room was live.
async fn go_live_here(state: &LiveState, id: i64, now: i64) -> Result<(bool, bool)> {
    let node = state.node();
    let mut tx = state.store().begin().await?;
    let Some((open, origin)) = session_and_origin(&mut tx, id).await? else {
        return Ok((false, false));
    };
    let moved = open.is_some() && origin.is_some_and(|o| !o.is_empty() && o != node);
    let opened = open.is_none();
    let session = match open {
        Some(s) => s,
        None => {
            sqlx::query_scalar(
                "INSERT INTO live_sessions (room_id, started_at) VALUES ($1, $2) RETURNING id",
            )
            .bind(id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
        }
    };
    sqlx::query(
        "UPDATE live_rooms SET status = 'live', session_id = $1, live_seen_at = $2, \
         live_since = CASE WHEN status = 'live' AND live_since IS NOT NULL THEN live_since ELSE $2 END, \
         origin = $3, updated_at = $2 WHERE id = $4",
    )
    .bind(session)
    .bind(now)
    .bind(node)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    crate::gifts::lookup::forget_room(state, id);
    Ok((opened, moved))
}

/// Room `id`'s open session and the node its stream is published to, read in `tx`;
/// `None` when there is no such room.
async fn session_and_origin(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: i64,
) -> Result<Option<(Option<i64>, Option<String>)>> {
    Ok(
        sqlx::query_as("SELECT session_id, origin FROM live_rooms WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// Room `id`'s stream ended on this node with `peak` viewers here: the room goes offline
/// and its session closes (returns true), unless its stream has moved to another node
/// meanwhile, in which case the session only keeps the higher peak and the room stays
/// live (false).
async fn stream_ended_here(state: &LiveState, id: i64, peak: i64, now: i64) -> Result<bool> {
    let node = state.node();
    let mut tx = state.store().begin().await?;
    let Some((session, origin)) = session_and_origin(&mut tx, id).await? else {
        return Ok(false);
    };
    if let Some(origin) = origin.filter(|o| !o.is_empty() && o != node) {
        if let Some(s) = session {
            sqlx::query(
                "UPDATE live_sessions SET peak_viewers = CASE WHEN peak_viewers > $1 \
                 THEN peak_viewers ELSE $1 END WHERE id = $2",
            )
            .bind(peak)
            .bind(s)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        tracing::info!(
            room = id,
            origin,
            "the stream ended here after it moved to another node"
        );
        return Ok(false);
    }
    let closed = close_session(&mut tx, id, "ended", peak, now).await?;
    tx.commit().await?;
    crate::gifts::lookup::forget_room(state, id);
    Ok(closed)
}

/// Marks room `id` offline and closes its open session with `reason`. Returns whether a
/// session was open.
pub async fn end_session(
    state: &LiveState,
    id: i64,
    reason: &str,
    peak: i64,
    now: i64,
) -> Result<bool> {
    let mut tx = state.store().begin().await?;
    let closed = close_session(&mut tx, id, reason, peak, now).await?;
    tx.commit().await?;
    crate::gifts::lookup::forget_room(state, id);
    Ok(closed)
}

/// [`end_session`]'s writes, in `tx`; forget the room's cached state after the commit.
pub async fn close_session(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: i64,
    reason: &str,
    peak: i64,
    now: i64,
) -> Result<bool> {
    let session: Option<Option<i64>> =
        sqlx::query_scalar("SELECT session_id FROM live_rooms WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let session = session.flatten();
    if let Some(s) = session {
        // The session's income, summed once here rather than on every gift.
        sqlx::query(&format!(
            "UPDATE live_sessions SET ended_at = $1, end_reason = $2, \
             peak_viewers = CASE WHEN peak_viewers > $3 THEN peak_viewers ELSE $3 END, \
             gift_coins = {GIFT_COINS}, gift_diamonds = {GIFT_DIAMONDS} \
             WHERE id = $4 AND ended_at IS NULL"
        ))
        .bind(now)
        .bind(reason)
        .bind(peak)
        .bind(s)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "UPDATE live_rooms SET status = 'offline', live_since = NULL, session_id = NULL, \
         origin = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(session.is_some())
}

/// SQL for the coins of gifts in session `live_sessions.id`.
pub const GIFT_COINS: &str = "CAST((SELECT COALESCE(SUM(g.coins), 0) FROM gift_events g \
                              WHERE g.session_id = live_sessions.id) AS BIGINT)";
/// SQL for the diamonds earned in session `live_sessions.id`.
pub const GIFT_DIAMONDS: &str = "CAST((SELECT COALESCE(SUM(g.diamonds), 0) FROM gift_events g \
                                 WHERE g.session_id = live_sessions.id) AS BIGINT)";

/// Applies every event from the hub until it closes.
pub async fn follow_hub(
    state: LiveState,
    mut events: tokio::sync::broadcast::Receiver<MediaEvent>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match events.recv().await {
            Ok(event) => {
                if let Err(e) = apply(&state, &event).await {
                    tracing::error!("cannot record {event:?}: {e}");
                }
            }
            Err(RecvError::Lagged(n)) => tracing::warn!("missed {n} media events"),
            Err(RecvError::Closed) => break,
        }
    }
}
