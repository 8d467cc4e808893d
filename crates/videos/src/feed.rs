//! `GET /api/v1/feed`: the recommended feed, and `?kind=following`, the videos of the
//! people the viewer follows, newest first.
//!
//! **The hot walk.** The recommended feed goes down the listed public videos by
//! `(hot_score, id)` from the position in the cursor. Each node keeps the best
//! `[videos] feed_snapshot_size` of them (5,000: a few hundred pages) in memory as
//! `(score, id, author)`, read from the partial index `videos_feed` every
//! `feed_snapshot_ms` (2 s) by one request while the others keep using the previous list;
//! a scroll past its end reads on from the index. A signed-in viewer also gets one slot in
//! four filled with the newest videos (of the last week) by the people they follow,
//! walked by id in the same cursor; those, and the authors they block or who block them
//! (who never appear), are kept per viewer for [`GRAPH_TTL`] (and dropped when they
//! follow, unfollow, block or unblock through this node).
//!
//! Cost of a page: no query for the walk itself (one per `feed_snapshot_ms` per node,
//! one per viewer per [`GRAPH_TTL`]), then one query for the page's rows by id, which
//! also checks again that each is still listed (the list may be two seconds old).
//! Before the snapshot, each page ran the walk as one `UNION ALL` query of both walks
//! with every column; on the benchmark's 100,000 videos that gave a third of the pages
//! per second (`docs/benchmarks.md`).
//!
//! **No repeats within a scroll session.** The cursor carries a session id; the node keeps
//! the ids shown in each session (at most [`MAX_SEEN`], for [`SESSION_TTL`] after the last
//! page, at most [`MAX_SESSIONS`] sessions) and skips them. The keyset position alone
//! already excludes everything shown before, except a video whose score fell (an unlike)
//! below the position or a followed author's video that also ranks lower in the hot walk:
//! the seen-set catches those. A session whose seen-set expired or lives on another node
//! still never repeats through the hot walk, only through such a fall.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kit::cache::LocalCache;
use kit::ApiError;
use serde::Deserialize;

use crate::access::{Viewer, LISTED};
use crate::errors::VideoError;
use crate::model::{VideoRow, VideoView, VIDEO_COLUMNS, VIDEO_FROM};
use crate::VideosState;
use api::error::Result;
use api::http::errors::RequestError;
use api::http::{Cursor, MaybeAuth, Page, Query};

/// Ids remembered per scroll session.
pub const MAX_SEEN: usize = 500;
/// How long a scroll session is remembered after its last page.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 60);
/// Scroll sessions remembered per node (each costs up to ~12 KB).
pub const MAX_SESSIONS: u64 = 10_000;
/// How far back followed authors' videos are mixed into the recommended feed.
const FOLLOWED_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;
/// Index reads per page past the end of the snapshot.
const MAX_ROUNDS: usize = 4;
/// How long a viewer's blocks and followed authors' videos are kept for the feed.
pub const GRAPH_TTL: Duration = Duration::from_secs(10);
/// Followed authors' recent videos kept per viewer.
const MAX_FOLLOWED: i64 = 200;

/// The ids shown in one scroll session, oldest dropped first past [`MAX_SEEN`].
#[derive(Debug, Default)]
pub struct Seen {
    order: VecDeque<i64>,
    set: HashSet<i64>,
}

impl Seen {
    pub fn contains(&self, id: i64) -> bool {
        self.set.contains(&id)
    }

