//! `DELETE /api/v1/comments/{id}`: by its author, the video's author or an admin. The
//! row stays (replies hang off it) with its body emptied and `deleted_at` set; the
//! video's `comment_count` and the parent's `reply_count` drop by one in the same
//! transaction, once however often it is deleted. A comment hidden by moderation stops
//! counting the same way.

use axum::extract::State;
use axum::http::StatusCode;
use sqlx::{Any, Transaction};

use crate::access::{bump, load_row, Counter};
use crate::comments::load_comment;
use crate::errors::VideoError;
use crate::VideosState;
use api::auth::Role;
use api::error::Result;
use api::http::{Auth, IdPath};

#[utoipa::path(
    delete,
    path = "/api/v1/comments/{id}",
    tag = "videos",
    params(("id" = i64, Path, description = "Comment id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted (also when it already was)"),
        (status = 403, description = "Neither the comment's nor the video's author (`not_comment_author`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such comment (`comment_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn delete_comment(
    State(state): State<VideosState>,
    auth: Auth,
    IdPath(id): IdPath,
) -> Result<StatusCode> {
    let c = load_comment(&state, id, auth.user_id).await?;
    let video_author = load_row(&state, c.video_id, 0).await?.map(|v| v.author_id);
    let allowed =
        c.user_id == auth.user_id || video_author == Some(auth.user_id) || auth.role == Role::Admin;
    if !allowed {
        return Err(VideoError::NotCommentAuthor.into());
    }
    let mut tx = state.store().begin().await?;
    soft_delete_comment(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Empties and marks comment `id` deleted, and moves the counts (unless it was hidden,
/// which moved them already), in `tx`. Returns whether it was not deleted before.
pub async fn soft_delete_comment(tx: &mut Transaction<'static, Any>, id: i64) -> Result<bool> {
    let row: Option<(i64, Option<i64>, i64)> = sqlx::query_as(
        "UPDATE video_comments SET body = '', deleted_at = $1 \
         WHERE id = $2 AND deleted_at IS NULL RETURNING video_id, parent_id, hidden",
    )
    .bind(kit::time::now_ms())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((video, parent, hidden)) = row else {
        return Ok(false);
    };
    if hidden == 0 {
        uncount(tx, video, parent).await?;
    }
    Ok(true)
}

/// Hides comment `id` (moderation): it leaves every list and stops counting, in `tx`.
pub async fn hide_comment(tx: &mut Transaction<'static, Any>, id: i64) -> Result<bool> {
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "UPDATE video_comments SET hidden = 1 \
         WHERE id = $1 AND hidden = 0 AND deleted_at IS NULL RETURNING video_id, parent_id",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((video, parent)) = row else {
        return Ok(false);
    };
    uncount(tx, video, parent).await?;
    Ok(true)
}

/// One comment fewer on `video` (and one reply fewer on `parent`).
async fn uncount(
    tx: &mut Transaction<'static, Any>,
    video: i64,
    parent: Option<i64>,
) -> Result<()> {
    if let Some(p) = parent {
        sqlx::query("UPDATE video_comments SET reply_count = reply_count - 1 WHERE id = $1")
            .bind(p)
            .execute(&mut **tx)
            .await?;
    }
    bump(tx, video, Counter::Comments, -1).await?;
    Ok(())
}
