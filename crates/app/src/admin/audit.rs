//! The operators' audit log: every admin use case writes one row saying who did what to
//! what, and `GET /api/v1/admin/audit` reads them back, newest first.
//!
//! A row is written after the action succeeded; a failed action leaves none.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::http::{Admin, Cursor, Page, PageQuery, Query};
use crate::AppState;

/// Writes one audit row ([`api::audit::record`]).
pub async fn record(
    state: &AppState,
    admin: i64,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<()> {
    api::audit::record(state.store(), admin, action, target, detail).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Items per page, 1–100 (default 20).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only this action (e.g. `user.ban`), or every action starting with it and a dot
    /// (e.g. `user`).
    pub action: Option<String>,
    /// Only actions by this admin (user id).
    pub admin_id: Option<i64>,
}

/// One operator action.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub admin_id: i64,
    /// The admin's username when they acted.
    pub admin_name: String,
    pub action: String,
    pub target: String,
    /// What exactly was done, as a JSON object.
    #[schema(value_type = Object)]
    #[sqlx(try_from = "String")]
    pub detail: JsonText,
    pub created_at: i64,
}

/// A JSON document stored as text, shown as JSON.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct JsonText(serde_json::Value);

impl From<String> for JsonText {
    fn from(s: String) -> Self {
        JsonText(serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s)))
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/audit",
    tag = "admin",
    params(AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Operator actions, newest first", body = Page<AuditEntry>),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_audit(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Page<AuditEntry>>> {
    let (limit, cursor) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .resolve()?;
    let action = query.action.unwrap_or_default();
    let action = action.trim();
    let rows = sqlx::query_as::<_, AuditEntry>(
        "SELECT id, admin_id, admin_name, action, target, detail, created_at FROM admin_audit \
         WHERE id < $1 AND ($2 = '' OR action = $2 OR action LIKE $3) \
           AND ($4 = 0 OR admin_id = $4) \
         ORDER BY id DESC LIMIT $5",
    )
    .bind(cursor.id)
    .bind(action)
    .bind(format!("{}.%", action.replace(['%', '_'], "")))
    .bind(query.admin_id.unwrap_or(0))
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    Ok(Json(Page::from_rows(rows, limit, |e: &AuditEntry| {
        Cursor {
            key: e.id,
            id: e.id,
        }
    })))
}