    pub fn add(&mut self, id: i64) {
        if self.set.insert(id) {
            self.order.push_back(id);
            if self.order.len() > MAX_SEEN {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// The scroll sessions of this node.
#[derive(Debug, Clone)]
pub struct FeedSessions(LocalCache<u64, Arc<Mutex<Seen>>>);

impl Default for FeedSessions {
    fn default() -> Self {
        FeedSessions(LocalCache::new("feed_sessions", MAX_SESSIONS, SESSION_TTL))
    }
}

impl FeedSessions {
    fn get(&self, session: u64) -> Arc<Mutex<Seen>> {
        let seen = self.0.get(&session).unwrap_or_default();
        // Inserting again restarts the TTL: it counts from the last page.
        self.0.insert(session, seen.clone());
        seen
    }
}

/// `?kind=…&limit=…&cursor=…`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// `recommended` (default) or `following` (signed in).
    pub kind: Option<String>,
    /// Items per page, 1–50 (default 10).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Where a recommended scroll is: its session, the hot walk's last `(score, id)` and the
/// followed walk's last id.
#[derive(Debug, Clone, Copy, PartialEq)]
struct FeedCursor {
    session: u64,
    score: f64,
    id: i64,
    followed: i64,
}

impl FeedCursor {
    fn start() -> FeedCursor {
        FeedCursor {
            session: rand::random(),
            score: f64::MAX,
            id: i64::MAX,
            followed: i64::MAX,
        }
    }

    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "r:{:x}:{:x}:{}:{}",
            self.session,
            self.score.to_bits(),
            self.id,
            self.followed
        ))
    }

    fn decode(s: &str) -> Result<FeedCursor, ApiError> {
        let bad = || ApiError::from(RequestError::InvalidCursor);
        let raw = URL_SAFE_NO_PAD.decode(s.as_bytes()).map_err(|_| bad())?;
        let text = std::str::from_utf8(&raw).map_err(|_| bad())?;
        let parts: Vec<&str> = text.split(':').collect();
        let [tag, session, score, id, followed] = parts[..] else {
            return Err(bad());
        };
        if tag != "r" {
            return Err(bad());
        }
        let score = f64::from_bits(u64::from_str_radix(score, 16).map_err(|_| bad())?);
        if !score.is_finite() {
            return Err(bad());
        }
        Ok(FeedCursor {
            session: u64::from_str_radix(session, 16).map_err(|_| bad())?,
            score,
            id: id.parse().map_err(|_| bad())?,
            followed: followed.parse().map_err(|_| bad())?,
        })
    }
}

fn limit_of(q: &FeedQuery) -> Result<i64, ApiError> {
    let limit = q.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(RequestError::InvalidLimit.with_message("limit must be between 1 and 50"));
    }
    Ok(limit)
}

#[utoipa::path(
    get,
    path = "/api/v1/feed",
    tag = "videos",
    params(FeedQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of the feed", body = Page<VideoView>),
        (status = 400, description = "Bad `kind` (`invalid_kind`), `limit` (`invalid_limit`) or cursor (`invalid_cursor`)", body = kit::error::ErrorBody),
        (status = 401, description = "`kind=following` without signing in (`missing_token`)", body = kit::error::ErrorBody),
    )
)]
pub async fn feed(
    State(state): State<VideosState>,
    auth: MaybeAuth,
    Query(q): Query<FeedQuery>,
) -> Result<Json<Page<VideoView>>> {
    let viewer = Viewer::from_maybe(&auth);
    let limit = limit_of(&q)?;
    match q.kind.as_deref().unwrap_or("recommended") {
        "recommended" => recommended(&state, viewer, limit, q.cursor.as_deref()).await,
        "following" => {
            if viewer.id == 0 {
                return Err(api::auth::AuthError::MissingToken
                    .with_message("the following feed needs `Authorization: Bearer <access_token>`")
                    .into());
            }
            following(&state, viewer, limit, q.cursor.as_deref()).await
        }
        _ => Err(VideoError::InvalidKind.into()),
    }
    .map(Json)
}

/// A video the hot walk may show: its position and its author.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub score: f64,
    pub id: i64,
    pub author: i64,
}

/// The best-scored listed public videos, best first (`[videos] feed_snapshot_size` of
/// them), read again every `feed_snapshot_ms` by one request while the others use the
/// previous one.
#[derive(Debug, Default)]
pub struct HotSnapshot {
    current: std::sync::RwLock<Option<(Instant, Arc<Vec<Candidate>>)>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl HotSnapshot {
    /// The snapshot, refreshed first when it is too old and no other request is
    /// refreshing it already.
    pub async fn get(&self, state: &VideosState) -> Result<Arc<Vec<Candidate>>> {
        let ttl = Duration::from_millis(state.settings().feed_snapshot_ms);
        let size = state.settings().feed_snapshot_size.max(0);
        let current = self.current.read().map(|c| c.clone()).unwrap_or(None);
        if let Some((at, snap)) = &current {
            if at.elapsed() < ttl {
                return Ok(snap.clone());
            }
        }
        let _guard = match (self.refreshing.try_lock(), &current) {
            (Ok(guard), _) => guard,
            // Someone is reading a fresh one: use the old one meanwhile.
            (Err(_), Some((_, snap))) => return Ok(snap.clone()),
            (Err(_), None) => self.refreshing.lock().await,
        };
        if let Some((at, snap)) = self.current.read().map(|c| c.clone()).unwrap_or(None) {
            if at.elapsed() < ttl {
                return Ok(snap);
            }
        }
        let snap = if size == 0 {
            Vec::new()
        } else {
            candidates(state, f64::MAX, i64::MAX, size).await?
        };
        let snap = Arc::new(snap);
        if let Ok(mut c) = self.current.write() {
            *c = Some((Instant::now(), snap.clone()));
        }
        Ok(snap)
    }
}

/// The hot walk after `(score, id)`: up to `n` listed public videos, best first.
async fn candidates(state: &VideosState, score: f64, id: i64, n: i64) -> Result<Vec<Candidate>> {
    let rows: Vec<(f64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT v.hot_score, v.id, v.author_id FROM videos v \
         WHERE {LISTED} AND v.visibility = 'public' AND (v.hot_score, v.id) < ($1, $2) \
         ORDER BY v.hot_score DESC, v.id DESC LIMIT $3"
    ))
    .bind(score)
    .bind(id)
    .bind(n)
    .fetch_all(state.store().pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(score, id, author)| Candidate { score, id, author })
        .collect())
}

