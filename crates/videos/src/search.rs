//! `GET /api/v1/videos/search?q=`: public videos whose title, description or hashtags
//! hold every word of the query (a word may be the start of one: `danc` finds `dance`;
//! Chinese, Japanese and Korean words are found inside longer runs: 美食 finds
//! 北京美食), newest first.
//!
//! The terms are `store::search`'s (bigrams for CJK), kept in `videos.search_text` by
//! every writer of a title, description or hashtags ([`terms`]); on SQLite through the
//! FTS5 table `videos_fts`, on PostgreSQL through the GIN index on
//! `to_tsvector('simple', search_text)` (the query repeats that expression exactly, or
//! the index would not be used). The query is cut into the same plain ASCII terms
//! before either engine sees it, so no search syntax in user input gets through.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use store::Backend;

use crate::access::{Viewer, LISTED};
use crate::feed::video_page;
use crate::model::{VideoRow, VideoView, VIDEO_COLUMNS, VIDEO_FROM};
use crate::VideosState;
use api::error::Result;
use api::http::{MaybeAuth, Page, PageQuery, Query};

/// Longest query, in characters.
const MAX_QUERY: usize = 200;

/// `?q=…&limit=…&cursor=…`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words to find in titles, descriptions and hashtags.
    pub q: String,
    /// Items per page, 1–100 (default 20).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// What a video is found by (see the module's note), from its title, description and
/// hashtags.
pub fn terms(title: &str, description: &str, hashtags: &str) -> String {
    store::search::index_text([title, description, hashtags])
}

/// Where the terms come from, for indexing old rows again at start.
pub const SOURCE: store::search::Source = store::search::Source {
    table: "videos",
    columns: &["title", "description", "hashtags"],
};

#[utoipa::path(
    get,
    path = "/api/v1/videos/search",
    tag = "videos",
    params(SearchQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Matching public videos, newest first", body = Page<VideoView>),
        (status = 400, description = "No `q` or a too long one (`invalid_query`), bad cursor or limit", body = kit::error::ErrorBody),
    )
)]
pub async fn search(
    State(state): State<VideosState>,
    auth: MaybeAuth,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Page<VideoView>>> {
    let viewer = Viewer::from_maybe(&auth);
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
    // On PostgreSQL the matches are read first through the GIN index (a materialised
    // CTE): left to itself, the planner walks the primary key backwards for the ORDER BY
    // … LIMIT and computes to_tsvector for every row until the page fills, which for a
    // rare word is the whole table.
    let text = store::search::query_for(state.store().backend(), &terms);
    let (with, from) = match state.store().backend() {
        Backend::Sqlite => (
            String::new(),
            format!(
                "{VIDEO_FROM} WHERE v.id IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH $2)"
            ),
        ),
        Backend::Postgres => (
            "WITH hits AS MATERIALIZED (SELECT id FROM videos \
               WHERE to_tsvector('simple', search_text) @@ to_tsquery('simple', $2)) "
                .to_string(),
            "hits h JOIN videos v ON v.id = h.id JOIN users u ON u.id = v.author_id WHERE TRUE"
                .to_string(),
        ),
    };
    let rows = sqlx::query_as::<_, VideoRow>(&format!(
        "{with}SELECT {VIDEO_COLUMNS} FROM {from} AND {LISTED} AND v.visibility = 'public' AND v.id < $3 \
         ORDER BY v.id DESC LIMIT $4"
    ))
    .bind(viewer.id)
    .bind(text)
    .bind(cursor.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    Ok(Json(video_page(&state, viewer, rows, limit)))
}
