//! `GET /api/v1/notifications/unread`: how many notifications the caller has not read.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::notifications::inbox::positions;
use crate::IdentityState;
use api::error::Result;
use api::http::Auth;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Unread {
    /// `last_seq - read_seq`.
    pub unread: i64,
    pub last_seq: i64,
    pub read_seq: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/notifications/unread",
    tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, description = "The unread count and the positions", body = Unread))
)]
pub async fn unread(State(state): State<IdentityState>, auth: Auth) -> Result<Json<Unread>> {
    let pos = positions(&state, auth.user_id).await?;
    Ok(Json(Unread {
        unread: pos.unread(),
        last_seq: pos.last_seq,
        read_seq: pos.read_seq,
    }))
}
