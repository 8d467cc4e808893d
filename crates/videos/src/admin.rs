//! Videos for operators: `GET /api/v1/admin/videos` lists every video, hidden and
//! deleted ones too (filters `status`, `hidden`), and `POST /api/v1/admin/videos/{id}/hide`
//! / `unhide` take one out of every feed, list and search (its link answers 404 to all
//! but its author and admins) or put it back.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use crate::access::{load_row, Viewer};
use crate::errors::VideoError;
use crate::feed::video_page;
use crate::model::{VideoRow, VideoView, VIDEO_COLUMNS, VIDEO_FROM};
use crate::VideosState;
use api::error::Result;
use api::http::{Admin, IdPath, Page, PageQuery, Query};

/// `?status=…&hidden=…&limit=…&cursor=…`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminVideoQuery {
    /// `processing`, `ready`, `failed` or `deleted`; all when absent.
    pub status: Option<String>,
    /// Only hidden (`true`) or only shown (`false`) videos.
    pub hidden: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/videos",
    tag = "admin",
    params(AdminVideoQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Videos, newest first", body = Page<VideoView>),
        (status = 400, description = "Bad status (`invalid_status`), cursor or limit", body = kit::error::ErrorBody),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_videos(
    State(state): State<VideosState>,
    Admin(admin): Admin,
    Query(q): Query<AdminVideoQuery>,
) -> Result<Json<Page<VideoView>>> {
    let viewer = Viewer::from_auth(&admin);
    let (limit, cursor) = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .resolve()?;
    let mut filter = String::from("v.id < $2");
    match q.status.as_deref() {
        None => {}
        Some("deleted") => filter.push_str(" AND v.deleted_at IS NOT NULL"),
        Some(s @ ("processing" | "ready" | "failed")) => {
            filter.push_str(&format!(" AND v.status = '{s}' AND v.deleted_at IS NULL"))
        }
        Some(_) => {
            return Err(VideoError::InvalidStatus
                .with_message("status must be processing, ready, failed or deleted")
                .into())
        }
    }
    match q.hidden {
        Some(true) => filter.push_str(" AND v.hidden <> 0"),
        Some(false) => filter.push_str(" AND v.hidden = 0"),
        None => {}
    }
    let rows = sqlx::query_as::<_, VideoRow>(&format!(
        "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} WHERE {filter} ORDER BY v.id DESC LIMIT $3"
    ))
    .bind(viewer.id)
    .bind(cursor.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    Ok(Json(video_page(&state, viewer, rows, limit)))
}

async fn set_hidden(
    state: &VideosState,
    admin: &api::http::Auth,
    id: i64,
    hidden: bool,
) -> Result<VideoView> {
    let changed = sqlx::query("UPDATE videos SET hidden = $1 WHERE id = $2")
        .bind(i64::from(hidden))
        .bind(id)
        .execute(state.store().writer())
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(VideoError::VideoNotFound.into());
    }
    api::audit::record(
        state.store(),
        admin.user_id,
        if hidden { "video.hide" } else { "video.unhide" },
        &format!("video:{id}"),
        serde_json::json!({}),
    )
    .await?;
    tracing::info!(
        admin = admin.user_id,
        video = id,
        hidden,
        "video visibility set by an admin"
    );
    let viewer = Viewer::from_auth(admin);
    let row = load_row(state, id, viewer.id)
        .await?
        .ok_or(VideoError::VideoNotFound)?;
    Ok(VideoView::new(state, row, viewer.id, true))
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/videos/{id}/hide",
    tag = "admin",
    params(("id" = i64, Path, description = "Video id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Hidden (also when it was)", body = VideoView),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such video (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn hide_video(
    State(state): State<VideosState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
) -> Result<Json<VideoView>> {
    Ok(Json(set_hidden(&state, &admin, id, true).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/videos/{id}/unhide",
    tag = "admin",
    params(("id" = i64, Path, description = "Video id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Shown again (also when it was not hidden)", body = VideoView),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such video (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn unhide_video(
    State(state): State<VideosState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
) -> Result<Json<VideoView>> {
    Ok(Json(set_hidden(&state, &admin, id, false).await?))
}