/// What the feed needs of a signed-in viewer's graph: the authors hidden from them
/// (those they block and those who block them) and the recent public videos of the
/// people they follow, newest first. Kept per viewer for [`GRAPH_TTL`].
#[derive(Debug, Default)]
pub struct Graph {
    hidden_authors: HashSet<i64>,
    followed: Vec<i64>,
}

/// The viewers' graphs, cached.
#[derive(Debug, Clone)]
pub struct Graphs(LocalCache<i64, Arc<Graph>>);

impl Default for Graphs {
    fn default() -> Self {
        Graphs(LocalCache::new("feed_graphs", MAX_SESSIONS, GRAPH_TTL))
    }
}

impl Graphs {
    /// Drops what is known of both users' graphs: one followed, blocked or unblocked the
    /// other through this node.
    pub fn forget(&self, a: i64, b: i64) {
        self.0.invalidate(&a);
        self.0.invalidate(&b);
    }

    async fn get(&self, state: &VideosState, viewer: i64) -> Result<Arc<Graph>> {
        if let Some(g) = self.0.get(&viewer) {
            return Ok(g);
        }
        // One round trip: kind 0 a hidden author, 1 a followed author's video.
        let rows: Vec<(i64, i64)> = sqlx::query_as(&format!(
            "SELECT CAST(0 AS BIGINT), blocked_id FROM blocks WHERE blocker_id = $1 \
             UNION ALL SELECT CAST(0 AS BIGINT), blocker_id FROM blocks WHERE blocked_id = $1 \
             UNION ALL SELECT * FROM (SELECT CAST(1 AS BIGINT), v.id FROM videos v \
                 WHERE v.author_id IN (SELECT followee_id FROM follows WHERE follower_id = $1) \
                   AND {LISTED} AND v.visibility = 'public' AND v.created_at > $2 \
                 ORDER BY v.id DESC LIMIT $3) f"
        ))
        .bind(viewer)
        .bind(kit::time::now_ms() - FOLLOWED_WINDOW_MS)
        .bind(MAX_FOLLOWED)
        .fetch_all(state.store().pool())
        .await?;
        let mut g = Graph::default();
        for (kind, id) in rows {
            if kind == 0 {
                g.hidden_authors.insert(id);
            } else {
                g.followed.push(id);
            }
        }
        g.followed.sort_unstable_by(|a, b| b.cmp(a));
        let g = Arc::new(g);
        self.0.insert(viewer, g.clone());
        Ok(g)
    }
}

