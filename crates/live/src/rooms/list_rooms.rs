//! Finding rooms: `GET /api/v1/rooms` lists live rooms by hotness (or newest first, or
//! every room), optionally in one category; `GET /api/v1/rooms/following` lists the live
//! rooms of the people the caller follows.
//!
//! Hotness is `10 × viewers + coins of gifts in the last 10 minutes`: an audience makes a
//! room hot, and a room where gifts fly now is hotter than one that was popular an hour
//! ago. It is computed over all live rooms on each request (live rooms are few next to
//! rooms) and paged by position.

use axum::extract::State;
use axum::http::request::Parts;
use axum::Json;
use serde::Deserialize;

use crate::rooms::errors::LiveError;
use crate::rooms::model::{BaseUrls, RoomRow, RoomView, ROOM_COLUMNS, ROOM_FROM};
use crate::LiveState;
use api::error::Result;
use api::http::{Auth, Cursor, Page, PageQuery, Query};

/// Gifts count towards hotness for this long.
const RECENT_GIFTS_MS: i64 = 10 * 60 * 1000;
/// Most live rooms ranked by hotness.
const MAX_HOT: i64 = 5000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoomQuery {
    /// `live` (default) or `all`.
    pub status: Option<String>,
    /// `hot` (default for live rooms) or `new` (live: latest to go live; all: newest).
    pub order: Option<String>,
    /// Only rooms of this category.
    pub category: Option<String>,
    /// Items per page, 1–100 (default 20).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/rooms",
    tag = "live",
    params(RoomQuery),
    responses(
        (status = 200, description = "Rooms", body = Page<RoomView>),
        (status = 400, description = "Bad status, order, cursor or limit", body = kit::error::ErrorBody),
    )
)]
pub async fn list_rooms(
    State(state): State<LiveState>,
    parts: Parts,
    Query(q): Query<RoomQuery>,
) -> Result<Json<Page<RoomView>>> {
    let (limit, cursor) = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .resolve()?;
    let live = match q.status.as_deref().unwrap_or("live") {
        "live" => true,
        "all" => false,
        _ => return Err(LiveError::InvalidStatus.into()),
    };
    let order = q
        .order
        .as_deref()
        .unwrap_or(if live { "hot" } else { "new" });
    let category = q.category.as_deref().unwrap_or("").trim().to_lowercase();
    let urls = BaseUrls::from_request(&parts, &state.settings().live);
    let view = |row: RoomRow| {
        let id = row.id;
        RoomView::new(row, 0, &urls).with_viewers(state.room_viewers(id))
    };
    match (order, live) {
        ("hot", true) => {
            let rows = sqlx::query_as::<_, RoomRow>(&format!(
                "SELECT {ROOM_COLUMNS} FROM {ROOM_FROM} \
                 WHERE r.status = 'live' AND r.banned = 0 AND ($1 = '' OR r.category = $1) LIMIT $2"
            ))
            .bind(&category)
            .bind(MAX_HOT)
            .fetch_all(state.store().pool())
            .await?;
            let gifts: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT room_id, CAST(SUM(coins) AS BIGINT) FROM gift_events \
                 WHERE created_at > $1 GROUP BY room_id",
            )
            .bind(kit::time::now_ms() - RECENT_GIFTS_MS)
            .fetch_all(state.store().pool())
            .await?;
            let gifts: std::collections::HashMap<i64, i64> = gifts.into_iter().collect();
            let mut views: Vec<(i64, RoomView)> = rows
                .into_iter()
                .map(|row| {
                    let v = view(row);
                    let score = v.viewers as i64 * 10 + gifts.get(&v.id).copied().unwrap_or(0);
                    (score, v)
                })
                .collect();
            views.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.id.cmp(&a.1.id)));
            // The cursor is the position reached: (offset, 0).
            let start = if cursor == Cursor::START {
                0
            } else {
                cursor.key.clamp(0, MAX_HOT) as usize
            };
            let end = start + limit as usize;
            let next_cursor = (views.len() > end).then(|| {
                Cursor {
                    key: end as i64,
                    id: 0,
                }
                .encode()
            });
            let items = views
                .into_iter()
                .skip(start)
                .take(limit as usize)
                .map(|(_, v)| v)
                .collect();
            Ok(Json(Page { items, next_cursor }))
        }
        ("new", _) => {
            let key = if live { "r.live_since" } else { "r.created_at" };
            let rows = sqlx::query_as::<_, RoomRow>(&format!(
                "SELECT {ROOM_COLUMNS} FROM {ROOM_FROM} \
                 WHERE ($1 = 0 OR r.status = 'live') AND r.banned = 0 \
                   AND ($2 = '' OR r.category = $2) \
                   AND ({key} < $3 OR ({key} = $3 AND r.id < $4)) \
                 ORDER BY {key} DESC, r.id DESC LIMIT $5"
            ))
            .bind(live as i64)
            .bind(&category)
            .bind(cursor.key)
            .bind(cursor.id)
            .bind(limit + 1)
            .fetch_all(state.store().pool())
            .await?;
            let rows: Vec<RoomView> = rows.into_iter().map(view).collect();
            Ok(Json(Page::from_rows(rows, limit, |v: &RoomView| Cursor {
                key: if live {
                    v.live_since.unwrap_or(0)
                } else {
                    v.created_at
                },
                id: v.id,
            })))
        }
        _ => Err(LiveError::InvalidOrder.into()),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/rooms/following",
    tag = "live",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Live rooms of people the caller follows, latest to go live first", body = Page<RoomView>),
        (status = 401, description = "Not signed in", body = kit::error::ErrorBody),
    )
)]
pub async fn following_rooms(
    State(state): State<LiveState>,
    auth: Auth,
    parts: Parts,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<RoomView>>> {
    let (limit, cursor) = page.resolve()?;
    let rows = sqlx::query_as::<_, RoomRow>(&format!(
        "SELECT {ROOM_COLUMNS} FROM {ROOM_FROM} \
         JOIN follows f ON f.followee_id = r.owner_id AND f.follower_id = $1 \
         WHERE r.status = 'live' AND r.banned = 0 \
           AND (r.live_since < $2 OR (r.live_since = $2 AND r.id < $3)) \
         ORDER BY r.live_since DESC, r.id DESC LIMIT $4"
    ))
    .bind(auth.user_id)
    .bind(cursor.key)
    .bind(cursor.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    let urls = BaseUrls::from_request(&parts, &state.settings().live);
    let rows: Vec<RoomView> = rows
        .into_iter()
        .map(|row| {
            let id = row.id;
            RoomView::new(row, 0, &urls).with_viewers(state.room_viewers(id))
        })
        .collect();
    Ok(Json(Page::from_rows(rows, limit, |v: &RoomView| Cursor {
        key: v.live_since.unwrap_or(0),
        id: v.id,
    })))
}
