//! Video storage on an S3-compatible server (`storage_url = "s3://bucket"`): uploads in
//! several parts, resumable uploads joined in the store, refused uploads leaving no
//! object, and (with ffmpeg) processing and range requests served from S3.
//!
//! Needs an S3-compatible server: switched on by MOMO_TEST_S3_URL (CI runs the `moto`
//! server from PyPI: `moto_server -H 127.0.0.1 -p 5000`, and sets
//! MOMO_TEST_S3_URL=http://127.0.0.1:5000).

use crate::common;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use common::videos::{fake_mp4, make_clip, upload};
use common::{Backend, TestServer};

pub(crate) fn s3_url() -> Option<String> {
    let url = std::env::var("MOMO_TEST_S3_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!(
            "\n*** SKIPPED: video storage on S3. Run an S3-compatible server (e.g. \
             `pip install 'moto[server]' && moto_server -p 5000`) and set \
             MOMO_TEST_S3_URL=http://127.0.0.1:5000 to run it. ***\n"
        );
    }
    url
}

/// A new bucket on the S3-compatible server at `endpoint`, named after `prefix`, the
/// process and the time.
pub(crate) async fn new_bucket(endpoint: &str, prefix: &str) -> String {
    let bucket = format!("{prefix}-{}-{}", std::process::id(), kit_now());
    let res = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "create bucket: {}", res.status());
    bucket
}

/// The keys in `bucket`.
async fn keys(endpoint: &str, bucket: &str) -> Vec<String> {
    let xml = reqwest::get(format!("{endpoint}/{bucket}?list-type=2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    xml.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn videos_live_in_s3_compatible_storage() {
    let Some(endpoint) = s3_url() else {
        return;
    };
    let bucket = new_bucket(&endpoint, "momo-test").await;

    // Without ffprobe first: processing then keeps the (fake) sources for the test to read.
    let s = TestServer::start_with(Backend::Sqlite, s3(&endpoint, &bucket, false)).await;
    let ana = s.register("ana").await;

    // 12 MiB: three parts of a multipart upload.
    let big = fake_mp4(12 * 1024 * 1024 + 123);
    let (status, v) = upload(&s, Some(&ana.token), Some(("big.mp4", big.clone())), &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let state = s.app_state().await;
    let (key,): (String,) = sqlx::query_as("SELECT source_key FROM videos WHERE id = $1")
        .bind(v["id"].as_i64().unwrap())
        .fetch_one(state.store().pool())
        .await
        .unwrap();
    let stored = reqwest::get(format!("{endpoint}/{bucket}/{key}"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(stored == big, "stored in S3 byte for byte");

    // Refused uploads leave no object behind, even after parts went up.
    let before = keys(&endpoint, &bucket).await;
    let (status, body) = upload(
        &s,
        Some(&ana.token),
        Some(("huge.mp4", fake_mp4(21 * 1024 * 1024))),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, _) = upload(
        &s,
        Some(&ana.token),
        Some(("a.mp4", b"not a video at all".repeat(20))),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // (Processing may meanwhile remove the earlier fake source; nothing may be added.)
    let after = keys(&endpoint, &bucket).await;
    assert!(
        after.iter().all(|k| before.contains(k)),
        "new objects: {after:?} after {before:?}"
    );

    // A resumable upload: chunks stored as objects, joined into the source.
    let file = fake_mp4(300_000);
    let (_, up) = s
        .post(
            "/api/v1/uploads",
            Some(&ana.token),
            json!({"length": file.len(), "title": "pieces"}),
        )
        .await;
    let id = up["id"].as_str().unwrap();
    let mut offset = 0;
    for piece in file.chunks(128 * 1024) {
        let res = reqwest::Client::new()
            .patch(s.url(&format!("/api/v1/uploads/{id}")))
            .bearer_auth(&ana.token)
            .header("Upload-Offset", offset.to_string())
            .body(piece.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        offset += piece.len();
    }
    let (_, done) = s
        .get(&format!("/api/v1/uploads/{id}"), Some(&ana.token))
        .await;
    assert_eq!(done["complete"], true, "{done}");
    let (key,): (String,) = sqlx::query_as("SELECT source_key FROM videos WHERE id = $1")
        .bind(done["video"]["id"].as_i64().unwrap())
        .fetch_one(state.store().pool())
        .await
        .unwrap();
    let stored = reqwest::get(format!("{endpoint}/{bucket}/{key}"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(stored == file, "the pieces joined in S3");
    assert!(
        !keys(&endpoint, &bucket)
            .await
            .iter()
            .any(|k| k.starts_with("uploads/")),
        "chunks removed"
    );

    s.stop().await;

    if std::env::var("MOMO_TEST_FFMPEG").is_ok_and(|v| v == "1") {
        let s = TestServer::start_with(Backend::Sqlite, s3(&endpoint, &bucket, true)).await;
        let ana = s.register("ana").await;
        let state = s.app_state().await;
        let tmp = tempfile::tempdir().unwrap();
        let h264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"];
        let clip = make_clip(tmp.path(), "clip.mp4", 2, &h264);
        let (status, v) = upload(&s, Some(&ana.token), Some(("clip.mp4", clip)), &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        let deadline = Instant::now() + Duration::from_secs(60);
        let key = loop {
            let (st, key): (String, Option<String>) =
                sqlx::query_as("SELECT status, video_key FROM videos WHERE id = $1")
                    .bind(v["id"].as_i64().unwrap())
                    .fetch_one(state.store().pool())
                    .await
                    .unwrap();
            if st != "processing" {
                assert_eq!(st, "ready");
                break key.unwrap();
            }
            assert!(Instant::now() < deadline, "still processing");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let part = reqwest::Client::new()
            .get(s.url(&format!("/files/{key}")))
            .header("Range", "bytes=0-99")
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.bytes().await.unwrap().len(), 100);
        s.stop().await;
    }
}

/// A server keeping its videos in `bucket`; `tools`: with ffprobe and ffmpeg.
pub(crate) fn s3(endpoint: &str, bucket: &str, tools: bool) -> impl FnOnce(&mut momo::Config) {
    let (endpoint, bucket) = (endpoint.to_owned(), bucket.to_owned());
    move |c| {
        c.app.videos.storage_url = format!("s3://{bucket}");
        c.app.videos.s3_endpoint = endpoint;
        c.app.videos.s3_access_key_id = "test".into();
        c.app.videos.s3_secret_access_key = "test".into();
        c.app.videos.max_upload_bytes = 20 * 1024 * 1024;
        // The resumable upload below sends 128 KiB chunks.
        c.app.videos.min_chunk_bytes = 64 * 1024;
        if !tools {
            c.app.videos.ffprobe = "/nonexistent/ffprobe".into();
        }
    }
}

fn kit_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}
