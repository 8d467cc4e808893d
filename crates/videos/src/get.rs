//! `GET /api/v1/videos/{id}`: one video. Hidden, deleted, private and unfinished videos
//! answer 404 to everyone but their author and admins; followers-only ones also to the
//! author's followers.

use axum::extract::State;
use axum::Json;

use crate::access::{visible, Viewer};
use crate::model::VideoView;
use crate::VideosState;
use api::error::Result;
use api::http::{IdPath, MaybeAuth};

#[utoipa::path(
    get,
    path = "/api/v1/videos/{id}",
    tag = "videos",
    params(("id" = i64, Path, description = "Video id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The video", body = VideoView),
        (status = 404, description = "No such video, or not one the caller may see (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn get_video(
    State(state): State<VideosState>,
    auth: MaybeAuth,
    IdPath(id): IdPath,
) -> Result<Json<VideoView>> {
    let viewer = Viewer::from_maybe(&auth);
    let row = visible(&state, id, viewer).await?;
    Ok(Json(VideoView::new(
        &state,
        row,
        viewer.id,
        viewer.privileged,
    )))
}
