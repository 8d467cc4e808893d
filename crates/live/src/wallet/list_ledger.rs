//! `GET /api/v1/wallet/ledger`: every change of the caller's balances, newest first.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::LiveState;
use api::error::Result;
use api::http::{Auth, Cursor, Page, PageQuery, Query};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// Items per page, 1–100 (default 20).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only `coin` or only `diamond` entries.
    pub asset: Option<crate::wallet::ledger::Asset>,
}

/// One change of one of the caller's balances.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LedgerEntry {
    pub id: i64,
    pub txn_id: i64,
    /// What moved the money: `recharge`, `gift`, `withdraw_hold`, `withdraw_paid`,
    /// `withdraw_release`, `adjustment`.
    pub kind: String,
    /// `coin` or `diamond`.
    pub asset: String,
    /// `u{id}.coin`, `u{id}.diamond` or `u{id}.held` (diamonds held for a withdrawal).
    pub account: String,
    /// Signed: positive in, negative out.
    pub amount: i64,
    pub balance_after: Option<i64>,
    pub memo: String,
    pub created_at: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/wallet/ledger",
    tag = "wallet",
    params(LedgerQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Entries, newest first", body = Page<LedgerEntry>),
        (status = 400, description = "Bad cursor or limit", body = kit::error::ErrorBody),
        (status = 401, description = "Not signed in", body = kit::error::ErrorBody),
    )
)]
pub async fn list_ledger(
    State(state): State<LiveState>,
    auth: Auth,
    Query(query): Query<LedgerQuery>,
) -> Result<Json<Page<LedgerEntry>>> {
    let (limit, cursor) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .resolve()?;
    let asset = query.asset.map(|a| a.as_str()).unwrap_or("");
    let rows = entries_of(&state, auth.user_id, asset, cursor.id, limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |e: &LedgerEntry| {
        Cursor {
            key: e.id,
            id: e.id,
        }
    })))
}

/// Up to `limit` entries of `user`'s accounts before entry `before`, newest first;
/// `asset` "" for both assets.
pub async fn entries_of(
    state: &LiveState,
    user: i64,
    asset: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<LedgerEntry>> {
    Ok(sqlx::query_as::<_, LedgerEntry>(
        "SELECT e.id, e.txn_id, t.kind, e.asset, e.account, e.amount, e.balance_after, t.memo, \
                e.created_at \
         FROM ledger_entries e JOIN ledger_txns t ON t.id = e.txn_id \
         WHERE e.user_id = $1 AND e.id < $2 AND ($3 = '' OR e.asset = $3) \
         ORDER BY e.id DESC LIMIT $4",
    )
    .bind(user)
    .bind(before)
    .bind(asset)
    .bind(limit)
    .fetch_all(state.store().pool())
    .await?)
}
