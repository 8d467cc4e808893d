//! `GET /api/v1/notifications?after_seq=N&limit=M`: the caller's notifications after
//! sequence number N, in order, with no gaps — how a client catches up after being away.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::notifications::inbox::{page, positions};
use crate::notifications::model::NotificationView;
use crate::IdentityState;
use api::error::Result;
use api::http::{Auth, Fields, Query};

/// Most notifications per page.
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// The last sequence number the client has (default 0: from the start).
    pub after_seq: Option<i64>,
    /// At most this many notifications, 1–200 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InboxPage {
    pub items: Vec<NotificationView>,
    /// Ask again with this `after_seq` for more; absent when there is no more.
    pub next_after_seq: Option<i64>,
    /// The newest sequence number in the inbox.
    pub last_seq: i64,
    /// How far the caller has read.
    pub read_seq: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    tag = "notifications",
    params(InboxQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Notifications after `after_seq`, oldest first", body = InboxPage),
        (status = 400, description = "Bad `after_seq` or `limit` (`validation_failed`, `invalid_query`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_notifications(
    State(state): State<IdentityState>,
    auth: Auth,
    Query(q): Query<InboxQuery>,
) -> Result<Json<InboxPage>> {
    let after = q.after_seq.unwrap_or(0);
    let limit = q.limit.unwrap_or(50);
    let mut f = Fields::new();
    f.check("after_seq", after >= 0, "must be 0 or more");
    f.check(
        "limit",
        (1..=MAX_LIMIT).contains(&limit),
        "must be 1 to 200",
    );
    f.finish()?;
    let (rows, more) = page(&state, auth.user_id, after, limit).await?;
    let pos = positions(&state, auth.user_id).await?;
    let next_after_seq = if more {
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    Ok(Json(InboxPage {
        items: rows.into_iter().map(NotificationView::from).collect(),
        next_after_seq,
        last_seq: pos.last_seq,
        read_seq: pos.read_seq,
    }))
}
