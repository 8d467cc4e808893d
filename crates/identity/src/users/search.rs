//! `GET /api/v1/users/search?q=…`: people whose username or nickname starts with `q`
//! (case-insensitive), or holds every word of it — Chinese, Japanese and Korean words
//! too, inside longer names (`store::search`'s bigrams: 美 finds 小美酱) — in id order,
//! paged by cursor.
//!
//! A user's terms (username and nickname) are in `users.search_text`, written with
//! them ([`terms`]); on SQLite through the FTS5 table `users_fts`, on PostgreSQL
//! through the GIN index on `to_tsvector('simple', search_text)`.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use store::Backend;

use crate::accounts::rules;
use crate::users::model::{UserRow, UserView, RELATION_COLUMNS, USER_COLUMNS};
use crate::IdentityState;
use api::error::Result;
use api::http::{Cursor, Fields, MaybeAuth, Page, PageQuery, Query};

/// What a user is found by, from their username and nickname.
pub fn terms(username: &str, nickname: &str) -> String {
    store::search::index_text([username, nickname])
}

/// Where the terms come from, for indexing old rows again at start.
pub const SOURCE: store::search::Source = store::search::Source {
    table: "users",
    columns: &["username", "nickname"],
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The prefix to look for, 1–32 characters.
    pub q: Option<String>,
    /// Items per page, 1–100 (default 20).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/users/search",
    tag = "users",
    params(SearchQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Matching users", body = Page<UserView>),
        (status = 400, description = "Missing or bad `q` (`validation_failed`), bad cursor or limit", body = kit::error::ErrorBody),
    )
)]
pub async fn search(
    State(state): State<IdentityState>,
    viewer: MaybeAuth,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Page<UserView>>> {
    let q = query.q.as_deref().map(str::trim).unwrap_or_default();
    let mut f = Fields::new();
    f.text("q", q, 1, 32);
    f.finish()?;
    let (limit, cursor) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .resolve()?;
    // Search walks ids upwards; the cursor's id is the last one seen.
    let after = if cursor == Cursor::START {
        0
    } else {
        cursor.id
    };
    let (start, end) = super::prefix_range(&rules::key(q));
    let terms = store::search::query_terms(q);
    // No terms (punctuation only): the prefix alone decides.
    let words = match (state.store().backend(), terms.is_empty()) {
        (_, true) => "FALSE",
        (Backend::Sqlite, false) => {
            "u.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH $6)"
        }
        (Backend::Postgres, false) => {
            "to_tsvector('simple', u.search_text) @@ to_tsquery('simple', $6)"
        }
    };
    let text = if terms.is_empty() {
        String::new()
    } else {
        store::search::query_for(state.store().backend(), &terms)
    };
    let rows = sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS}, {RELATION_COLUMNS} FROM users u \
         WHERE u.status = 'active' AND u.id > $2 \
           AND ((u.username_key >= $3 AND u.username_key < $4) \
             OR (u.nickname_key >= $3 AND u.nickname_key < $4) \
             OR ($6 <> '' AND {words})) \
         ORDER BY u.id LIMIT $5"
    ))
    .bind(viewer.viewer_id())
    .bind(after)
    .bind(&start)
    .bind(&end)
    .bind(limit + 1)
    .bind(text)
    .fetch_all(state.store().pool())
    .await?;
    let viewer = viewer.viewer_id();
    let views = rows.into_iter().map(|r| UserView::new(r, viewer)).collect();
    Ok(Json(Page::from_rows(views, limit, |u: &UserView| Cursor {
        key: u.id,
        id: u.id,
    })))
}
