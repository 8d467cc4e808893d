//! The ledger's self-check: every user balance equals the sum of its entries, none is
//! negative, and every transaction's entries sum to zero for each asset. Operators can
//! run it (`GET /api/v1/admin/wallet/audit`); the tests run it after every storm.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::LiveState;
use api::error::Result;
use api::http::Admin;

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct AuditReport {
    /// User accounts checked.
    pub accounts: i64,
    /// Ledger transactions checked.
    pub transactions: i64,
    /// Accounts whose balance differs from the sum of their entries.
    pub mismatched_accounts: Vec<String>,
    /// Accounts below zero.
    pub negative_accounts: Vec<String>,
    /// Transactions whose entries do not sum to zero for an asset.
    pub unbalanced_transactions: Vec<i64>,
    /// Coins spent on gifts, by the ledger (`sys.gift.coin`) and by the gifts recorded.
    pub gift_coins: [i64; 2],
    /// Diamonds earned from gifts, by the ledger (`sys.gift.diamond`) and by the gifts.
    pub gift_diamonds: [i64; 2],
    pub ok: bool,
}

/// Checks the whole ledger.
pub async fn audit(store: &store::Store) -> Result<AuditReport> {
    let pool = store.pool();
    let mut report = AuditReport::default();
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT a.id, a.balance, CAST(COALESCE((SELECT SUM(e.amount) FROM ledger_entries e \
                                                 WHERE e.account = a.id), 0) AS BIGINT) \
         FROM ledger_accounts a",
    )
    .fetch_all(pool)
    .await?;
    report.accounts = rows.len() as i64;
    for (id, balance, sum) in rows {
        if balance != sum {
            report.mismatched_accounts.push(id.clone());
        }
        if balance < 0 {
            report.negative_accounts.push(id);
        }
    }
    report.transactions = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_txns")
        .fetch_one(pool)
        .await?;
    report.unbalanced_transactions = sqlx::query_scalar(
        "SELECT txn_id FROM ledger_entries GROUP BY txn_id, asset HAVING SUM(amount) <> 0",
    )
    .fetch_all(pool)
    .await?;
    let sum = |account: &'static str| {
        sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries WHERE account = $1",
        )
        .bind(account)
        .fetch_one(pool)
    };
    let ledger_coins = sum("sys.gift.coin").await?;
    let ledger_diamonds = -sum("sys.gift.diamond").await?;
    let (coins, diamonds): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(coins), 0) AS BIGINT), CAST(COALESCE(SUM(diamonds), 0) AS BIGINT) \
         FROM gift_events",
    )
    .fetch_one(pool)
    .await?;
    report.gift_coins = [ledger_coins, coins];
    report.gift_diamonds = [ledger_diamonds, diamonds];
    report.ok = report.mismatched_accounts.is_empty()
        && report.negative_accounts.is_empty()
        && report.unbalanced_transactions.is_empty()
        && ledger_coins == coins
        && ledger_diamonds == diamonds;
    Ok(report)
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/wallet/audit",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The ledger's consistency", body = AuditReport),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
    )
)]
pub async fn get_audit(State(state): State<LiveState>, _admin: Admin) -> Result<Json<AuditReport>> {
    Ok(Json(audit(state.store()).await?))
}
