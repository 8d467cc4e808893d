//! `POST/DELETE /api/v1/comments/{id}/like`: like a comment or reply, or take it back.
//! Idempotent; `like_count` moves in the same transaction, only when a row did.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::access::Viewer;
use crate::comments::live_comment;
use crate::VideosState;
use api::error::Result;
use api::http::{Auth, IdPath};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommentLike {
    pub comment_id: i64,
    pub liked: bool,
    pub like_count: i64,
}

async fn set(state: &VideosState, auth: &Auth, id: i64, on: bool) -> Result<CommentLike> {
    let c = live_comment(state, id, Viewer::from_auth(auth)).await?;
    let mut tx = state.store().begin().await?;
    let changed = if on {
        sqlx::query(
            "INSERT INTO comment_likes (comment_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (comment_id, user_id) DO NOTHING",
        )
        .bind(id)
        .bind(auth.user_id)
        .bind(kit::time::now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected()
    } else {
        sqlx::query("DELETE FROM comment_likes WHERE comment_id = $1 AND user_id = $2")
            .bind(id)
            .bind(auth.user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
    };
    let mut like_count = c.like_count;
    if changed > 0 {
        like_count = sqlx::query_scalar(
            "UPDATE video_comments SET like_count = like_count + $1 WHERE id = $2 \
             RETURNING like_count",
        )
        .bind(if on { 1i64 } else { -1 })
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(CommentLike {
        comment_id: id,
        liked: on,
        like_count,
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/comments/{id}/like",
    tag = "videos",
    params(("id" = i64, Path, description = "Comment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Liked (also when already liked)", body = CommentLike),
        (status = 404, description = "No such comment (`comment_not_found`) or video (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn like_comment(
    State(state): State<VideosState>,
    auth: Auth,
    IdPath(id): IdPath,
) -> Result<Json<CommentLike>> {
    Ok(Json(set(&state, &auth, id, true).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/comments/{id}/like",
    tag = "videos",
    params(("id" = i64, Path, description = "Comment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Not liked (also when it was not)", body = CommentLike),
        (status = 404, description = "No such comment (`comment_not_found`) or video (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn unlike_comment(
    State(state): State<VideosState>,
    auth: Auth,
    IdPath(id): IdPath,
) -> Result<Json<CommentLike>> {
    Ok(Json(set(&state, &auth, id, false).await?))
}
