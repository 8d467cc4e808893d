//! `POST /api/v1/videos/{id}/shares`: the caller shared a video (the app did the
//! sharing); counted at once, and the video's score with it.

use axum::extract::State;
use axum::Json;

use crate::access::{bump, visible, Counter, Counts, Viewer};
use crate::errors::VideoError;
use crate::VideosState;
use api::error::Result;
use api::http::{Auth, IdPath};

#[utoipa::path(
    post,
    path = "/api/v1/videos/{id}/shares",
    tag = "videos",
    params(("id" = i64, Path, description = "Video id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counted; the video's counters", body = Counts),
        (status = 404, description = "No such video the caller may see (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn share(
    State(state): State<VideosState>,
    auth: Auth,
    IdPath(id): IdPath,
) -> Result<Json<Counts>> {
    visible(&state, id, Viewer::from_auth(&auth)).await?;
    let mut tx = state.store().begin().await?;
    let counts = bump(&mut tx, id, Counter::Shares, 1).await?;
    tx.commit().await?;
    let counts = counts.ok_or(VideoError::VideoNotFound)?;
    Ok(Json(counts))
}
