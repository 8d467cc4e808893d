//! A new video from a stored source file: the row, its hashtags and the processing job,
//! in one transaction. Uploads, resumable uploads and recorded live sessions all end here.

use kit::ApiError;
use serde::Deserialize;

use super::model::{collect_hashtags, Visibility, VIDEO_COLUMNS, VIDEO_FROM};
use super::process::{ProcessJob, PROCESS};
use crate::errors::VideoError;
use crate::VideosState;
use api::error::Result;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// What the author says about a new video.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct VideoMeta {
    pub title: String,
    pub description: String,
    /// Hashtags, with or without `#`; `#tags` in the description count too.
    pub hashtags: Vec<String>,
    /// `public` (default), `followers` or `private`.
    pub visibility: Option<String>,
}

/// [`VideoMeta`] checked: trimmed, within limits, hashtags normalized.
#[derive(Debug, Clone)]
pub struct CheckedMeta {
    pub title: String,
    pub description: String,
    pub hashtags: Vec<String>,
    pub visibility: Visibility,
}

impl VideoMeta {
    pub fn check(&self) -> Result<CheckedMeta, ApiError> {
        let title = self.title.trim().to_owned();
        let description = self.description.trim().to_owned();
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(VideoError::TitleTooLong
                .with_message(format!("a title has at most {MAX_TITLE_CHARS} characters")));
        }
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(VideoError::DescriptionTooLong.with_message(format!(
                "a description has at most {MAX_DESCRIPTION_CHARS} characters"
            )));
        }
        let visibility = match self.visibility.as_deref().map(str::trim) {
            None | Some("") => Visibility::Public,
            Some(v) => Visibility::parse(v).ok_or(VideoError::InvalidVisibility)?,
        };
        let hashtags = collect_hashtags(
            self.hashtags.iter().map(String::as_str),
            &format!("{title} {description}"),
        );
        Ok(CheckedMeta {
            title,
            description,
            hashtags,
            visibility,
        })
    }
}

/// A stored source file, and where it came from.
#[derive(Debug, Clone)]
pub struct Source {
    pub key: String,
    /// The client's file name (shown to the author; never used as a path).
    pub name: String,
    pub bytes: u64,
    /// `upload` or `replay`.
    pub kind: &'static str,
    /// The live room and session a replay recorded.
    pub room_id: Option<i64>,
    pub session_id: Option<i64>,
}

/// Creates the video in state `processing` and queues its processing. Returns its id.
pub async fn create(
    state: &VideosState,
    author_id: i64,
    meta: &CheckedMeta,
    source: &Source,
) -> Result<i64> {
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO videos (author_id, kind, title, description, hashtags, visibility, status, \
         source_key, source_name, source_bytes, room_id, session_id, created_at, updated_at, \
         search_text, search_v) \
         VALUES ($1, $2, $3, $4, $5, $6, 'processing', $7, $8, $9, $10, $11, $12, $12, $13, $14) \
         RETURNING id",
    )
    .bind(author_id)
    .bind(source.kind)
    .bind(&meta.title)
    .bind(&meta.description)
    .bind(meta.hashtags.join(" "))
    .bind(meta.visibility.as_str())
    .bind(&source.key)
    .bind(&source.name)
    .bind(source.bytes as i64)
    .bind(source.room_id)
    .bind(source.session_id)
    .bind(now)
    .bind(crate::search::terms(
        &meta.title,
        &meta.description,
        &meta.hashtags.join(" "),
    ))
    .bind(store::search::VERSION)
    .fetch_one(&mut *tx)
    .await?;
    for tag in &meta.hashtags {
        sqlx::query("INSERT INTO video_hashtags (tag, video_id) VALUES ($1, $2)")
            .bind(tag)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let payload =
        serde_json::to_value(ProcessJob { video_id: id }).map_err(api::error::Error::internal)?;
    state
        .jobs()
        .enqueue_in(
            &mut tx,
            PROCESS,
            payload,
            jobs::Enqueue::default().max_attempts(5),
        )
        .await?;
    tx.commit().await?;
    state.jobs().wake();
    metrics::counter!("videos_created_total", "kind" => source.kind).increment(1);
    Ok(id)
}

/// The video `id` as its author sees it.
pub async fn load_for_author(
    state: &VideosState,
    id: i64,
    author_id: i64,
) -> Result<super::model::VideoView> {
    let row: super::model::VideoRow = sqlx::query_as(&format!(
        "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} WHERE v.id = $2"
    ))
    .bind(author_id)
    .bind(id)
    .fetch_one(state.store().writer())
    .await?;
    Ok(super::model::VideoView::new(state, row, author_id, false))
}
