//! `GET /api/v1/feed`: the recommended feed, and `?kind=following`, the videos of the
//! people the viewer follows, newest first.
//!
//! The recommended feed walks the partial index `videos_feed` by `(hot_score, id)`
//! downwards from the position in the cursor: one index range scan per page, however deep
//! the scroll. A signed-in viewer also gets one slot in four filled with the newest videos
//! (of the last week) by the people they follow, walked by id in the same cursor. Authors
//! the viewer blocks, or who block the viewer, never appear.
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
use std::time::Duration;

use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kit::cache::LocalCache;
use kit::ApiError;
use serde::Deserialize;

use crate::error::Result;
use crate::http::{Cursor, MaybeAuth, Page, Query};
use crate::videos::access::{Viewer, LISTED};
use crate::videos::model::{VideoRow, VideoView, VIDEO_COLUMNS, VIDEO_FROM};
use crate::AppState;

/// Ids remembered per scroll session.
pub const MAX_SEEN: usize = 500;
/// How long a scroll session is remembered after its last page.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 60);
/// Scroll sessions remembered per node (each costs up to ~12 KB).
pub const MAX_SESSIONS: u64 = 10_000;
/// How far back followed authors' videos are mixed into the recommended feed.
const FOLLOWED_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;
/// Rows looked at per round while skipping seen videos; rounds per page.
const MAX_ROUNDS: usize = 4;

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
        let bad = || ApiError::bad_request("invalid_cursor", "the cursor is not one we gave out");
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
        return Err(ApiError::bad_request(
            "invalid_limit",
            "limit must be between 1 and 50",
        ));
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
    State(state): State<AppState>,
    auth: MaybeAuth,
    Query(q): Query<FeedQuery>,
) -> Result<Json<Page<VideoView>>> {
    let viewer = Viewer::from_maybe(&auth);
    let limit = limit_of(&q)?;
    match q.kind.as_deref().unwrap_or("recommended") {
        "recommended" => recommended(&state, viewer, limit, q.cursor.as_deref()).await,
        "following" => {
            if viewer.id == 0 {
                return Err(ApiError::unauthorized(
                    "missing_token",
                    "the following feed needs `Authorization: Bearer <access_token>`",
                )
                .into());
            }
            following(&state, viewer, limit, q.cursor.as_deref()).await
        }
        _ => Err(ApiError::bad_request(
            "invalid_kind",
            "kind must be `recommended` or `following`",
        )
        .into()),
    }
    .map(Json)
}

/// The authors hidden from the viewer: those they block and those who block them.
const NOT_BLOCKED: &str = "v.author_id NOT IN (\
     SELECT blocked_id FROM blocks WHERE blocker_id = $1 \
     UNION ALL SELECT blocker_id FROM blocks WHERE blocked_id = $1)";

/// The followed authors' recent public videos after the cursor's id; `$1` viewer,
/// `$2` since, `$3` the cursor's followed id, `$4` how many.
fn followed_sql() -> String {
    format!(
        "SELECT {VIDEO_COLUMNS}, CAST(1 AS BIGINT) AS src FROM {VIDEO_FROM} \
         WHERE v.author_id IN (SELECT followee_id FROM follows WHERE follower_id = $1) \
           AND {LISTED} AND v.visibility = 'public' AND v.created_at > $2 AND v.id < $3 \
         ORDER BY v.id DESC LIMIT $4"
    )
}

/// The hot walk after `(score, id)` (`$a`, `$b`), `$c` rows; `$1` is the viewer.
fn hot_sql(a: u8, b: u8, c: u8) -> String {
    format!(
        "SELECT {VIDEO_COLUMNS}, CAST(0 AS BIGINT) AS src FROM {VIDEO_FROM} \
         WHERE {LISTED} AND v.visibility = 'public' \
           AND (v.hot_score, v.id) < (${a}, ${b}) AND {NOT_BLOCKED} \
         ORDER BY v.hot_score DESC, v.id DESC LIMIT ${c}"
    )
}

/// A row of the feed's query and which walk it came from (1 followed, 0 hot).
#[derive(sqlx::FromRow)]
struct FeedRow {
    #[sqlx(flatten)]
    video: VideoRow,
    src: i64,
}

