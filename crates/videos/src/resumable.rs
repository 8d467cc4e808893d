//! Resumable uploads, for phones on bad networks: the tus protocol's core, with JSON.
//!
//! 1. `POST /api/v1/uploads {length, filename, title, …}` declares the file (its size and
//!    the video's details, checked now) and answers its `id`.
//! 2. `PATCH /api/v1/uploads/{id}` with header `Upload-Offset: N` and the next bytes as
//!    the body (`application/offset+octet-stream` or `application/octet-stream`). `N` must
//!    be exactly how much has arrived (else 409 `offset_mismatch`); bytes past the
//!    declared length are refused (413 `past_declared_length`) and not kept. A chunk cut
//!    off half-way is not counted: the client asks where it stands and sends it again.
//! 3. `GET /api/v1/uploads/{id}` (or `HEAD`) says where it stands (`offset`, also in the
//!    `Upload-Offset` header). When the last byte arrives the chunks are joined into the
//!    video's source and processing starts; the answer carries the new video.
//!
//! `DELETE` cancels. Unfinished uploads are removed `[videos] upload_ttl_secs` after they
//! were declared. Each chunk is kept as its own object until the upload completes, so
//! every chunk but the last must be at least `[videos] min_chunk_bytes` (400
//! `chunk_too_small`, not kept): a 500 MB upload is at most a few thousand objects, never
//! millions of one-byte files. The declared length counts against the user's storage
//! quota from the start (413 `quota_exceeded`).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use kit::ApiError;
use serde::{Deserialize, Serialize};

use super::create::{create, load_for_author, Source, VideoMeta};
use super::model::VideoView;
use super::upload_multipart::{idle_limited, put_error, sniffed, too_large};
use crate::errors::VideoError;
use crate::VideosState;
use api::error::Result;
use api::http::Auth;

/// The job kind that removes expired uploads.
pub const SWEEP: &str = "videos.sweep_uploads";
/// Unfinished uploads one user may have at once.
const MAX_OPEN_PER_USER: i64 = 10;

static UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");

/// Declaring a resumable upload.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUpload {
    /// The file's size in bytes.
    pub length: i64,
    /// The file's name on the device (shown to the author; never used as a path).
    #[serde(default)]
    pub filename: String,
    #[serde(flatten)]
    pub meta: VideoMeta,
}

/// Where a resumable upload stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadView {
    pub id: String,
    pub length: i64,
    /// Bytes received so far: where the next `PATCH` starts.
    pub offset: i64,
    pub complete: bool,
    /// Milliseconds since the Unix epoch after which an unfinished upload is removed.
    pub expires_at: i64,
    /// The video it became, once complete.
    pub video: Option<VideoView>,
}

#[derive(sqlx::FromRow)]
struct UploadRow {
    id: String,
    user_id: i64,
    length: i64,
    received: i64,
    chunk_keys: String,
    filename: String,
    metadata: String,
    video_id: Option<i64>,
    expires_at: i64,
}

const COLUMNS: &str =
    "id, user_id, length, received, chunk_keys, filename, metadata, video_id, expires_at";

#[utoipa::path(
    post,
    path = "/api/v1/uploads",
    tag = "videos",
    security(("bearer" = [])),
    request_body = NewUpload,
    responses(
        (status = 201, description = "Declared; send the bytes with PATCH", body = UploadView),
        (status = 400, description = "`invalid_length`, `invalid_filename`, `title_too_long`, …", body = kit::error::ErrorBody),
        (status = 409, description = "Too many unfinished uploads (`too_many_uploads`)", body = kit::error::ErrorBody),
        (status = 413, description = "Larger than `[videos] max_upload_bytes` (`file_too_large`), or past the user's storage quota (`quota_exceeded`)", body = kit::error::ErrorBody),
    )
)]
pub async fn start(
    State(state): State<VideosState>,
    auth: Auth,
    api::http::Body(req): api::http::Body<NewUpload>,
) -> Result<Response> {
    let limit = state.settings().max_upload_bytes;
    if req.length <= 0 {
        return Err(VideoError::InvalidLength.into());
    }
    if req.length as u64 > limit {
        return Err(too_large(limit).into());
    }
    let filename = if req.filename.is_empty() {
        "video".to_owned()
    } else {
        super::upload_multipart::check_filename(&req.filename)?
    };
    req.meta.check()?;
    super::quota::check(&state, auth.user_id, req.length).await?;
    let now = kit::time::now_ms();
    let (open,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM video_uploads WHERE user_id = $1 AND video_id IS NULL AND expires_at > $2",
    )
    .bind(auth.user_id)
    .bind(now)
    .fetch_one(state.store().pool())
    .await?;
    if open >= MAX_OPEN_PER_USER {
        return Err(VideoError::TooManyUploads
            .with_message(format!(
                "finish or cancel one of your {open} unfinished uploads first"
            ))
            .into());
    }
    let id = super::random_token();
    let expires_at = now + state.settings().upload_ttl_secs as i64 * 1000;
    let metadata =
        serde_json::to_string(&StoredMeta::from(&req.meta)).map_err(api::error::Error::internal)?;
    sqlx::query(
        "INSERT INTO video_uploads (id, user_id, length, filename, metadata, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(auth.user_id)
    .bind(req.length)
    .bind(&filename)
    .bind(&metadata)
    .bind(now)
    .bind(expires_at)
    .execute(state.store().writer())
    .await?;
    let view = UploadView {
        id: id.clone(),
        length: req.length,
        offset: 0,
        complete: false,
        expires_at,
        video: None,
    };
    let mut res = (StatusCode::CREATED, Json(view)).into_response();
    let headers = res.headers_mut();
    headers.insert(UPLOAD_OFFSET.clone(), HeaderValue::from(0));
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/uploads/{id}")) {
        headers.insert(axum::http::header::LOCATION, v);
    }
    Ok(res)
}

