//! The report queue: `GET /api/v1/admin/reports?status=open` (newest first, cursor
//! paged, each with what its target is now and how many open reports it has), and `POST /api/v1/admin/reports/{id}/resolve` deciding one:
//! `hide` (a video vanishes for all but its author and admins, a comment from the
//! lists), `delete` (a soft
//! delete; a video's files are purged by a `videos.purge` job), `dismiss`, or `ban_author`
//! (through the same code as the admin ban). A report is decided once: deciding it again
//! is 409 `report_already_resolved`.

use axum::extract::State;
use axum::Json;
use kit::ApiError;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use crate::admin::errors::AdminError;
use crate::error::Result;
use crate::http::{Admin, Body, Cursor, Fields, IdPath, Page, PageQuery, Query};
use crate::videos::delete::soft_delete;
use crate::videos::delete_comment::{hide_comment, soft_delete_comment};
use crate::videos::reports::TargetKind;
use crate::AppState;

#[derive(Debug, sqlx::FromRow)]
struct ReportRow {
    id: i64,
    reporter_id: i64,
    target_kind: String,
    target_id: i64,
    reason: String,
    status: String,
    handled_by: Option<i64>,
    handled_at: Option<i64>,
    note: Option<String>,
    created_at: i64,
    reporter_username: Option<String>,
}

/// A report as admins see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminReport {
    pub id: i64,
    pub reporter_id: i64,
    pub reporter_username: Option<String>,
    /// `video`, `comment` or `user`.
    pub target_kind: String,
    pub target_id: i64,
    /// What the target is now: for a video `{title, author_id, author_username, status,
    /// visibility, hidden, deleted}`, for a comment `{body, author_id, author_username,
    /// video_id, hidden, deleted}`, for a user `{username, nickname, status}`; `null`
    /// when it no longer exists.
    #[schema(value_type = Object)]
    pub target: serde_json::Value,
    /// Open reports of the same target, this one included.
    pub open_reports_of_target: i64,
    pub reason: String,
    /// `open`, `hidden`, `deleted`, `dismissed` or `banned`.
    pub status: String,
    pub handled_by: Option<i64>,
    pub handled_at: Option<i64>,
    pub note: Option<String>,
    pub created_at: i64,
}

const REPORT_COLUMNS: &str = "r.id, r.reporter_id, r.target_kind, r.target_id, r.reason, \
     r.status, r.handled_by, r.handled_at, r.note, r.created_at, u.username AS reporter_username";