async fn recommended(
    state: &VideosState,
    viewer: Viewer,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<VideoView>> {
    let mut pos = match cursor {
        None | Some("") => FeedCursor::start(),
        Some(s) => FeedCursor::decode(s)?,
    };
    let runtime = state.video_runtime();
    let seen = runtime.feed_sessions.get(pos.session);
    let is_seen = |id: i64| seen.lock().map(|s| s.contains(id)).unwrap_or(false);
    let graph = if viewer.id != 0 {
        runtime.feed_graphs.get(state, viewer.id).await?
    } else {
        Arc::new(Graph::default())
    };

    // One slot in four for the people a signed-in viewer follows, newest first.
    let slots = if viewer.id != 0 && limit >= 2 {
        (limit / 4).max(1) as usize
    } else {
        0
    };
    let mut followed = Vec::with_capacity(slots);
    let after = pos.followed;
    for &id in graph.followed.iter().filter(|&&id| id < after) {
        if followed.len() == slots {
            break;
        }
        pos.followed = id;
        if !is_seen(id) {
            followed.push(id);
        }
    }

    // The hot walk fills the rest, from the snapshot and, past its end, from the index;
    // it skips hidden authors and what this session has seen. One more candidate than
    // needed says whether there is more.
    let need = limit as usize - followed.len();
    let mut hot: Vec<i64> = Vec::with_capacity(need);
    let snapshot = runtime.hot_snapshot.get(state).await?;
    let snapshot_size = state.settings().feed_snapshot_size;
    let start = snapshot.partition_point(|c| (c.score, c.id) >= (pos.score, pos.id));
    let mut batch: std::collections::VecDeque<Candidate> = VecDeque::new();
    let mut next_in_snapshot = start;
    let mut from_index = false;
    let mut walk = (pos.score, pos.id);
    let mut rounds = 0;
    let mut index_done = false;
    let mut more = false;
    loop {
        let c = if !from_index && next_in_snapshot < snapshot.len() {
            next_in_snapshot += 1;
            snapshot[next_in_snapshot - 1]
        } else if let Some(c) = batch.pop_front() {
            c
        } else {
            // Past the snapshot's end: read on from the index, unless the snapshot held
            // every listed video, or the index has no more, or this page read enough.
            if !from_index && (snapshot.len() as i64) < snapshot_size || index_done {
                break;
            }
            if rounds == MAX_ROUNDS {
                more = true;
                break;
            }
            from_index = true;
            rounds += 1;
            let n = (need + 1) as i64 * 2;
            let read = candidates(state, walk.0, walk.1, n).await?;
            index_done = (read.len() as i64) < n;
            batch.extend(read);
            continue;
        };
        walk = (c.score, c.id);
        if graph.hidden_authors.contains(&c.author) || is_seen(c.id) || followed.contains(&c.id) {
            if hot.len() < need {
                pos.score = c.score;
                pos.id = c.id;
            }
            continue;
        }
        if hot.len() == need {
            more = true;
            break;
        }
        pos.score = c.score;
        pos.id = c.id;
        hot.push(c.id);
    }

    // Every fourth item (from the second) is a followed author's.
    let mut order = Vec::with_capacity(limit as usize);
    let mut followed_it = followed.into_iter();
    let mut hot_it = hot.into_iter();
    loop {
        let next = if order.len() % 4 == 1 {
            followed_it.next().or_else(|| hot_it.next())
        } else {
            hot_it.next().or_else(|| followed_it.next())
        };
        match next {
            Some(id) => order.push(id),
            None => break,
        }
    }
    if let Ok(mut s) = seen.lock() {
        for id in &order {
            s.add(*id);
        }
    }

    // The rows of the page, checked again: the snapshot may be a second or two old.
    let mut rows = if order.is_empty() {
        Vec::new()
    } else {
        let list = store::sql::params(2, order.len());
        let sql = format!(
            "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} \
             WHERE v.id IN ({list}) AND {LISTED} AND v.visibility = 'public'"
        );
        let mut q = sqlx::query_as::<_, VideoRow>(&sql).bind(viewer.id);
        for id in &order {
            q = q.bind(*id);
        }
        q.fetch_all(state.store().pool()).await?
    };
    rows.sort_by_key(|r| order.iter().position(|id| *id == r.id));
    let next_cursor = more.then(|| pos.encode());
    Ok(Page {
        items: rows
            .into_iter()
            .map(|r| VideoView::new(state, r, viewer.id, viewer.privileged))
            .collect(),
        next_cursor,
    })
}

async fn following(
    state: &VideosState,
    viewer: Viewer,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<VideoView>> {
    let after = match cursor {
        None | Some("") => Cursor::START,
        Some(s) => Cursor::decode(s)?,
    };
    let rows = sqlx::query_as::<_, VideoRow>(&format!(
        "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} \
         WHERE v.author_id IN (SELECT followee_id FROM follows WHERE follower_id = $1) \
           AND {LISTED} AND v.visibility IN ('public', 'followers') AND v.id < $2 \
         ORDER BY v.id DESC LIMIT $3"
    ))
    .bind(viewer.id)
    .bind(after.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    Ok(video_page(state, viewer, rows, limit))
}

/// A page of videos ordered by id descending, from up to `limit + 1` rows.
pub fn video_page(
    state: &VideosState,
    viewer: Viewer,
    rows: Vec<VideoRow>,
    limit: i64,
) -> Page<VideoView> {
    let page = Page::from_rows(rows, limit, |r| Cursor {
        key: r.id,
        id: r.id,
    });
    Page {
        items: page
            .items
            .into_iter()
            .map(|r| VideoView::new(state, r, viewer.id, viewer.privileged))
            .collect(),
        next_cursor: page.next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_cursor_round_trips_and_rejects_others() {
        let c = FeedCursor {
            session: 0xdead_beef,
            score: 39_876.5,
            id: 42,
            followed: 7,
        };
        assert_eq!(FeedCursor::decode(&c.encode()).unwrap(), c);
        assert!(FeedCursor::decode(&Cursor { key: 1, id: 1 }.encode()).is_err());
        assert!(FeedCursor::decode("%%%").is_err());
        let nan = URL_SAFE_NO_PAD.encode(format!("r:1:{:x}:1:1", f64::NAN.to_bits()));
        assert!(FeedCursor::decode(&nan).is_err());
    }

    #[test]
    fn seen_set_is_bounded() {
        let mut s = Seen::default();
        for id in 0..(MAX_SEEN as i64 + 10) {
            s.add(id);
        }
        assert!(!s.contains(0));
        assert!(s.contains(MAX_SEEN as i64 + 9));
        assert_eq!(s.order.len(), MAX_SEEN);
    }
}
