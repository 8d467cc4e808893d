//! Withdrawals: an anchor asks to cash out diamonds; the amount moves at once from their
//! diamonds to `held` (so it cannot be spent or asked for twice), and an operator then
//! approves it (held → paid out) or rejects it (held → back to the anchor's diamonds).
//! Each step is one ledger transaction, and a decision is taken once: the withdrawal's
//! state moves from `pending` only by a conditional update in the same transaction.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kit::ApiError;
use serde::{Deserialize, Serialize};

use crate::rooms::errors::LiveError;
use crate::wallet::ledger::{self, balances, transfer, Account, Balances, Opened};
use crate::LiveState;
use api::error::Result;
use api::http::{Admin, Auth, Body, Cursor, Fields, IdPath, Page, PageQuery, Query};

const COLUMNS: &str =
    "id, user_id, diamonds, account, state, reason, reviewer_id, created_at, decided_at";

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Withdrawal {
    pub id: i64,
    pub user_id: i64,
    pub diamonds: i64,
    /// Where the anchor wants the money paid.
    pub account: String,
    /// `pending`, `paid` or `rejected`.
    pub state: String,
    /// Why it was rejected.
    pub reason: String,
    pub reviewer_id: Option<i64>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestWithdrawal {
    pub diamonds: i64,
    /// Where to pay (bank or wallet account), 1–200 characters.
    pub account: String,
    pub idempotency_key: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WithdrawalResult {
    pub withdrawal: Withdrawal,
    pub balances: Balances,
}

#[utoipa::path(
    post,
    path = "/api/v1/wallet/withdrawals",
    tag = "wallet",
    security(("bearer" = [])),
    request_body = RequestWithdrawal,
    responses(
        (status = 201, description = "Requested; the diamonds are held", body = WithdrawalResult),
        (status = 200, description = "Already requested under this key", body = WithdrawalResult),
        (status = 400, description = "Bad amount (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 402, description = "Not enough diamonds (`insufficient_diamonds`)", body = kit::error::ErrorBody),
        (status = 409, description = "Key used for another request (`idempotency_key_reused`)", body = kit::error::ErrorBody),
    )
)]
pub async fn request_withdrawal(
    State(state): State<LiveState>,
    auth: Auth,
    Body(req): Body<RequestWithdrawal>,
) -> Result<(StatusCode, Json<WithdrawalResult>)> {
    let min = state.settings().economy.min_withdrawal_diamonds;
    let mut f = Fields::new();
    f.check(
        "diamonds",
        req.diamonds >= min && req.diamonds <= 1_000_000_000_000,
        format!("must be at least {min}"),
    );
    f.text("account", req.account.trim(), 1, 200);
    ledger::check_key(&mut f, &req.idempotency_key);
    f.finish()?;
    let user = auth.user_id;
    let (diamonds, account) = (req.diamonds, req.account.trim().to_string());
    let opened = ledger::open(
        state.store(),
        "withdraw_hold",
        user,
        &req.idempotency_key,
        &format!("withdraw:{diamonds}:{account}"),
        "withdrawal requested",
    )
    .await?;
    let mut t = match opened {
        Opened::Replay(first) => return Ok((StatusCode::OK, Json(first))),
        Opened::New(t) => t,
    };
    let hold = transfer(Account::Diamonds(user), Account::Held(user), diamonds);
    ledger::post(&mut t.tx, t.id, &hold, t.now).await?;
    let withdrawal = sqlx::query_as::<_, Withdrawal>(&format!(
        "INSERT INTO withdrawals (user_id, diamonds, account, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
    ))
    .bind(user)
    .bind(diamonds)
    .bind(&account)
    .bind(t.now)
    .fetch_one(&mut *t.tx)
    .await?;
    let result = WithdrawalResult {
        withdrawal,
        balances: balances(&mut *t.tx, user).await?,
    };
    t.commit(&result).await?;
    Ok((StatusCode::CREATED, Json(result)))
}

#[utoipa::path(
    get,
    path = "/api/v1/wallet/withdrawals",
    tag = "wallet",
    params(PageQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's withdrawals, newest first", body = Page<Withdrawal>))
)]
pub async fn my_withdrawals(
    State(state): State<LiveState>,
    auth: Auth,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Withdrawal>>> {
    let (limit, cursor) = page.resolve()?;
    let rows = sqlx::query_as::<_, Withdrawal>(&format!(
        "SELECT {COLUMNS} FROM withdrawals WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(auth.user_id)
    .bind(cursor.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    Ok(Json(Page::from_rows(rows, limit, |w: &Withdrawal| {
        Cursor {
            key: w.id,
            id: w.id,
        }
    })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminWithdrawalQuery {
    /// `pending` (default), `paid`, `rejected` or `all`.
    pub state: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/withdrawals",
    tag = "admin",
    params(AdminWithdrawalQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Withdrawals, oldest pending first", body = Page<Withdrawal>),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_withdrawals(
    State(state): State<LiveState>,
    _admin: Admin,
    Query(q): Query<AdminWithdrawalQuery>,
) -> Result<Json<Page<Withdrawal>>> {
    let (limit, cursor) = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .resolve()?;
    let wanted = q.state.as_deref().unwrap_or("pending");
    if !["pending", "paid", "rejected", "all"].contains(&wanted) {
        return Err(LiveError::InvalidState.into());
    }
    // Oldest first, so operators work the queue in order; the cursor's id is exclusive.
    let after = if cursor == Cursor::START {
        0
    } else {
        cursor.id
    };
    let rows = sqlx::query_as::<_, Withdrawal>(&format!(
        "SELECT {COLUMNS} FROM withdrawals WHERE ($1 = 'all' OR state = $1) AND id > $2 \
         ORDER BY id LIMIT $3"
    ))
    .bind(wanted)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    Ok(Json(Page::from_rows(rows, limit, |w: &Withdrawal| {
        Cursor {
            key: w.id,
            id: w.id,
        }
    })))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Why (required to reject), up to 200 characters.
    pub reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/withdrawals/{id}/approve",
    tag = "admin",
    params(("id" = i64, Path, description = "Withdrawal id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Paid out", body = Withdrawal),
        (status = 404, description = "No such withdrawal (`withdrawal_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Already decided (`already_decided`)", body = kit::error::ErrorBody),
    )
)]
pub async fn approve(
    State(state): State<LiveState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
) -> Result<Json<Withdrawal>> {
    decide(&state, admin.user_id, id, true, "").await.map(Json)
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/withdrawals/{id}/reject",
    tag = "admin",
    params(("id" = i64, Path, description = "Withdrawal id")),
    security(("bearer" = [])),
    request_body = Decision,
    responses(
        (status = 200, description = "Rejected; the diamonds are back with the anchor", body = Withdrawal),
        (status = 400, description = "No reason given (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such withdrawal (`withdrawal_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Already decided (`already_decided`)", body = kit::error::ErrorBody),
    )
)]
pub async fn reject(
    State(state): State<LiveState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
    Body(req): Body<Decision>,
) -> Result<Json<Withdrawal>> {
    let reason = req.reason.unwrap_or_default();
    let mut f = Fields::new();
    f.text("reason", reason.trim(), 1, 200);
    f.finish()?;
    decide(&state, admin.user_id, id, false, reason.trim())
        .await
        .map(Json)
}

async fn decide(
    state: &LiveState,
    admin: i64,
    id: i64,
    approve: bool,
    reason: &str,
) -> Result<Withdrawal> {
    let found: Option<(i64, i64)> =
        sqlx::query_as("SELECT user_id, diamonds FROM withdrawals WHERE id = $1")
            .bind(id)
            .fetch_optional(state.store().pool())
            .await?;
    let (user, diamonds) = found.ok_or(LiveError::WithdrawalNotFound)?;
    let (kind, next, to) = if approve {
        ("withdraw_paid", "paid", Account::Payout)
    } else {
        ("withdraw_release", "rejected", Account::Diamonds(user))
    };
    let decided = || ApiError::from(LiveError::AlreadyDecided);
    let opened = ledger::open::<i64>(
        state.store(),
        kind,
        admin,
        &format!("withdrawal:{id}"),
        &format!("withdrawal:{id}"),
        &format!("withdrawal {id} {next}"),
    )
    .await;
    let mut t = match opened {
        Ok(Opened::New(t)) => t,
        Ok(Opened::Replay(_)) => return Err(decided().into()),
        // Another decision by this operator took the key first.
        Err(api::error::Error::Api(e)) if LiveError::IdempotencyKeyReused.is(&e) => {
            return Err(decided().into())
        }
        Err(e) => return Err(e),
    };
    let changed = sqlx::query(
        "UPDATE withdrawals SET state = $1, reason = $2, reviewer_id = $3, decided_at = $4 \
         WHERE id = $5 AND state = 'pending'",
    )
    .bind(next)
    .bind(reason)
    .bind(admin)
    .bind(t.now)
    .bind(id)
    .execute(&mut *t.tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(decided().into());
    }
    ledger::post(
        &mut t.tx,
        t.id,
        &transfer(Account::Held(user), to, diamonds),
        t.now,
    )
    .await?;
    let txn = t.id;
    t.commit(&txn).await?;
    let action = if approve {
        "withdrawal.approve"
    } else {
        "withdrawal.reject"
    };
    api::audit::record(
        state.store(),
        admin,
        action,
        &format!("withdrawal:{id}"),
        serde_json::json!({"user_id": user, "diamonds": diamonds, "reason": reason}),
    )
    .await?;
    tracing::info!(admin, withdrawal = id, state = next, "withdrawal decided");
    Ok(
        sqlx::query_as::<_, Withdrawal>(&format!(
            "SELECT {COLUMNS} FROM withdrawals WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(state.store().pool())
        .await?,
    )
}