#[derive(sqlx::FromRow)]
struct VideoTarget {
    title: String,
    author_id: i64,
    username: String,
    status: String,
    visibility: String,
    hidden: i64,
    deleted_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct CommentTarget {
    body: String,
    user_id: i64,
    username: String,
    video_id: i64,
    hidden: i64,
    deleted_at: Option<i64>,
}

/// The target of a report as it is now, and its author (the user, for a user).
async fn describe(
    state: &AppState,
    kind: &str,
    id: i64,
) -> Result<(serde_json::Value, Option<i64>)> {
    let pool = state.store().pool();
    Ok(match TargetKind::parse(kind) {
        Some(TargetKind::Video) => {
            let t = sqlx::query_as::<_, VideoTarget>(
                "SELECT v.title, v.author_id, u.username, v.status, v.visibility, v.hidden, \
                        v.deleted_at FROM videos v JOIN users u ON u.id = v.author_id WHERE v.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?;
            match t {
                Some(t) => (
                    serde_json::json!({
                        "title": t.title, "author_id": t.author_id, "author_username": t.username,
                        "status": t.status, "visibility": t.visibility, "hidden": t.hidden != 0,
                        "deleted": t.deleted_at.is_some(),
                    }),
                    Some(t.author_id),
                ),
                None => (serde_json::Value::Null, None),
            }
        }
        Some(TargetKind::Comment) => {
            let t = sqlx::query_as::<_, CommentTarget>(
                "SELECT c.body, c.user_id, u.username, c.video_id, c.hidden, c.deleted_at \
                 FROM video_comments c JOIN users u ON u.id = c.user_id WHERE c.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?;
            match t {
                Some(t) => (
                    serde_json::json!({
                        "body": t.body, "author_id": t.user_id, "author_username": t.username,
                        "video_id": t.video_id, "hidden": t.hidden != 0,
                        "deleted": t.deleted_at.is_some(),
                    }),
                    Some(t.user_id),
                ),
                None => (serde_json::Value::Null, None),
            }
        }
        Some(TargetKind::User) => {
            let t: Option<(String, String, String)> =
                sqlx::query_as("SELECT username, nickname, status FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?;
            match t {
                Some((username, nickname, status)) => (
                    serde_json::json!({
                        "username": username, "nickname": nickname, "status": status,
                    }),
                    Some(id),
                ),
                None => (serde_json::Value::Null, None),
            }
        }
        None => (serde_json::Value::Null, None),
    })
}

async fn view(state: &AppState, r: ReportRow) -> Result<AdminReport> {
    let (target, _) = describe(state, &r.target_kind, r.target_id).await?;
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reports \
         WHERE target_kind = $1 AND target_id = $2 AND status = 'open'",
    )
    .bind(&r.target_kind)
    .bind(r.target_id)
    .fetch_one(state.store().pool())
    .await?;
    Ok(AdminReport {
        id: r.id,
        reporter_id: r.reporter_id,
        reporter_username: r.reporter_username,
        target_kind: r.target_kind,
        target_id: r.target_id,
        target,
        open_reports_of_target: open,
        reason: r.reason,
        status: r.status,
        handled_by: r.handled_by,
        handled_at: r.handled_at,
        note: r.note,
        created_at: r.created_at,
    })
}

/// `?status=open&limit=…&cursor=…`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `open` (default), `hidden`, `deleted`, `dismissed`, `banned` or `all`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

const STATUSES: [&str; 5] = ["open", "hidden", "deleted", "dismissed", "banned"];

#[utoipa::path(
    get,
    path = "/api/v1/admin/reports",
    tag = "admin",
    params(ReportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reports, newest first, with their targets", body = Page<AdminReport>),
        (status = 400, description = "Bad status (`invalid_status`), cursor or limit", body = kit::error::ErrorBody),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_reports(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<ReportQuery>,
) -> Result<Json<Page<AdminReport>>> {
    let (limit, cursor) = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .resolve()?;
    let status = q.status.as_deref().unwrap_or("open");
    if status != "all" && !STATUSES.contains(&status) {
        return Err(AdminError::InvalidStatus.into());
    }
    let rows = sqlx::query_as::<_, ReportRow>(&format!(
        "SELECT {REPORT_COLUMNS} FROM reports r LEFT JOIN users u ON u.id = r.reporter_id \
         WHERE ($1 = 'all' OR r.status = $1) AND r.id < $2 ORDER BY r.id DESC LIMIT $3"
    ))
    .bind(status)
    .bind(cursor.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    let page = Page::from_rows(rows, limit, |r| Cursor {
        key: r.id,
        id: r.id,
    });
    let mut items = Vec::with_capacity(page.items.len());
    for r in page.items {
        items.push(view(&state, r).await?);
    }
    Ok(Json(Page {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// An admin's decision on a report.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Hide the video or comment (not for users).
    Hide,
    /// Delete the video or comment (not for users).
    Delete,
    /// Nothing wrong.
    Dismiss,
    /// Ban the target's author (or the reported user).
    BanAuthor,
}

impl Action {
    fn status(self) -> &'static str {
        match self {
            Action::Hide => "hidden",
            Action::Delete => "deleted",
            Action::Dismiss => "dismissed",
            Action::BanAuthor => "banned",
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    pub action: Action,
    /// Up to 500 characters, kept with the report.
    pub note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/reports/{id}/resolve",
    tag = "admin",
    params(("id" = i64, Path, description = "Report id")),
    request_body = Resolve,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Decided", body = AdminReport),
        (status = 400, description = "A note too long (`validation_failed`), or banning oneself (`cannot_ban_self`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such report (`report_not_found`) or its target is gone (`target_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Already decided (`report_already_resolved`)", body = kit::error::ErrorBody),
        (status = 422, description = "`hide`/`delete` on a user (`action_not_applicable`), unknown action (`invalid_body`)", body = kit::error::ErrorBody),
    )
)]
pub async fn resolve_report(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
    Body(req): Body<Resolve>,
) -> Result<Json<AdminReport>> {
    let mut fields = Fields::new();
    if let Some(n) = &req.note {
        fields.text("note", n, 0, 500);
    }
    fields.finish()?;
    let row = load(&state, id).await?;
    if row.status != "open" {
        return Err(already());
    }
    let kind = TargetKind::parse(&row.target_kind);
    let (_, author) = describe(&state, &row.target_kind, row.target_id).await?;
    if matches!(req.action, Action::Hide | Action::Delete) && kind == Some(TargetKind::User) {
        return Err(AdminError::ActionNotApplicable.into());
    }
    if matches!(req.action, Action::BanAuthor) {
        match author {
            None => return Err(AdminError::TargetNotFound.into()),
            Some(a) if a == admin.user_id => return Err(AdminError::CannotBanSelf.into()),
            Some(_) => {}
        }
    }
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    // Claim the report first: of two admins deciding at once, one wins, the other gets 409.
    let claimed = sqlx::query(
        "UPDATE reports SET status = $1, handled_by = $2, handled_at = $3, note = $4 \
         WHERE id = $5 AND status = 'open'",
    )
    .bind(req.action.status())
    .bind(admin.user_id)
    .bind(now)
    .bind(req.note.as_deref())
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 0 {
        return Err(already());
    }
    match (req.action, kind) {
        (Action::Hide, Some(TargetKind::Video)) => {
            set_hidden(&mut tx, "videos", row.target_id).await?
        }
        (Action::Hide, Some(TargetKind::Comment)) => {
            hide_comment(&mut tx, row.target_id).await?;
        }
        (Action::Delete, Some(TargetKind::Video)) => {
            soft_delete(state.videos(), &mut tx, row.target_id).await?;
        }
        (Action::Delete, Some(TargetKind::Comment)) => {
            soft_delete_comment(&mut tx, row.target_id).await?;
        }
        _ => {}
    }
    tx.commit().await?;
    if let (Action::BanAuthor, Some(author)) = (req.action, author) {
        // The decision is recorded first; should the ban fail, it can be done again
        // from the user's page.
        crate::admin::ban_user::ban(&state, admin.user_id, author).await?;
    }
    if matches!(req.action, Action::Delete) {
        state.jobs().wake();
    }
    crate::admin::audit::record(
        &state,
        admin.user_id,
        "report.resolve",
        &format!("report:{id}"),
        serde_json::json!({
            "action": req.action.status(),
            "target": format!("{}:{}", row.target_kind, row.target_id),
            "note": req.note,
        }),
    )
    .await?;
    tracing::info!(
        admin = admin.user_id,
        report = id,
        action = req.action.status(),
        "report decided"
    );
    let row = load(&state, id).await?;
    Ok(Json(view(&state, row).await?))
}

fn already() -> crate::error::Error {
    ApiError::from(AdminError::ReportAlreadyResolved).into()
}

async fn load(state: &AppState, id: i64) -> Result<ReportRow> {
    sqlx::query_as::<_, ReportRow>(&format!(
        "SELECT {REPORT_COLUMNS} FROM reports r LEFT JOIN users u ON u.id = r.reporter_id \
         WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(state.store().pool())
    .await?
    .ok_or_else(|| AdminError::ReportNotFound.into())
}

/// Hides a video or comment (`table`), in `tx`.
pub async fn set_hidden(tx: &mut Transaction<'static, Any>, table: &str, id: i64) -> Result<()> {
    sqlx::query(&format!("UPDATE {table} SET hidden = 1 WHERE id = $1"))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
