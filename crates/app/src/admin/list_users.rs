//! `GET /api/v1/admin/users`: every account, newest first, with role and status,
//! optionally filtered by a username or nickname prefix (`q`, which may be empty here).

use axum::extract::State;
use axum::Json;

use crate::accounts::rules;
use crate::error::Result;
use crate::http::{Admin, Cursor, Page, PageQuery, Query};
use crate::users::model::{UserRow, UserView, USER_COLUMNS};
use crate::users::prefix_range;
use crate::users::search::SearchQuery;
use crate::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/admin/users",
    tag = "admin",
    params(SearchQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Accounts, newest first", body = Page<UserView>),
        (status = 401, description = "Not signed in", body = kit::error::ErrorBody),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Page<UserView>>> {
    let (limit, cursor) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .resolve()?;
    let (key, end) = prefix_range(&rules::key(query.q.as_deref().unwrap_or("").trim()));
    let rows = sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id < $1 \
           AND ($2 = '' OR (u.username_key >= $2 AND u.username_key < $3) \
                OR (u.nickname_key >= $2 AND u.nickname_key < $3)) \
         ORDER BY u.id DESC LIMIT $4"
    ))
    .bind(cursor.id)
    .bind(&key)
    .bind(&end)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    let views = rows.into_iter().map(UserView::for_admin).collect();
    Ok(Json(Page::from_rows(views, limit, |u: &UserView| Cursor {
        key: u.id,
        id: u.id,
    })))
}
