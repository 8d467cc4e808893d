//! `DELETE /api/v1/videos/{id}`: the author deletes their video. The row is marked
//! (`deleted_at`) at once, so it vanishes everywhere, and a `videos.purge` job removes its
//! files; the job is enqueued in the same transaction, so it exists if and only if the
//! deletion does.

use axum::extract::State;
use axum::http::StatusCode;
use sqlx::{Any, Transaction};

use crate::access::{own, Viewer};
use crate::purge::PURGE;
use crate::VideosState;
use api::error::Result;
use api::http::{Auth, IdPath};

#[utoipa::path(
    delete,
    path = "/api/v1/videos/{id}",
    tag = "videos",
    params(("id" = i64, Path, description = "Video id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Someone else's video (`not_video_author`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such video (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn delete_video(
    State(state): State<VideosState>,
    auth: Auth,
    IdPath(id): IdPath,
) -> Result<StatusCode> {
    own(&state, id, Viewer::from_auth(&auth)).await?;
    let mut tx = state.store().begin().await?;
    soft_delete(&state, &mut tx, id).await?;
    tx.commit().await?;
    state.jobs().wake();
    Ok(StatusCode::NO_CONTENT)
}

/// Marks video `id` deleted and enqueues the purge of its files, in `tx`. Returns
/// whether it was not deleted before (a repeat enqueues nothing).
pub async fn soft_delete(
    state: &VideosState,
    tx: &mut Transaction<'static, Any>,
    id: i64,
) -> Result<bool> {
    let now = kit::time::now_ms();
    let changed = sqlx::query(
        "UPDATE videos SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed > 0 {
        state
            .jobs()
            .enqueue_in(
                &mut *tx,
                PURGE,
                serde_json::json!({ "video_id": id }),
                jobs::Enqueue::default().unique_key(format!("{PURGE}:{id}")),
            )
            .await?;
    }
    Ok(changed > 0)
}
