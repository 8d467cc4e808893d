//! `videos.purge`: the files of a deleted video — its source, playable MP4 and cover —
//! removed from storage. Queued when an author or an admin deletes a video; the row
//! stays (comments, reports and counts refer to it) with its file keys cleared.

use jobs::{JobContext, JobError};
use serde::{Deserialize, Serialize};

use crate::VideosState;

/// The job kind.
pub const PURGE: &str = "videos.purge";

/// The payload of a [`PURGE`] job.
#[derive(Debug, Serialize, Deserialize)]
pub struct PurgeJob {
    pub video_id: i64,
}

/// Runs one [`PURGE`] job. A video that is not deleted is left alone.
pub async fn run_job(state: &VideosState, job: &JobContext) -> Result<(), JobError> {
    let PurgeJob { video_id } = job.payload_as()?;
    let fail = |e: &dyn std::fmt::Display| JobError::new(e.to_string());
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT source_key FROM videos WHERE id = $1 AND deleted_at IS NOT NULL")
            .bind(video_id)
            .fetch_optional(state.store().pool())
            .await
            .map_err(|e| fail(&e))?;
    let Some((source,)) = row else {
        return Ok(());
    };
    let files = state.files();
    if let Some(key) = source {
        files.delete(&key).await.map_err(|e| fail(&e))?;
    }
    let removed = files
        .delete_prefix(&format!("videos/{video_id}"))
        .await
        .map_err(|e| fail(&e))?;
    sqlx::query(
        "UPDATE videos SET source_key = NULL, video_key = NULL, cover_key = NULL \
         WHERE id = $1 AND deleted_at IS NOT NULL",
    )
    .bind(video_id)
    .execute(state.store().writer())
    .await
    .map_err(|e| fail(&e))?;
    tracing::info!(video_id, removed, "deleted video's files removed");
    Ok(())
}
