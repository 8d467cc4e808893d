//! `POST /api/v1/admin/wallet/adjustments`: an operator adds to or takes from a user's
//! coins or diamonds, with a required reason recorded beside the operator's name.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::wallet::ledger::{self, balances, transfer, Account, Asset, Balances, Opened};
use crate::LiveState;
use api::error::Result;
use api::http::{Admin, Body, Fields};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    pub user_id: i64,
    pub asset: Asset,
    /// Added to the balance; negative takes away (never below zero).
    pub amount: i64,
    /// Why, 1–200 characters; kept in the ledger with the operator's name.
    pub reason: String,
    pub idempotency_key: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdjustmentResult {
    pub txn_id: i64,
    pub user_id: i64,
    pub balances: Balances,
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/wallet/adjustments",
    tag = "admin",
    security(("bearer" = [])),
    request_body = Adjustment,
    responses(
        (status = 201, description = "Applied", body = AdjustmentResult),
        (status = 200, description = "Already applied under this key", body = AdjustmentResult),
        (status = 400, description = "Bad amount or reason (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 402, description = "Would go below zero (`insufficient_coins`, `insufficient_diamonds`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Key used for another request (`idempotency_key_reused`)", body = kit::error::ErrorBody),
    )
)]
pub async fn adjust(
    State(state): State<LiveState>,
    Admin(admin): Admin,
    Body(req): Body<Adjustment>,
) -> Result<(StatusCode, Json<AdjustmentResult>)> {
    let mut f = Fields::new();
    f.check(
        "amount",
        req.amount != 0 && req.amount.unsigned_abs() <= 1_000_000_000_000,
        "must be non-zero, at most 10^12 either way",
    );
    f.text("reason", req.reason.trim(), 1, 200);
    ledger::check_key(&mut f, &req.idempotency_key);
    f.finish()?;
    let exists: Option<String> = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(req.user_id)
        .fetch_optional(state.store().pool())
        .await?;
    if exists.is_none() {
        return Err(crate::rooms::errors::LiveError::UserNotFound.into());
    }
    let operator: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(admin.user_id)
        .fetch_one(state.store().pool())
        .await?;
    let user = req.user_id;
    let account = match req.asset {
        Asset::Coin => Account::Coins(user),
        Asset::Diamond => Account::Diamonds(user),
    };
    let fingerprint = format!(
        "adjust:{user}:{}:{}:{}",
        req.asset.as_str(),
        req.amount,
        req.reason.trim()
    );
    let memo = format!("by {operator}: {}", req.reason.trim());
    let (status, result) = match ledger::open(
        state.store(),
        "adjustment",
        admin.user_id,
        &req.idempotency_key,
        &fingerprint,
        &memo,
    )
    .await?
    {
        Opened::Replay(first) => (StatusCode::OK, first),
        Opened::New(mut t) => {
            let postings = transfer(Account::Adjust(req.asset), account, req.amount);
            ledger::post(&mut t.tx, t.id, &postings, t.now).await?;
            let result = AdjustmentResult {
                txn_id: t.id,
                user_id: user,
                balances: balances(&mut *t.tx, user).await?,
            };
            t.commit(&result).await?;
            (StatusCode::CREATED, result)
        }
    };
    tracing::info!(
        operator,
        user,
        amount = req.amount,
        asset = req.asset.as_str(),
        "wallet adjusted"
    );
    if status == StatusCode::CREATED {
        api::audit::record(
            state.store(),
            admin.user_id,
            "wallet.adjust",
            &format!("user:{user}"),
            serde_json::json!({
                "asset": req.asset.as_str(),
                "amount": req.amount,
                "reason": req.reason.trim(),
                "txn_id": result.txn_id,
            }),
        )
        .await?;
    }
    Ok((status, Json(result)))
}