async fn recommended(
    state: &AppState,
    viewer: Viewer,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<VideoView>> {
    let mut pos = match cursor {
        None | Some("") => FeedCursor::start(),
        Some(s) => FeedCursor::decode(s)?,
    };
    let seen = state.video_runtime().feed_sessions.get(pos.session);
    let is_seen = |id: i64| seen.lock().map(|s| s.contains(id)).unwrap_or(false);

    // One slot in four for the people a signed-in viewer follows. Both walks are read in
    // one statement (one round trip); enough hot rows for a whole page, and one more to
    // tell whether there is more.
    let slots = if viewer.id != 0 && limit >= 2 {
        (limit / 4).max(1) as usize
    } else {
        0
    };
    let batch = limit + 1;
    let rows = if slots > 0 {
        let sql = format!(
            "SELECT * FROM ({}) f UNION ALL SELECT * FROM ({}) h",
            followed_sql(),
            hot_sql(5, 6, 7)
        );
        sqlx::query_as::<_, FeedRow>(&sql)
            .bind(viewer.id)
            .bind(kit::time::now_ms() - FOLLOWED_WINDOW_MS)
            .bind(pos.followed)
            .bind((slots * 2) as i64)
            .bind(pos.score)
            .bind(pos.id)
            .bind(batch)
            .fetch_all(state.store().pool())
            .await?
    } else {
        sqlx::query_as::<_, FeedRow>(&hot_sql(2, 3, 4))
            .bind(viewer.id)
            .bind(pos.score)
            .bind(pos.id)
            .bind(batch)
            .fetch_all(state.store().pool())
            .await?
    };
    let (mut followed_rows, mut hot_rows): (Vec<FeedRow>, Vec<FeedRow>) =
        rows.into_iter().partition(|r| r.src == 1);
    // Each walk in its own order (UNION ALL promises none).
    followed_rows.sort_by_key(|r| std::cmp::Reverse(r.video.id));
    hot_rows.sort_by(|a, b| {
        (b.video.hot_score, b.video.id)
            .partial_cmp(&(a.video.hot_score, a.video.id))
            .unwrap_or(std::cmp::Ordering::Equal)
    });

    let mut followed = Vec::with_capacity(slots);
    for row in followed_rows {
        if followed.len() == slots {
            break;
        }
        pos.followed = row.video.id;
        if !is_seen(row.video.id) {
            followed.push(row.video);
        }
    }
    let shown_followed: HashSet<i64> = followed.iter().map(|r| r.id).collect();

    // The hot walk fills the rest, skipping what this session has seen; a page whose
    // batch was all seen reads on (rarely: the cursor already skips what was shown).
    let need = limit as usize - followed.len();
    let mut hot: Vec<VideoRow> = Vec::with_capacity(need);
    let mut more = false;
    let mut exhausted = (hot_rows.len() as i64) < batch;
    let mut round = 0;
    loop {
        for row in hot_rows {
            let row = row.video;
            if is_seen(row.id) || shown_followed.contains(&row.id) {
                pos_walk(&mut pos, &row, hot.len() == need);
                continue;
            }
            if hot.len() == need {
                more = true;
                break;
            }
            pos.score = row.hot_score;
            pos.id = row.id;
            hot.push(row);
        }
        round += 1;
        if more || exhausted || round == MAX_ROUNDS {
            // Filled with the batch ending exactly at the page's end: there may be more.
            more = more || (!exhausted && hot.len() == need);
            break;
        }
        let batch = (need + 1) as i64 * 2;
        hot_rows = sqlx::query_as::<_, FeedRow>(&hot_sql(2, 3, 4))
            .bind(viewer.id)
            .bind(pos.score)
            .bind(pos.id)
            .bind(batch)
            .fetch_all(state.store().pool())
            .await?;
        exhausted = (hot_rows.len() as i64) < batch;
    }

    // Every fourth item (from the second) is a followed author's.
    let mut items = Vec::with_capacity(limit as usize);
    let mut followed = followed.into_iter();
    let mut hot = hot.into_iter();
    loop {
        let next = if items.len() % 4 == 1 {
            followed.next().or_else(|| hot.next())
        } else {
            hot.next().or_else(|| followed.next())
        };
        match next {
            Some(row) => items.push(row),
            None => break,
        }
    }
    if let Ok(mut s) = seen.lock() {
        for row in &items {
            s.add(row.id);
        }
    }
    let next_cursor = more.then(|| pos.encode());
    Ok(Page {
        items: items
            .into_iter()
            .map(|r| VideoView::new(state, r, viewer.id, viewer.privileged))
            .collect(),
        next_cursor,
    })
}

/// Moves the hot walk's position past a seen row while the page is still filling, so
/// that the next round (or page) does not read it again.
fn pos_walk(pos: &mut FeedCursor, row: &VideoRow, full: bool) {
    if !full {
        pos.score = row.hot_score;
        pos.id = row.id;
    }
}

async fn following(
    state: &AppState,
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
    state: &AppState,
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
