//! `PATCH /api/v1/videos/{id}`: the author changes the title, description, hashtags or
//! visibility. Hashtags are those given (when given) plus those written as `#tag` in the
//! description; `video_hashtags`, which hashtag pages read, is rewritten in the same
//! transaction so the two never disagree.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use sqlx::{Any, Transaction};

use crate::access::{own, visible, Viewer};
use crate::model::{collect_hashtags, split_hashtags, VideoView, Visibility};
use crate::VideosState;
use api::error::Result;
use api::http::{Auth, Body, Fields, IdPath};

/// Longest title, in characters.
pub const MAX_TITLE: usize = 100;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 2000;

/// What to change; absent fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVideo {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Replaces the hashtags (with or without `#`); tags in the description are added.
    pub hashtags: Option<Vec<String>>,
    pub visibility: Option<Visibility>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/videos/{id}",
    tag = "videos",
    params(("id" = i64, Path, description = "Video id")),
    request_body = UpdateVideo,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The video as changed", body = VideoView),
        (status = 400, description = "A field out of bounds (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 403, description = "Someone else's video (`not_video_author`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such video (`video_not_found`)", body = kit::error::ErrorBody),
        (status = 422, description = "A field of the wrong type or unknown (`invalid_body`)", body = kit::error::ErrorBody),
    )
)]
pub async fn update_video(
    State(state): State<VideosState>,
    auth: Auth,
    IdPath(id): IdPath,
    Body(req): Body<UpdateVideo>,
) -> Result<Json<VideoView>> {
    let viewer = Viewer::from_auth(&auth);
    let row = own(&state, id, viewer).await?;
    let mut fields = Fields::new();
    if let Some(t) = &req.title {
        fields.text("title", t.trim(), 0, MAX_TITLE);
    }
    if let Some(d) = &req.description {
        fields.text("description", d, 0, MAX_DESCRIPTION);
    }
    fields.finish()?;
    let title = req.title.as_deref().map(str::trim).unwrap_or(&row.title);
    let description = req.description.as_deref().unwrap_or(&row.description);
    let tags = if req.hashtags.is_some() || req.description.is_some() {
        let given = req
            .hashtags
            .clone()
            .unwrap_or_else(|| split_hashtags(&row.hashtags));
        collect_hashtags(given.iter().map(String::as_str), description)
    } else {
        split_hashtags(&row.hashtags)
    };
    let visibility = req
        .visibility
        .map(Visibility::as_str)
        .unwrap_or(&row.visibility);
    let mut tx = state.store().begin().await?;
    sqlx::query(
        "UPDATE videos SET title = $1, description = $2, hashtags = $3, visibility = $4, \
                updated_at = $5, search_text = $7, search_v = $8 WHERE id = $6",
    )
    .bind(title)
    .bind(description)
    .bind(tags.join(" "))
    .bind(visibility)
    .bind(kit::time::now_ms())
    .bind(id)
    .bind(crate::search::terms(title, description, &tags.join(" ")))
    .bind(store::search::VERSION)
    .execute(&mut *tx)
    .await?;
    set_hashtags(&mut tx, id, &tags).await?;
    tx.commit().await?;
    let row = visible(&state, id, viewer).await?;
    Ok(Json(VideoView::new(
        &state,
        row,
        viewer.id,
        viewer.privileged,
    )))
}

/// Makes `video_hashtags` hold exactly `tags` for video `id`, in `tx`.
pub async fn set_hashtags(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    tags: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM video_hashtags WHERE video_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for tag in tags {
        sqlx::query(
            "INSERT INTO video_hashtags (tag, video_id) VALUES ($1, $2) \
             ON CONFLICT (tag, video_id) DO NOTHING",
        )
        .bind(tag)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
