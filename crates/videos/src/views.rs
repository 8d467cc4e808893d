//! `POST /api/v1/videos/{id}/views`: a play, counted.
//!
//! Views come far more often than anything else and need not be exact to the second, so
//! they are counted in memory and written every [`FLUSH_EVERY`] in one transaction for
//! all the videos viewed meanwhile (one `UPDATE` per video, not per view): a storm of views
//! costs SQLite's single writer one short transaction a second. Views not yet written when
//! the process dies are lost (at most a second's worth).
//!
//! A view counts once per watcher and video within [`VIEW_WINDOW`]: the watcher is the
//! signed-in user, or the client address for a guest. Replays within the window are
//! answered the same (202) but not counted, so a script cannot buy a place in the hot
//! feed by posting views in a loop. The memory of who viewed what is bounded
//! ([`SEEN_CAPACITY`] entries, least recent dropped first).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use kit::cache::LocalCache;
use store::Store;

use crate::access::{bump, visible, Counter, Viewer};
use crate::VideosState;
use api::error::Result;
use api::http::{ClientIp, IdPath, MaybeAuth};

/// How often counted views are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// How long a watcher's view of a video is remembered: another within it is not counted.
pub const VIEW_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Most (video, watcher) pairs remembered.
pub const SEEN_CAPACITY: u64 = 500_000;

/// Who watched: a signed-in user, or a guest's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Watcher {
    User(i64),
    Guest(IpAddr),
}

/// Views counted in memory, by video, until the next flush.
#[derive(Debug)]
pub struct ViewCounter {
    pending: Arc<Mutex<HashMap<i64, i64>>>,
    flusher: OnceLock<()>,
    seen: LocalCache<(i64, Watcher), ()>,
}

impl Default for ViewCounter {
    fn default() -> Self {
        ViewCounter {
            pending: Arc::default(),
            flusher: OnceLock::new(),
            seen: LocalCache::new("video_views_seen", SEEN_CAPACITY, VIEW_WINDOW),
        }
    }
}

impl ViewCounter {
    /// Counts a view of `video` by `watcher`, unless they viewed it within the window;
    /// returns whether it counted. Starts the flushing task on first use.
    pub fn add(&self, store: &Store, video: i64, watcher: Option<Watcher>) -> bool {
        if let Some(w) = watcher {
            if self.seen.get(&(video, w)).is_some() {
                return false;
            }
            self.seen.insert((video, w), ());
        }
        self.flusher.get_or_init(|| {
            tokio::spawn(flush_loop(store.clone(), self.pending.clone()));
        });
        if let Ok(mut p) = self.pending.lock() {
            *p.entry(video).or_default() += 1;
        }
        true
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
        (status = 202, description = "Counted (once per viewer, or guest address, and video in ten minutes); written to the video within a second or so"),
        (status = 404, description = "No such video the caller may see (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn view(
    State(state): State<VideosState>,
    auth: MaybeAuth,
    ClientIp(ip): ClientIp,
    IdPath(id): IdPath,
) -> Result<StatusCode> {
    visible(&state, id, Viewer::from_maybe(&auth)).await?;
    let watcher = match auth.0 {
        Some(a) => Some(Watcher::User(a.user_id)),
        None => ip.map(Watcher::Guest),
    };
    state.video_runtime().views.add(state.store(), id, watcher);
    Ok(StatusCode::ACCEPTED)
}
