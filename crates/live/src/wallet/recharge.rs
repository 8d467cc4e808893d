//! Buying coins. An order is `created` for one of the configured packages; the buyer pays
//! at the provider; the provider's signed callback marks it `paid`, and the coins are then
//! `credited` through the ledger under the key `recharge:{order_no}`, so a callback that
//! arrives twice, or a crash between the two steps followed by [`credit_paid_orders`],
//! credits once. An order still unpaid after `order_ttl_secs` is `closed`
//! ([`close_expired_orders`]); money that arrives for a closed order is still credited,
//! since the buyer paid it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use kit::ApiError;
use serde::{Deserialize, Serialize};

use crate::rooms::errors::LiveError;
use crate::wallet::ledger::{self, transfer, Account, Opened};
use crate::wallet::payments::PaymentNotice;
use crate::LiveState;
use crate::RechargePackage;
use api::error::Result;
use api::http::{Auth, Body};
use jobs::Enqueue;

/// The job that closes an order left unpaid.
pub const CLOSE_ORDER: &str = "wallet.close_order";
/// The job that credits a paid order (normally done at once; this is the safety net).
pub const CREDIT_ORDER: &str = "wallet.credit_order";

const ORDER_COLUMNS: &str =
    "order_no, user_id, package_id, coins, amount_cents, currency, provider, \
                             state, created_at, paid_at, credited_at, closed_at";

#[derive(Debug, Clone, sqlx::FromRow)]
struct OrderRow {
    order_no: String,
    user_id: i64,
    package_id: String,
    coins: i64,
    amount_cents: i64,
    currency: String,
    provider: String,
    state: String,
    created_at: i64,
    paid_at: Option<i64>,
    credited_at: Option<i64>,
    closed_at: Option<i64>,
}

/// A recharge order as its buyer sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub order_no: String,
    pub package_id: String,
    pub coins: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub provider: String,
    /// `created`, `paid`, `credited` or `closed`.
    pub state: String,
    /// Where to pay, while the order is open.
    pub pay_url: Option<String>,
    pub created_at: i64,
    /// When an unpaid order closes.
    pub expires_at: i64,
    pub paid_at: Option<i64>,
    pub credited_at: Option<i64>,
    pub closed_at: Option<i64>,
}

impl OrderView {
    fn new(state: &LiveState, row: OrderRow, base: &str) -> OrderView {
        let pay_url = (row.state == "created")
            .then(|| state.payments().get(&row.provider))
            .flatten()
            .map(|p| p.pay_url(base, &row.order_no));
        OrderView {
            expires_at: row.created_at + state.settings().economy.order_ttl_secs as i64 * 1000,
            pay_url,
            order_no: row.order_no,
            package_id: row.package_id,
            coins: row.coins,
            amount_cents: row.amount_cents,
            currency: row.currency,
            provider: row.provider,
            state: row.state,
            created_at: row.created_at,
            paid_at: row.paid_at,
            credited_at: row.credited_at,
            closed_at: row.closed_at,
        }
    }
}

fn base_url(state: &LiveState, parts: &Parts) -> String {
    crate::rooms::model::BaseUrls::from_request(parts, &state.settings().live)
        .http
        .trim_end_matches('/')
        .to_string()
}

