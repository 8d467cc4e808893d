//! `POST /api/v1/notifications/read`: the caller has read up to `seq`.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use crate::notifications::inbox::read_upto;
use crate::notifications::unread::Unread;
use crate::IdentityState;
use api::error::Result;
use api::http::{Auth, Body};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkInboxRead {
    pub seq: i64,
}

#[utoipa::path(
    post,
    path = "/api/v1/notifications/read",
    tag = "notifications",
    security(("bearer" = [])),
    request_body = MarkInboxRead,
    responses(
        (status = 200, description = "The read position (it never moves back) and what is left unread", body = Unread),
        (status = 400, description = "Negative or beyond the newest (`validation_failed`)", body = kit::error::ErrorBody),
    )
)]
pub async fn mark_read(
    State(state): State<IdentityState>,
    auth: Auth,
    Body(req): Body<MarkInboxRead>,
) -> Result<Json<Unread>> {
    let pos = read_upto(&state, auth.user_id, req.seq).await?;
    Ok(Json(Unread {
        unread: pos.unread(),
        last_seq: pos.last_seq,
        read_seq: pos.read_seq,
    }))
}
