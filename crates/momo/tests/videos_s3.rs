//! Video storage on an S3-compatible server (`storage_url = "s3://bucket"`): uploads in
//! several parts, resumable uploads joined in the store, refused uploads leaving no
//! object, and (with ffmpeg) processing and range requests served from S3.
//!
//! Needs an S3-compatible server: switched on by MOMO_TEST_S3_URL (CI runs the `moto`
//! server from PyPI: `moto_server -H 127.0.0.1 -p 5000`, and sets
//! MOMO_TEST_S3_URL=http://127.0.0.1:5000).

mod common;

use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

use common::{Backend, TestServer};

fn s3_url() -> Option<String> {
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

fn fake_mp4(len: usize) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 24];
    b.extend_from_slice(b"ftypisom");
    b.extend((0..len.saturating_sub(12)).map(|i| (i % 251) as u8));
    b
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

async fn upload(s: &TestServer, token: &str, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned()));
    let res = reqwest::Client::new()
        .post(s.url("/api/v1/videos"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn videos_live_in_s3_compatible_storage() {
    let Some(endpoint) = s3_url() else {
        return;
    };
    let bucket = format!("momo-test-{}-{}", std::process::id(), kit_now());
    let res = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "create bucket: {}", res.status());

    let ep = endpoint.clone();
    let b = bucket.clone();
    let s = TestServer::start_with(Backend::Sqlite, move |c| {
        c.app.videos.storage_url = format!("s3://{b}");
        c.app.videos.s3_endpoint = ep;
        c.app.videos.s3_access_key_id = "test".into();
        c.app.videos.s3_secret_access_key = "test".into();
        c.app.videos.max_upload_bytes = 20 * 1024 * 1024;
    })
    .await;
    let ana = s.register("ana").await;

    // 12 MiB: three parts of a multipart upload.
    let big = fake_mp4(12 * 1024 * 1024 + 123);
    let (status, v) = upload(&s, &ana.token, "big.mp4", big.clone()).await;
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
    let (status, body) = upload(&s, &ana.token, "huge.mp4", fake_mp4(21 * 1024 * 1024)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, _) = upload(&s, &ana.token, "a.mp4", b"not a video at all".repeat(20)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(keys(&endpoint, &bucket).await, before, "no new objects");

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

    if std::env::var("MOMO_TEST_FFMPEG").is_ok_and(|v| v == "1") {
        let tmp = tempfile::tempdir().unwrap();
        let clip = tmp.path().join("clip.mp4");
        let ok = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args([
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:rate=25:duration=2",
            ])
            .args(["-f", "lavfi", "-i", "sine=duration=2"])
            .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"])
            .arg(&clip)
            .status()
            .unwrap();
        assert!(ok.success());
        let (status, v) = upload(&s, &ana.token, "clip.mp4", std::fs::read(&clip).unwrap()).await;
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
    }
    s.stop().await;
}

fn kit_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}
