//! `POST /api/v1/videos`: a video in one multipart request (fields `file`, `title`,
//! `description`, `hashtags`, `visibility`, in any order).
//!
//! The file streams to storage as it arrives — never held in memory — under a random key
//! (the client's file name is kept for the author to see, never used as a path). The
//! size limit is checked on every chunk; the first bytes must look like a video
//! container. Whatever goes wrong (too large, not a video, empty, bad fields, the client
//! gone), the partial file is removed and nothing is recorded.

use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use kit::ApiError;

use super::create::{create, load_for_author, Source, VideoMeta};
use super::model::VideoView;
use super::probe::{sniff, SNIFF_BYTES};
use super::storage::PutError;
use crate::errors::VideoError;
use crate::VideosState;
use api::error::Result;
use api::http::Auth;

/// Longest a client may pause mid-upload before the upload is dropped.
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Largest text field of the form.
const MAX_TEXT_FIELD: usize = 16 * 1024;

#[utoipa::path(
    post,
    path = "/api/v1/videos",
    tag = "videos",
    security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "Fields `file` (the video), \
        `title`, `description`, `hashtags` (space- or comma-separated, repeatable) and \
        `visibility` (`public`, `followers`, `private`)."),
    responses(
        (status = 201, description = "Stored; processing has started (`status: processing`)", body = VideoView),
        (status = 400, description = "`file_missing`, `empty_file`, `invalid_filename`, `invalid_multipart`, `title_too_long`, …", body = kit::error::ErrorBody),
        (status = 413, description = "Larger than `[videos] max_upload_bytes` (`file_too_large`), or past the user's storage quota (`quota_exceeded`)", body = kit::error::ErrorBody),
        (status = 415, description = "Not a video container (`not_a_video`)", body = kit::error::ErrorBody),
    )
)]
pub async fn upload(
    State(state): State<VideosState>,
    auth: Auth,
    mut form: Multipart,
) -> Result<(StatusCode, Json<VideoView>)> {
    // Full already: refused before a byte is stored.
    super::quota::check(&state, auth.user_id, 1).await?;
    let mut meta = VideoMeta::default();
    let mut stored: Option<Source> = None;
    let outcome = read_form(&state, &mut form, &mut meta, &mut stored).await;
    let result = match outcome {
        Ok(()) => finish(&state, auth.user_id, &meta, stored.clone()).await,
        Err(e) => Err(e),
    };
    if result.is_err() {
        if let Some(source) = &stored {
            if let Err(e) = state.files().delete(&source.key).await {
                tracing::warn!(key = %source.key, error = %e, "could not remove a refused upload");
            }
        }
    }
    result
}

async fn finish(
    state: &VideosState,
    author: i64,
    meta: &VideoMeta,
    stored: Option<Source>,
) -> Result<(StatusCode, Json<VideoView>)> {
    let meta = meta.check()?;
    let source = stored.ok_or(VideoError::FileMissing)?;
    super::quota::check(state, author, source.bytes as i64).await?;
    let id = create(state, author, &meta, &source).await?;
    Ok((
        StatusCode::CREATED,
        Json(load_for_author(state, id, author).await?),
    ))
}

async fn read_form(
    state: &VideosState,
    form: &mut Multipart,
    meta: &mut VideoMeta,
    stored: &mut Option<Source>,
) -> Result<()> {
    loop {
        let field = match tokio::time::timeout(IDLE_TIMEOUT, form.next_field()).await {
            Err(_) => return Err(idle().into()),
            Ok(r) => r.map_err(multipart_error)?,
        };
        let Some(field) = field else {
            return Ok(());
        };
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "file" => {
                if stored.is_some() {
                    return Err(VideoError::TooManyFiles.into());
                }
                let filename = check_filename(field.file_name().unwrap_or("video"))?;
                *stored = Some(store_file(state, field, filename).await?);
            }
            "title" => meta.title = text(field).await?,
            "description" => meta.description = text(field).await?,
            "hashtags" => meta.hashtags.push(text(field).await?),
            "visibility" => meta.visibility = Some(text(field).await?),
            _ => {
                // Unknown fields are read and dropped, within the text limit.
                text(field).await?;
            }
        }
    }
}