/// The video's details as kept with an upload until it completes.
#[derive(Serialize, Deserialize)]
struct StoredMeta {
    title: String,
    description: String,
    hashtags: Vec<String>,
    visibility: Option<String>,
}

impl From<&VideoMeta> for StoredMeta {
    fn from(m: &VideoMeta) -> Self {
        StoredMeta {
            title: m.title.clone(),
            description: m.description.clone(),
            hashtags: m.hashtags.clone(),
            visibility: m.visibility.clone(),
        }
    }
}

impl From<StoredMeta> for VideoMeta {
    fn from(m: StoredMeta) -> Self {
        VideoMeta {
            title: m.title,
            description: m.description,
            hashtags: m.hashtags,
            visibility: m.visibility,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/uploads/{id}",
    tag = "videos",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Upload id")),
    responses(
        (status = 200, description = "Where the upload stands (also `Upload-Offset`)", body = UploadView),
        (status = 404, description = "No such upload of yours (`upload_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn status(
    State(state): State<VideosState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response> {
    let row = load(&state, &id, auth.user_id).await?;
    respond(&state, &row, auth.user_id).await
}

#[utoipa::path(
    patch,
    path = "/api/v1/uploads/{id}",
    tag = "videos",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Upload id"),
        ("Upload-Offset" = i64, Header, description = "Bytes already received: where this chunk starts"),
    ),
    request_body(content_type = "application/offset+octet-stream", description = "The next bytes of the file"),
    responses(
        (status = 200, description = "Stored; `offset` says where the next chunk starts", body = UploadView),
        (status = 400, description = "`upload_offset_missing`, or a chunk under `[videos] min_chunk_bytes` that is not the last (`chunk_too_small`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such upload of yours (`upload_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "`offset_mismatch` (the error's message says the current offset) or `upload_complete`", body = kit::error::ErrorBody),
        (status = 413, description = "Bytes past the declared length (`past_declared_length`)", body = kit::error::ErrorBody),
        (status = 415, description = "The first bytes are not a video (`not_a_video`)", body = kit::error::ErrorBody),
    )
)]
pub async fn append(
    State(state): State<VideosState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let row = load(&state, &id, auth.user_id).await?;
    let offset = headers
        .get(&UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or(VideoError::UploadOffsetMissing)?;
    if row.video_id.is_some() {
        return Err(VideoError::UploadComplete.into());
    }
    if offset != row.received {
        return Err(offset_mismatch(row.received).into());
    }
    let remaining = (row.length - row.received) as u64;
    let key = format!("uploads/{id}/{:012}-{}", offset, super::random_token());
    let stream = idle_limited(body.into_data_stream());
    let stored = if offset == 0 {
        state
            .files()
            .put_stream(&key, sniffed(stream).boxed(), remaining)
            .await
    } else {
        state
            .files()
            .put_stream(&key, stream.boxed(), remaining)
            .await
    };
    let n = match stored {
        Ok(n) => n,
        Err(super::storage::PutError::TooLarge(_)) => {
            return Err(VideoError::PastDeclaredLength
                .with_message(format!(
                    "the upload was declared {} bytes long; {} remain",
                    row.length, remaining
                ))
                .into())
        }
        Err(e) => return Err(put_error(e, state.settings().max_upload_bytes).into()),
    };
    let min = state.settings().min_chunk_bytes as i64;
    if n > 0 && (n as i64) < min && offset + (n as i64) < row.length {
        // Each chunk is an object until the upload completes: tiny ones are refused.
        let _ = state.files().delete(&key).await;
        return Err(VideoError::ChunkTooSmall
            .with_message(format!(
                "send chunks of at least {min} bytes (only the last may be shorter)"
            ))
            .into());
    }
    let mut row = row;
    if n > 0 {
        let moved = sqlx::query(
            "UPDATE video_uploads SET received = received + $1, chunk_keys = chunk_keys || $2 \
             WHERE id = $3 AND received = $4 AND video_id IS NULL",
        )
        .bind(n as i64)
        .bind(format!("{key}\n"))
        .bind(&id)
        .bind(offset)
        .execute(state.store().writer())
        .await;
        match moved {
            Ok(done) if done.rows_affected() == 1 => row.received += n as i64,
            other => {
                // Another PATCH got there first (or the database failed): this chunk is
                // not part of the upload.
                let _ = state.files().delete(&key).await;
                other?;
                let now = load(&state, &id, auth.user_id).await?;
                return Err(offset_mismatch(now.received).into());
            }
        }
    } else {
        let _ = state.files().delete(&key).await;
    }
    if row.received == row.length {
        // The last byte is in: join the chunks (the row as stored lists them all) and
        // answer with the video it became.
        let stored = load(&state, &id, auth.user_id).await?;
        if stored.video_id.is_none() {
            complete(&state, &stored).await?;
        }
        row = load(&state, &id, auth.user_id).await?;
    }
    respond(&state, &row, auth.user_id).await
}

#[utoipa::path(
    delete,
    path = "/api/v1/uploads/{id}",
    tag = "videos",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Upload id")),
    responses(
        (status = 204, description = "Cancelled; its chunks are removed"),
        (status = 404, description = "No such upload of yours (`upload_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<VideosState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let row = load(&state, &id, auth.user_id).await?;
    remove(&state, &row.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Joins the chunks into the video's source and creates the video.
async fn complete(state: &VideosState, row: &UploadRow) -> Result<()> {
    let keys: Vec<String> = row.chunk_keys.lines().map(str::to_owned).collect();
    let source_key = format!("sources/{}", super::random_token());
    let files = state.files();
    let size = files
        .concat(&keys, &source_key)
        .await
        .map_err(|e| put_error(e, state.settings().max_upload_bytes))?;
    let meta: VideoMeta = serde_json::from_str::<StoredMeta>(&row.metadata)
        .map_err(api::error::Error::internal)?
        .into();
    let meta = meta.check()?;
    let source = Source {
        key: source_key.clone(),
        name: row.filename.clone(),
        bytes: size,
        kind: "upload",
        room_id: None,
        session_id: None,
    };
    let video_id = match create(state, row.user_id, &meta, &source).await {
        Ok(id) => id,
        Err(e) => {
            let _ = files.delete(&source_key).await;
            return Err(e);
        }
    };
    let claimed =
        sqlx::query("UPDATE video_uploads SET video_id = $1 WHERE id = $2 AND video_id IS NULL")
            .bind(video_id)
            .bind(&row.id)
            .execute(state.store().writer())
            .await?;
    if claimed.rows_affected() == 0 {
        // A concurrent request completed it first; this copy is not needed.
        sqlx::query("DELETE FROM videos WHERE id = $1")
            .bind(video_id)
            .execute(state.store().writer())
            .await?;
        let _ = files.delete(&source_key).await;
        return Ok(());
    }
    if let Err(e) = files.delete_prefix(&format!("uploads/{}", row.id)).await {
        tracing::warn!(upload = %row.id, error = %e, "could not remove upload chunks");
    }
    Ok(())
}

/// Removes uploads that expired unfinished, and the records of completed ones.
pub async fn sweep(state: &VideosState) -> Result<usize> {
    let now = kit::time::now_ms();
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM video_uploads WHERE expires_at < $1 ORDER BY expires_at LIMIT 500",
    )
    .bind(now)
    .fetch_all(state.store().pool())
    .await?;
    for (id,) in &ids {
        remove(state, id).await?;
    }
    Ok(ids.len())
}

async fn remove(state: &VideosState, id: &str) -> Result<()> {
    state
        .files()
        .delete_prefix(&format!("uploads/{id}"))
        .await
        .map_err(|e| api::error::Error::internal(format!("removing upload chunks: {e}")))?;
    sqlx::query("DELETE FROM video_uploads WHERE id = $1")
        .bind(id)
        .execute(state.store().writer())
        .await?;
    Ok(())
}

async fn load(state: &VideosState, id: &str, user_id: i64) -> Result<UploadRow> {
    let row: Option<UploadRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM video_uploads WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(state.store().writer())
    .await?;
    row.filter(|r| {
        r.user_id == user_id && (r.video_id.is_some() || r.expires_at > kit::time::now_ms())
    })
    .ok_or_else(|| VideoError::UploadNotFound.into())
}

async fn respond(state: &VideosState, row: &UploadRow, user_id: i64) -> Result<Response> {
    let video = match row.video_id {
        Some(id) => Some(load_for_author(state, id, user_id).await?),
        None => None,
    };
    let view = UploadView {
        id: row.id.clone(),
        length: row.length,
        offset: row.received,
        complete: row.video_id.is_some(),
        expires_at: row.expires_at,
        video,
    };
    let mut res = Json(view).into_response();
    res.headers_mut()
        .insert(UPLOAD_OFFSET.clone(), HeaderValue::from(row.received));
    Ok(res)
}

fn offset_mismatch(received: i64) -> ApiError {
    VideoError::OffsetMismatch.with_message(format!(
        "the upload has {received} bytes; send the chunk that starts there"
    ))
}
