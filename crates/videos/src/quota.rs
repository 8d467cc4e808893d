//! How much storage a user's videos take, against `[videos] user_quota_bytes`: every
//! video not deleted (its upload and its web copy), and the declared length of every
//! unfinished resumable upload. A multipart upload is checked once its size is known,
//! a resumable one when it is declared; either way past the quota is `413
//! quota_exceeded`, and nothing of it is kept.

use crate::errors::VideoError;
use crate::VideosState;
use api::error::Result;

/// Bytes `user`'s videos and unfinished uploads hold now.
pub async fn used(state: &VideosState, user: i64) -> Result<i64> {
    let (videos,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(source_bytes + video_bytes), 0) AS BIGINT) FROM videos \
         WHERE author_id = $1 AND deleted_at IS NULL",
    )
    .bind(user)
    .fetch_one(state.store().pool())
    .await?;
    let (uploads,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(length), 0) AS BIGINT) FROM video_uploads \
         WHERE user_id = $1 AND video_id IS NULL AND expires_at > $2",
    )
    .bind(user)
    .bind(kit::time::now_ms())
    .fetch_one(state.store().pool())
    .await?;
    Ok(videos + uploads)
}

/// Refuses `adding` more bytes for `user` when they would pass the quota (0: none).
pub async fn check(state: &VideosState, user: i64, adding: i64) -> Result<()> {
    let quota = state.settings().user_quota_bytes;
    if quota == 0 {
        return Ok(());
    }
    let used = used(state, user).await?;
    if used.saturating_add(adding) > quota as i64 {
        return Err(VideoError::QuotaExceeded
            .with_message(format!(
                "your videos use {used} of your {quota} bytes; this one needs {adding} more \
                 (delete some first)"
            ))
            .into());
    }
    Ok(())
}