/// A package on sale, with the payment providers that can take the money for it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackageView {
    #[serde(flatten)]
    pub package: RechargePackage,
    /// The payment providers switched on here (`dev`, …), in the order the server offers
    /// them. Empty when none is: the package is listed but cannot be bought, and a client
    /// should not offer to top up.
    pub providers: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/wallet/recharge/packages",
    tag = "wallet",
    responses((status = 200, description = "What can be bought, and through which payment \
        providers (`providers`, read-only: empty when no provider is on, so nothing can be \
        bought)", body = Vec<PackageView>))
)]
pub async fn list_packages(State(state): State<LiveState>) -> Json<Vec<PackageView>> {
    let providers = state.payments().names();
    Json(
        state
            .settings()
            .economy
            .recharge_packages
            .iter()
            .map(|p| PackageView {
                package: p.clone(),
                providers: providers.clone(),
            })
            .collect(),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    pub package_id: String,
    /// The payment provider (default `dev`, the only one built in).
    pub provider: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/wallet/recharge/orders",
    tag = "wallet",
    security(("bearer" = [])),
    request_body = CreateOrder,
    responses(
        (status = 201, description = "Order created; pay at `pay_url`", body = OrderView),
        (status = 400, description = "Unknown package or provider (`unknown_package`, `unknown_provider`)", body = kit::error::ErrorBody),
        (status = 401, description = "Not signed in", body = kit::error::ErrorBody),
    )
)]
pub async fn create_order(
    State(state): State<LiveState>,
    auth: Auth,
    parts: Parts,
    Body(req): Body<CreateOrder>,
) -> Result<(StatusCode, Json<OrderView>)> {
    let package = state
        .settings()
        .economy
        .recharge_packages
        .iter()
        .find(|p| p.id == req.package_id)
        .cloned()
        .ok_or(LiveError::UnknownPackage)?;
    let provider = req.provider.as_deref().unwrap_or("dev");
    if state.payments().get(provider).is_none() {
        return Err(LiveError::UnknownProvider.into());
    }
    let now = kit::time::now_ms();
    let order_no = new_order_no(now);
    let mut tx = state.store().begin().await?;
    let row = sqlx::query_as::<_, OrderRow>(&format!(
        "INSERT INTO recharge_orders (order_no, user_id, package_id, coins, amount_cents, currency, \
                                      provider, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {ORDER_COLUMNS}"
    ))
    .bind(&order_no)
    .bind(auth.user_id)
    .bind(&package.id)
    .bind(package.coins)
    .bind(package.amount_cents)
    .bind(&package.currency)
    .bind(provider)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let close_at = now + state.settings().economy.order_ttl_secs as i64 * 1000;
    state
        .jobs()
        .enqueue_in(
            &mut tx,
            CLOSE_ORDER,
            serde_json::json!({ "order_no": &order_no }),
            Enqueue::default()
                .run_at_ms(close_at)
                .unique_key(format!("{CLOSE_ORDER}:{order_no}")),
        )
        .await?;
    tx.commit().await?;
    metrics::counter!("wallet_orders_total", "state" => "created").increment(1);
    let base = base_url(&state, &parts);
    Ok((
        StatusCode::CREATED,
        Json(OrderView::new(&state, row, &base)),
    ))
}

fn new_order_no(now: i64) -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen_range(0..1_000_000_000_000);
    format!("R{now}{n:012}")
}

async fn find(state: &LiveState, order_no: &str) -> Result<Option<OrderRow>> {
    Ok(sqlx::query_as::<_, OrderRow>(&format!(
        "SELECT {ORDER_COLUMNS} FROM recharge_orders WHERE order_no = $1"
    ))
    .bind(order_no)
    .fetch_optional(state.store().pool())
    .await?)
}

fn not_found() -> ApiError {
    ApiError::from(LiveError::OrderNotFound)
}

#[utoipa::path(
    get,
    path = "/api/v1/wallet/recharge/orders/{order_no}",
    tag = "wallet",
    params(("order_no" = String, Path, description = "Order number")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 404, description = "Not an order of yours (`order_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn get_order(
    State(state): State<LiveState>,
    auth: Auth,
    parts: Parts,
    Path(order_no): Path<String>,
) -> Result<Json<OrderView>> {
    let row = find(&state, &order_no)
        .await?
        .filter(|r| r.user_id == auth.user_id)
        .ok_or_else(not_found)?;
    let base = base_url(&state, &parts);
    Ok(Json(OrderView::new(&state, row, &base)))
}

