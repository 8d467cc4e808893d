//! The media server's news, applied to rooms: live when a publisher starts, offline
//! when its stream ends (after the grace period, not on a brief disconnect).

use media::hub::MediaEvent;

use crate::error::Result;
use crate::AppState;

/// Records what `event` means for its room.
pub async fn apply(state: &AppState, event: &MediaEvent) -> Result<()> {
    let (key, live) = match event {
        MediaEvent::PublishStarted { key, .. } => (key, true),
        MediaEvent::StreamEnded { key, .. } => (key, false),
        MediaEvent::PublisherLeft { .. } => return Ok(()),
    };
    let Ok(id) = key.parse::<i64>() else {
        return Ok(());
    };
    let now = kit::time::now_ms();
    if live {
        sqlx::query(
            "UPDATE live_rooms SET status = 'live', \
             live_since = CASE WHEN status = 'live' THEN live_since ELSE $1 END, updated_at = $1 \
             WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(state.store().pool())
        .await?;
        crate::notifications::followers_live::spawn_if_went_live(state, id, now);
    } else {
        sqlx::query(
            "UPDATE live_rooms SET status = 'offline', live_since = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(state.store().pool())
        .await?;
    }
    Ok(())
}

/// Applies every event from the hub until it closes.
pub async fn follow_hub(state: AppState, mut events: tokio::sync::broadcast::Receiver<MediaEvent>) {
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
