//! `GET /files/videos/{id}/{name}`: a video's MP4 or cover, with range requests (players
//! seek by asking for byte ranges), entity tags and cache headers.
//!
//! A file is served only while it is the video's current file (`video_key` or
//! `cover_key`) and only to those who may see the video: anyone for a public, listed
//! one; the author, admins and (for followers-only videos) followers otherwise —
//! everyone else gets 404, as if it did not exist. Sources and upload chunks are never
//! served. The body streams from storage; nothing is held in memory.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use kit::ApiError;

use crate::errors::VideoError;
use crate::model::Gate;
use crate::VideosState;
use api::auth::Role;
use api::error::Result;
use api::http::range::{self, ByteRange};
use api::http::MaybeAuth;

/// How long browsers and CDNs may keep a public file. Files are stored under random
/// names that change when a video is processed again, so a long time is safe; a hidden
/// video stops being served here at once, though caches may keep it this long.
const PUBLIC_MAX_AGE_SECS: u64 = 3600;

#[derive(sqlx::FromRow)]
struct Access {
    author_id: i64,
    visibility: String,
    status: String,
    hidden: i64,
    deleted_at: Option<i64>,
    video_key: Option<String>,
    cover_key: Option<String>,
    follows: i64,
}

fn not_found() -> ApiError {
    ApiError::from(VideoError::FileNotFound)
}

/// Serves `/files/{*key}`.
pub async fn serve(
    State(state): State<VideosState>,
    auth: MaybeAuth,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let id = video_of(&key).ok_or_else(not_found)?;
    let viewer = auth.viewer_id();
    let access: Option<Access> = sqlx::query_as(
        "SELECT author_id, visibility, status, hidden, deleted_at, video_key, cover_key, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $1 \
              AND f.followee_id = videos.author_id) THEN 1 ELSE 0 END AS BIGINT) AS follows \
         FROM videos WHERE id = $2",
    )
    .bind(viewer)
    .bind(id)
    .fetch_optional(state.store().pool())
    .await?;
    let access = access.ok_or_else(not_found)?;
    let current = access.video_key.as_deref() == Some(key.as_str())
        || access.cover_key.as_deref() == Some(key.as_str());
    let gate = Gate {
        author_id: access.author_id,
        visibility: &access.visibility,
        status: &access.status,
        hidden: access.hidden,
        deleted_at: access.deleted_at,
    };
    let public = gate.is_public();
    let admin = auth.0.is_some_and(|a| a.role == Role::Admin);
    if !current || !gate.can_see(viewer, admin, access.follows != 0) {
        return Err(not_found().into());
    }

    let files = state.files();
    let meta = files
        .head(&key)
        .await
        .map_err(storage_error)?
        .ok_or_else(not_found)?;
    let etag = format!(
        "\"{}\"",
        meta.e_tag
            .as_deref()
            .unwrap_or("")
            .trim_matches('"')
            .replace('"', "")
    );
    let mut out = HeaderMap::new();
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // An uploaded file is served as what its name says, never as what a browser guesses
    // from its bytes (a "video" that is really HTML must not run as a page here).
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&key)),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&meta.last_modified.to_rfc2822().replace("+0000", "GMT")) {
        out.insert(header::LAST_MODIFIED, v);
    }
    let cache = if public {
        out.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        format!("public, max-age={PUBLIC_MAX_AGE_SECS}")
    } else {
        "private, no-cache".to_owned()
    };
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&cache).expect("ASCII"),
    );

    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }

    let size = meta.size;
    let (status, wanted) =
        match range::parse(headers.get(header::RANGE).map(|v| v.as_bytes()), size) {
            ByteRange::Full => (StatusCode::OK, None),
            ByteRange::Part(r) => {
                let v = format!("bytes {}-{}/{size}", r.start, r.end - 1);
                out.insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&v).expect("ASCII"),
                );
                (StatusCode::PARTIAL_CONTENT, Some(r))
            }
            ByteRange::Unsatisfiable => {
                let mut res = VideoError::RangeNotSatisfiable
                    .with_message(format!("the file has {size} bytes"))
                    .into_response();
                res.headers_mut().insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{size}")).expect("ASCII"),
                );
                return Ok(res);
            }
        };
    let length = wanted.as_ref().map_or(size, |r| r.end - r.start);
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    let body = if length == 0 {
        Body::empty()
    } else {
        let got = files.get(&key, wanted).await.map_err(storage_error)?;
        Body::from_stream(got.into_stream().map(|r| r.map_err(std::io::Error::other)))
    };
    metrics::counter!("video_file_bytes_total").increment(length);
    Ok((status, out, body).into_response())
}

/// The video id of a servable key `videos/{id}/{name}`.
fn video_of(key: &str) -> Option<i64> {
    let mut parts = key.split('/');
    let (Some("videos"), Some(id), Some(name), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    if !plain {
        return None;
    }
    id.parse().ok().filter(|id: &i64| *id > 0)
}

fn content_type(key: &str) -> &'static str {
    match key.rsplit('.').next() {
        Some("mp4") => "video/mp4",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn storage_error(e: object_store::Error) -> ApiError {
    if matches!(e, object_store::Error::NotFound { .. }) {
        return not_found();
    }
    tracing::error!(error = %e, "video storage failed");
    ApiError::unavailable("video storage is unavailable; try again shortly")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_videos_own_files_are_servable_keys() {
        assert_eq!(video_of("videos/12/ab3.mp4"), Some(12));
        assert_eq!(video_of("videos/12/ab3.jpg"), Some(12));
        for bad in [
            "sources/abc",
            "uploads/x/000001",
            "videos/12",
            "videos/12/../../sources/abc",
            "videos/0/a.mp4",
            "videos/-1/a.mp4",
            "videos/12/.hidden",
            "videos/x/a.mp4",
            "videos/12/a/b.mp4",
            "",
        ] {
            assert_eq!(video_of(bad), None, "{bad}");
        }
    }
}