#[utoipa::path(
    post,
    path = "/api/v1/payments/{provider}/callback",
    tag = "wallet",
    params(("provider" = String, Path, description = "Provider name (`dev`)")),
    request_body(content = PaymentNotice, description = "Signed by the provider (`X-Momo-Signature`)"),
    responses(
        (status = 200, description = "Recorded and credited", body = OrderView),
        (status = 400, description = "Not a payment notice, or the amount differs (`invalid_callback`, `amount_mismatch`)", body = kit::error::ErrorBody),
        (status = 401, description = "Forged or stale (`bad_signature`, `callback_expired`)", body = kit::error::ErrorBody),
        (status = 404, description = "Unknown provider or order", body = kit::error::ErrorBody),
        (status = 409, description = "This payment was already recorded (`already_processed`)", body = kit::error::ErrorBody),
    )
)]
pub async fn callback(
    State(state): State<LiveState>,
    parts: Parts,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<OrderView>> {
    let p = state
        .payments()
        .get(&provider)
        .ok_or(LiveError::ProviderNotFound)?;
    let notice = p
        .verify(&headers, &body, kit::time::now_secs())
        .inspect_err(|e| {
            metrics::counter!("wallet_callbacks_refused_total", "reason" => e.code.to_string())
                .increment(1);
            tracing::warn!(provider, code = %e.code, "payment callback refused");
        })?;
    let row = record_payment(&state, p.name(), &notice).await?;
    let base = base_url(&state, &parts);
    Ok(Json(OrderView::new(&state, row, &base)))
}

#[utoipa::path(
    post,
    path = "/api/v1/payments/dev/checkout/{order_no}",
    tag = "wallet",
    params(("order_no" = String, Path, description = "Order number")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Paid through the development provider and credited", body = OrderView),
        (status = 404, description = "Not an order of yours, or development payments are off", body = kit::error::ErrorBody),
        (status = 409, description = "The order is closed or already paid (`order_closed`, `already_processed`)", body = kit::error::ErrorBody),
    )
)]
/// The development provider's checkout: the buyer "pays", and the provider's signed
/// callback is delivered through the same verification as a real one.
pub async fn dev_checkout(
    State(state): State<LiveState>,
    auth: Auth,
    parts: Parts,
    Path(order_no): Path<String>,
) -> Result<Json<OrderView>> {
    let dev = state.payments().dev().ok_or_else(not_found)?;
    let row = find(&state, &order_no)
        .await?
        .filter(|r| r.user_id == auth.user_id && r.provider == "dev")
        .ok_or_else(not_found)?;
    if row.state == "closed" {
        return Err(LiveError::OrderClosed.into());
    }
    let notice = PaymentNotice {
        provider_txn: format!("dev_{}", row.order_no),
        order_no: row.order_no,
        amount_cents: row.amount_cents,
        currency: row.currency,
    };
    let body = serde_json::to_vec(&notice).map_err(api::error::Error::internal)?;
    let now = kit::time::now_secs();
    let mut headers = HeaderMap::new();
    headers.insert(
        crate::wallet::payments::SIGNATURE_HEADER,
        dev.sign(now, &body)
            .parse()
            .map_err(api::error::Error::internal)?,
    );
    let notice =
        crate::wallet::payments::PaymentProvider::verify(dev.as_ref(), &headers, &body, now)?;
    let row = record_payment(&state, "dev", &notice).await?;
    let base = base_url(&state, &parts);
    Ok(Json(OrderView::new(&state, row, &base)))
}

