//! `GET /api/v1/rooms/search?q=`: rooms whose title, or whose anchor's name, holds every
//! word of the query — Chinese, Japanese and Korean words too, inside longer runs
//! (`store::search`'s bigrams) — live rooms first, then the others, newest first.
//!
//! A room's terms (from its title) are in `live_rooms.search_text`, written with the
//! title ([`terms`]); the anchor's are the user's own `users.search_text` (username and
//! nickname), so renaming yourself renames your room in search at once. On SQLite
//! through the FTS5 tables `live_rooms_fts` and `users_fts`, on PostgreSQL through the
//! GIN indexes on `to_tsvector('simple', search_text)` of both tables.

use axum::extract::State;
use axum::http::request::Parts;
use axum::Json;
use serde::Deserialize;
use store::Backend;

use crate::rooms::model::{BaseUrls, RoomRow, RoomView, ROOM_COLUMNS, ROOM_FROM};
use crate::LiveState;
use api::error::Result;
use api::http::{Cursor, Page, PageQuery, Query};

/// Longest query, in characters.
const MAX_QUERY: usize = 100;

/// What a room is found by, from its title (see the module's note).
pub fn terms(title: &str) -> String {
    store::search::index_text([title])
}

/// Where the terms come from, for indexing old rows again at start.
pub const SOURCE: store::search::Source = store::search::Source {
    table: "live_rooms",
    columns: &["title"],
};

/// `?q=…&limit=…&cursor=…`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoomSearch {
    /// Words to find in room titles and anchors' names.
    pub q: String,
    /// Items per page, 1–100 (default 20).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/rooms/search",
    tag = "live",
    params(RoomSearch),
    responses(
        (status = 200, description = "Matching rooms (not banned): live ones first, then the others; newest first within each", body = Page<RoomView>),
        (status = 400, description = "A too long `q` (`invalid_query`), bad cursor or limit", body = kit::error::ErrorBody),
    )
)]
pub async fn search_rooms(
    State(state): State<LiveState>,
    parts: Parts,
    Query(q): Query<RoomSearch>,
) -> Result<Json<Page<RoomView>>> {
    let (limit, cursor) = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .resolve()?;
    let terms = api::http::search::terms(&q.q, MAX_QUERY)?;
    if terms.is_empty() {
        return Ok(Json(Page {
            items: Vec::new(),
            next_cursor: None,
        }));
    }
    let matches = match state.store().backend() {
        Backend::Sqlite => {
            "(r.id IN (SELECT rowid FROM live_rooms_fts WHERE live_rooms_fts MATCH $1) \
              OR r.owner_id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH $1))"
        }
        Backend::Postgres => {
            "(to_tsvector('simple', r.search_text) @@ to_tsquery('simple', $1) \
              OR to_tsvector('simple', u.search_text) @@ to_tsquery('simple', $1))"
        }
    };
    let text = store::search::query_for(state.store().backend(), &terms);
    // Paged by (live first, id): the cursor's key is 1 while in the live rooms.
    let start = cursor == Cursor::START;
    let rows = sqlx::query_as::<_, RoomRow>(&format!(
        "SELECT {ROOM_COLUMNS} FROM {ROOM_FROM} \
         WHERE {matches} AND r.banned = 0 AND u.status = 'active' \
           AND ($2 = 1 OR (CASE WHEN r.status = 'live' THEN 1 ELSE 0 END) < $3 \
                OR ((CASE WHEN r.status = 'live' THEN 1 ELSE 0 END) = $3 AND r.id < $4)) \
         ORDER BY CASE WHEN r.status = 'live' THEN 1 ELSE 0 END DESC, r.id DESC LIMIT $5"
    ))
    .bind(text)
    .bind(start as i64)
    .bind(cursor.key)
    .bind(cursor.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    let urls = BaseUrls::from_request(&parts, &state.settings().live);
    let views: Vec<RoomView> = rows
        .into_iter()
        .map(|row| {
            let id = row.id;
            RoomView::new(row, 0, &urls).with_viewers(state.room_viewers(id))
        })
        .collect();
    Ok(Json(Page::from_rows(views, limit, |v: &RoomView| Cursor {
        key: i64::from(v.status == "live"),
        id: v.id,
    })))
}
