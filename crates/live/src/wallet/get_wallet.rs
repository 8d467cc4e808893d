//! `GET /api/v1/wallet`: the caller's coins and diamonds.

use axum::extract::State;
use axum::Json;

use crate::wallet::ledger::{balances, Balances};
use crate::LiveState;
use api::error::Result;
use api::http::Auth;

#[utoipa::path(
    get,
    path = "/api/v1/wallet",
    tag = "wallet",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's balances", body = Balances),
        (status = 401, description = "Not signed in", body = kit::error::ErrorBody),
    )
)]
pub async fn get_wallet(State(state): State<LiveState>, auth: Auth) -> Result<Json<Balances>> {
    Ok(Json(balances(state.store().pool(), auth.user_id).await?))
}