/// Records that `notice`'s order was paid, then credits it.
async fn record_payment(
    state: &LiveState,
    provider: &str,
    notice: &PaymentNotice,
) -> Result<OrderRow> {
    let row = find(state, &notice.order_no)
        .await?
        .filter(|r| r.provider == provider)
        .ok_or_else(not_found)?;
    if row.amount_cents != notice.amount_cents || row.currency != notice.currency {
        return Err(LiveError::AmountMismatch.into());
    }
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    let claimed = sqlx::query(
        "UPDATE recharge_orders SET state = 'paid', provider_txn = $1, paid_at = $2 \
         WHERE order_no = $3 AND state IN ('created', 'closed')",
    )
    .bind(&notice.provider_txn)
    .bind(now)
    .bind(&notice.order_no)
    .execute(&mut *tx)
    .await;
    let claimed = match claimed {
        Ok(r) => r.rows_affected(),
        // The provider's payment id is already on another order.
        Err(e) if store::is_unique_violation(&e) => 0,
        Err(e) => return Err(e.into()),
    };
    if claimed > 0 {
        // Should this process die before crediting below, the job does it.
        state
            .jobs()
            .enqueue_in(
                &mut tx,
                CREDIT_ORDER,
                serde_json::json!({ "order_no": &notice.order_no }),
                Enqueue::default().unique_key(format!("{CREDIT_ORDER}:{}", notice.order_no)),
            )
            .await?;
    }
    tx.commit().await?;
    if claimed == 0 {
        return Err(LiveError::AlreadyProcessed.into());
    }
    metrics::counter!("wallet_orders_total", "state" => "paid").increment(1);
    credit(state, &notice.order_no).await?;
    Ok(find(state, &notice.order_no).await?.ok_or_else(not_found)?)
}

/// Credits a paid order's coins, once (the ledger key is the order number).
pub async fn credit(state: &LiveState, order_no: &str) -> Result<()> {
    let Some(row) = find(state, order_no).await? else {
        return Ok(());
    };
    if row.state != "paid" {
        return Ok(());
    }
    let (user, coins) = (row.user_id, row.coins);
    let opened = ledger::open::<i64>(
        state.store(),
        "recharge",
        user,
        &format!("recharge:{order_no}"),
        &format!("recharge:{order_no}:{coins}"),
        &format!("recharge {order_no}"),
    )
    .await?;
    let Opened::New(mut t) = opened else {
        return Ok(());
    };
    ledger::post(
        &mut t.tx,
        t.id,
        &transfer(Account::Recharge, Account::Coins(user), coins),
        t.now,
    )
    .await?;
    sqlx::query(
        "UPDATE recharge_orders SET state = 'credited', txn_id = $1, credited_at = $2 \
         WHERE order_no = $3 AND state = 'paid'",
    )
    .bind(t.id)
    .bind(t.now)
    .bind(order_no)
    .execute(&mut *t.tx)
    .await?;
    let txn = t.id;
    t.commit(&txn).await?;
    metrics::counter!("wallet_orders_total", "state" => "credited").increment(1);
    Ok(())
}

/// Credits every order left paid but not credited (a crash between the two steps).
pub async fn credit_paid_orders(state: &LiveState) -> Result<usize> {
    let paid: Vec<String> =
        sqlx::query_scalar("SELECT order_no FROM recharge_orders WHERE state = 'paid' LIMIT 1000")
            .fetch_all(state.store().pool())
            .await?;
    for order in &paid {
        credit(state, order).await?;
    }
    Ok(paid.len())
}

/// Closes `order_no` if it is still unpaid.
pub async fn close_order(state: &LiveState, order_no: &str) -> Result<bool> {
    let closed = sqlx::query(
        "UPDATE recharge_orders SET state = 'closed', closed_at = $1 \
         WHERE order_no = $2 AND state = 'created'",
    )
    .bind(kit::time::now_ms())
    .bind(order_no)
    .execute(state.store().writer())
    .await?
    .rows_affected();
    if closed > 0 {
        metrics::counter!("wallet_orders_total", "state" => "closed").increment(1);
    }
    Ok(closed > 0)
}

/// Closes every order unpaid for longer than the configured time.
pub async fn close_expired_orders(state: &LiveState) -> Result<u64> {
    let now = kit::time::now_ms();
    let cutoff = now - state.settings().economy.order_ttl_secs as i64 * 1000;
    let closed = sqlx::query(
        "UPDATE recharge_orders SET state = 'closed', closed_at = $1 \
         WHERE state = 'created' AND created_at <= $2",
    )
    .bind(now)
    .bind(cutoff)
    .execute(state.store().writer())
    .await?
    .rows_affected();
    Ok(closed)
}
