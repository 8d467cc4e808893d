//! `POST /api/v1/videos/{id}/views`: a play, counted.
//!
//! Views come far more often than anything else and need not be exact to the second, so
//! they are counted in memory and written every [`FLUSH_EVERY`] in one transaction for
//! all the videos viewed meanwhile (one `UPDATE` per video, not per view): a storm of views
//! costs SQLite's single writer one short transaction a second. Views not yet written when
//! the process dies are lost (at most a second's worth).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use store::Store;

use crate::error::Result;
use crate::http::{IdPath, MaybeAuth};
use crate::videos::access::{bump, visible, Counter, Viewer};
use crate::AppState;

/// How often counted views are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Views counted in memory, by video, until the next flush.
#[derive(Debug, Default)]
pub struct ViewCounter {
    pending: Arc<Mutex<HashMap<i64, i64>>>,
    flusher: OnceLock<()>,
}

impl ViewCounter {
    /// Counts one view of `video`; starts the flushing task on first use.
    pub fn add(&self, store: &Store, video: i64) {
        self.flusher.get_or_init(|| {
            tokio::spawn(flush_loop(store.clone(), self.pending.clone()));
        });
        if let Ok(mut p) = self.pending.lock() {
            *p.entry(video).or_default() += 1;
        }
    }
}

async fn flush_loop(store: Store, pending: Arc<Mutex<HashMap<i64, i64>>>) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    loop {
        tick.tick().await;
        let batch = match pending.lock() {
            Ok(mut p) if !p.is_empty() => std::mem::take(&mut *p),
            _ => continue,
        };
        if let Err(e) = flush(&store, &batch).await {
            if store.pool().is_closed() {
                return;
            }
            tracing::warn!("writing view counts failed, kept for the next try: {e}");
            if let Ok(mut p) = pending.lock() {
                for (video, n) in batch {
                    *p.entry(video).or_default() += n;
                }
            }
        }
    }
}

async fn flush(store: &Store, batch: &HashMap<i64, i64>) -> Result<()> {
    let mut videos: Vec<(i64, i64)> = batch.iter().map(|(v, n)| (*v, *n)).collect();
    // Rows in id order, so that concurrent flushes of several nodes cannot deadlock.
    videos.sort_unstable();
    let mut tx = store.begin().await?;
    for (video, n) in videos {
        bump(&mut tx, video, Counter::Views, n).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[utoipa::path(
    post,
    path = "/api/v1/videos/{id}/views",
    tag = "videos",
    params(("id" = i64, Path, description = "Video id")),
    security((), ("bearer" = [])),
    responses(
        (status = 202, description = "Counted; written to the video within a second or so"),
        (status = 404, description = "No such video the caller may see (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn view(
    State(state): State<AppState>,
    auth: MaybeAuth,
    IdPath(id): IdPath,
) -> Result<StatusCode> {
    visible(&state, id, Viewer::from_maybe(&auth)).await?;
    state.video_runtime().views.add(state.store(), id);
    Ok(StatusCode::ACCEPTED)
}
