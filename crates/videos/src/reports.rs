//! `POST /api/v1/reports`: report a video, a comment or a user, with a reason. The target
//! must exist; a reporter has at most one open report per target (a second is 409
//! `already_reported`, kept by a unique index on open reports, so concurrent repeats
//! cannot slip through). Admins work through them under `/api/v1/admin/reports`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::errors::VideoError;
use crate::VideosState;
use api::error::Result;
use api::http::{Auth, Body, Fields};

/// What can be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Video,
    Comment,
    User,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Video => "video",
            TargetKind::Comment => "comment",
            TargetKind::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<TargetKind> {
        Some(match s {
            "video" => TargetKind::Video,
            "comment" => TargetKind::Comment,
            "user" => TargetKind::User,
            _ => return None,
        })
    }
}

/// Longest reason, in characters.
pub const MAX_REASON: usize = 500;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    pub target_kind: TargetKind,
    pub target_id: i64,
    /// 1 to 500 characters.
    pub reason: String,
}

/// A report as its reporter sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportReceipt {
    pub id: i64,
    pub target_kind: TargetKind,
    pub target_id: i64,
    pub reason: String,
    /// `open` until an admin decides.
    pub status: String,
    pub created_at: i64,
}

/// Whether the target exists (and is not already gone: deleted videos and comments,
/// deleted users).
pub async fn target_exists(state: &VideosState, kind: TargetKind, id: i64) -> Result<bool> {
    let sql = match kind {
        TargetKind::Video => "SELECT 1 FROM videos WHERE id = $1 AND deleted_at IS NULL",
        TargetKind::Comment => "SELECT 1 FROM video_comments WHERE id = $1 AND deleted_at IS NULL",
        TargetKind::User => "SELECT 1 FROM users WHERE id = $1",
    };
    let found: Option<i64> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(state.store().pool())
        .await?;
    Ok(found.is_some())
}

#[utoipa::path(
    post,
    path = "/api/v1/reports",
    tag = "videos",
    request_body = NewReport,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Reported", body = ReportReceipt),
        (status = 400, description = "Empty or too long reason (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such target (`target_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "The caller's earlier report of it is still open (`already_reported`)", body = kit::error::ErrorBody),
        (status = 422, description = "Unknown kind or malformed body (`invalid_body`)", body = kit::error::ErrorBody),
    )
)]
pub async fn report(
    State(state): State<VideosState>,
    auth: Auth,
    Body(req): Body<NewReport>,
) -> Result<(StatusCode, Json<ReportReceipt>)> {
    let reason = req.reason.trim();
    let mut fields = Fields::new();
    fields.text("reason", reason, 1, MAX_REASON);
    fields.finish()?;
    if req.target_id <= 0 || !target_exists(&state, req.target_kind, req.target_id).await? {
        return Err(VideoError::TargetNotFound.into());
    }
    let now = kit::time::now_ms();
    let inserted: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO reports (reporter_id, target_kind, target_id, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(auth.user_id)
    .bind(req.target_kind.as_str())
    .bind(req.target_id)
    .bind(reason)
    .bind(now)
    .fetch_one(state.store().writer())
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(e) if store::is_unique_violation(&e) => return Err(VideoError::AlreadyReported.into()),
        Err(e) => return Err(e.into()),
    };
    Ok((
        StatusCode::CREATED,
        Json(ReportReceipt {
            id,
            target_kind: req.target_kind,
            target_id: req.target_id,
            reason: reason.to_string(),
            status: "open".into(),
            created_at: now,
        }),
    ))
}
