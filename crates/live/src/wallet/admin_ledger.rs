//! `GET /api/v1/admin/wallet/ledger`: operators search every balance change, newest
//! first, by user and by kind (e.g. every `adjustment`, or one user's gifts).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::LiveState;
use api::error::Result;
use api::http::{Admin, Cursor, Page, PageQuery, Query};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminLedgerQuery {
    /// Items per page, 1–100 (default 20).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only this user's entries.
    pub user_id: Option<i64>,
    /// Only this kind: `recharge`, `gift`, `withdraw_hold`, `withdraw_paid`,
    /// `withdraw_release`, `adjustment`.
    pub kind: Option<String>,
}

/// One change of one user's balance.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AdminLedgerEntry {
    pub id: i64,
    pub txn_id: i64,
    pub user_id: i64,
    pub username: String,
    pub kind: String,
    pub asset: String,
    pub account: String,
    /// Signed: positive in, negative out.
    pub amount: i64,
    pub balance_after: Option<i64>,
    /// For adjustments: the reason and the operator's name.
    pub memo: String,
    pub created_at: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/wallet/ledger",
    tag = "admin",
    params(AdminLedgerQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Entries of users' accounts, newest first", body = Page<AdminLedgerEntry>),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
    )
)]
pub async fn search_ledger(
    State(state): State<LiveState>,
    _admin: Admin,
    Query(query): Query<AdminLedgerQuery>,
) -> Result<Json<Page<AdminLedgerEntry>>> {
    let (limit, cursor) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .resolve()?;
    let rows = sqlx::query_as::<_, AdminLedgerEntry>(
        "SELECT e.id, e.txn_id, e.user_id, u.username, t.kind, e.asset, e.account, e.amount, \
                e.balance_after, t.memo, e.created_at \
         FROM ledger_entries e JOIN ledger_txns t ON t.id = e.txn_id \
              JOIN users u ON u.id = e.user_id \
         WHERE e.id < $1 AND ($2 = 0 OR e.user_id = $2) AND ($3 = '' OR t.kind = $3) \
         ORDER BY e.id DESC LIMIT $4",
    )
    .bind(cursor.id)
    .bind(query.user_id.unwrap_or(0))
    .bind(query.kind.as_deref().unwrap_or("").trim())
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |e: &AdminLedgerEntry| Cursor {
            key: e.id,
            id: e.id,
        },
    )))
}