async fn store_file(state: &VideosState, field: Field<'_>, filename: String) -> Result<Source> {
    let limit = state.settings().max_upload_bytes;
    let key = format!("sources/{}", super::random_token());
    let body = sniffed(idle_limited(field)).boxed();
    match state.files().put_stream(&key, body, limit).await {
        Ok(0) => {
            let _ = state.files().delete(&key).await;
            Err(VideoError::EmptyFile.into())
        }
        Ok(bytes) => Ok(Source {
            key,
            name: filename,
            bytes,
            kind: "upload",
            room_id: None,
            session_id: None,
        }),
        Err(e) => Err(put_error(e, limit).into()),
    }
}

/// The API's answer to a failed write of an upload.
pub fn put_error(e: PutError, limit: u64) -> ApiError {
    match e {
        PutError::TooLarge(_) => too_large(limit),
        PutError::Body(msg) if msg == NOT_A_VIDEO => ApiError::from(VideoError::NotAVideo),
        PutError::Body(msg) if msg == IDLE => idle(),
        PutError::Body(msg) => VideoError::InvalidMultipart.with_message(msg),
        PutError::Store(e) => {
            tracing::error!(error = %e, "video storage failed");
            ApiError::unavailable("video storage is unavailable; try again shortly")
        }
        PutError::Io(e) => {
            tracing::error!(error = %e, "video storage failed");
            ApiError::unavailable("video storage is unavailable; try again shortly")
        }
    }
}

pub fn too_large(limit: u64) -> ApiError {
    VideoError::FileTooLarge.with_message(format!("a video is at most {limit} bytes"))
}

fn idle() -> ApiError {
    VideoError::UploadStalled.with_message(format!(
        "no data for {} s; the upload was dropped",
        IDLE_TIMEOUT.as_secs()
    ))
}

const NOT_A_VIDEO: &str = "not a video";
const IDLE: &str = "idle";

/// A request body's chunks, ending in an error when the client pauses longer than
/// [`IDLE_TIMEOUT`] (an upload has no overall time limit, so this is what ends a stalled one).
pub fn idle_limited<S, E>(body: S) -> impl Stream<Item = Result<Bytes, String>>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    futures::stream::unfold(Some(body), |body| async move {
        let mut body = body?;
        match tokio::time::timeout(IDLE_TIMEOUT, body.next()).await {
            Err(_) => Some((Err(IDLE.to_owned()), None)),
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
            Ok(Some(Err(e))) => Some((Err(e.to_string()), None)),
            Ok(None) => None,
        }
    })
}

/// `body`, refused unless its first [`SNIFF_BYTES`] look like a video container. The
/// head is held back until it is checked (at most one chunk more than [`SNIFF_BYTES`]).
pub fn sniffed<S, E>(body: S) -> impl Stream<Item = Result<Bytes, String>>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let start = (Box::pin(body.fuse()), Some(BytesMut::new()));
    futures::stream::unfold(start, |(mut body, head)| async move {
        let Some(mut head) = head else {
            let item = body.next().await?;
            return Some((item.map_err(|e| e.to_string()), (body, None)));
        };
        loop {
            match body.next().await {
                Some(Ok(chunk)) => {
                    head.extend_from_slice(&chunk);
                    if head.len() < SNIFF_BYTES {
                        continue;
                    }
                }
                Some(Err(e)) => return Some((Err(e.to_string()), (body, None))),
                None if head.is_empty() => return None,
                None => {}
            }
            let verdict = if sniff(&head) {
                Ok(head.freeze())
            } else {
                Err(NOT_A_VIDEO.to_owned())
            };
            return Some((verdict, (body, None)));
        }
    })
}

pub fn check_filename(name: &str) -> Result<String, ApiError> {
    let bad = name.is_empty()
        || name.len() > 255
        || name.contains(['/', '\\', '\0'])
        || name.split(['/', '\\']).any(|p| p == "..")
        || name.chars().any(char::is_control);
    if bad {
        return Err(ApiError::from(VideoError::InvalidFilename));
    }
    Ok(name.to_owned())
}

async fn text(mut field: Field<'_>) -> Result<String> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(VideoError::FieldTooLong
                .with_message(format!(
                    "a form field other than `file` has at most {MAX_TEXT_FIELD} bytes"
                ))
                .into());
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::from(VideoError::InvalidText).into())
}

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return VideoError::FileTooLarge.with_message(e.body_text());
    }
    VideoError::InvalidMultipart.with_message(e.body_text())
}
