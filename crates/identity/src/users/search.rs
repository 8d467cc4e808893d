//! `GET /api/v1/users/search?q=…`: people whose username or nickname starts with `q`
//! (case-insensitive), in id order, paged by cursor.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use crate::accounts::rules;
use crate::users::model::{UserRow, UserView, RELATION_COLUMNS, USER_COLUMNS};
use crate::IdentityState;
use api::error::Result;
use api::http::{Cursor, Fields, MaybeAuth, Page, PageQuery, Query};

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
    let rows = sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS}, {RELATION_COLUMNS} FROM users u \
         WHERE u.status = 'active' AND u.id > $2 \
           AND ((u.username_key >= $3 AND u.username_key < $4) \
             OR (u.nickname_key >= $3 AND u.nickname_key < $4)) \
         ORDER BY u.id LIMIT $5"
    ))
    .bind(viewer.viewer_id())
    .bind(after)
    .bind(&start)
    .bind(&end)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    let viewer = viewer.viewer_id();
    let views = rows.into_iter().map(|r| UserView::new(r, viewer)).collect();
    Ok(Json(Page::from_rows(views, limit, |u: &UserView| Cursor {
        key: u.id,
        id: u.id,
    })))
}
