//! `POST /api/v1/admin/announcements`: tell every user something. Stored once, pushed
//! at once to every connection (op 25), and in each user's inbox from their next read.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::error::Result;
use crate::http::{Admin, Body, Fields};
use crate::notifications::announcements::{announce as store_and_push, Announcement};
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAnnouncement {
    /// 1–100 characters.
    pub title: String,
    /// 1–4000 characters.
    pub body: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/announcements",
    tag = "admin",
    security(("bearer" = [])),
    request_body = NewAnnouncement,
    responses(
        (status = 201, description = "Announced", body = Announcement),
        (status = 400, description = "Bad title or body (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
    )
)]
pub async fn announce(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Body(req): Body<NewAnnouncement>,
) -> Result<(StatusCode, Json<Announcement>)> {
    let (title, body) = (req.title.trim(), req.body.trim());
    let mut f = Fields::new();
    f.text("title", title, 1, 100);
    f.text("body", body, 1, 4000);
    f.finish()?;
    let row = store_and_push(state.identity(), admin.user_id, title, body).await?;
    crate::admin::audit::record(
        &state,
        admin.user_id,
        "announcement.create",
        &format!("announcement:{}", row.id),
        serde_json::json!({"title": title}),
    )
    .await?;
    tracing::info!(admin = admin.user_id, id = row.id, "announcement made");
    Ok((StatusCode::CREATED, Json(row)))
}
