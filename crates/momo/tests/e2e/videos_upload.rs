//! Uploading short videos: in one multipart request and resumably in chunks, what bad
//! uploads get, processing with the real ffprobe/ffmpeg (switched on by
//! MOMO_TEST_FFMPEG=1, which CI sets), and the files served with range requests.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use common::videos::{codecs, fake_mp4, make_clip, probe, upload};
use common::{backends, TestServer};

pub(crate) fn ffmpeg_enabled() -> bool {
    let on = std::env::var("MOMO_TEST_FFMPEG").is_ok_and(|v| v == "1");
    if !on {
        eprintln!(
            "\n*** SKIPPED: video processing with ffmpeg/ffprobe. Install ffmpeg and set \
             MOMO_TEST_FFMPEG=1 to run it. ***\n"
        );
    }
    on
}

/// A bad upload: what it is, its file, its fields, and the answer it must get.
type BadUpload<'a> = (
    &'a str,
    Option<(&'a str, Vec<u8>)>,
    Vec<(&'a str, &'a str)>,
    StatusCode,
    &'a str,
);

/// Every file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// No ffprobe: processing fails as `processing_unavailable` and keeps the source, so a
/// test can read what was stored without racing the job that would remove a fake one.
fn without_processing(c: &mut momo::Config) {
    c.app.videos.ffprobe = "/nonexistent/ffprobe".into();
}

async fn video_count(server: &TestServer) -> i64 {
    let state = server.app_state().await;
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM videos")
        .fetch_one(state.store().pool())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn bad_uploads_get_precise_errors_and_leave_nothing_behind() {
    for backend in backends() {
        let server = TestServer::start_with(backend, |c| {
            c.app.videos.max_upload_bytes = 64 * 1024;
        })
        .await;
        let ana = server.register("ana").await;
        let t = Some(ana.token.as_str());
        let long_title = "x".repeat(101);
        let cases: Vec<BadUpload> = vec![
            (
                "png",
                Some(("a.png", b"\x89PNG\r\n\x1a\n0000000000".repeat(20))),
                vec![],
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "not_a_video",
            ),
            (
                "pdf",
                Some(("a.mp4", b"%PDF-1.7 not a video".repeat(20))),
                vec![],
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "not_a_video",
            ),
            (
                "empty",
                Some(("a.mp4", vec![])),
                vec![],
                StatusCode::BAD_REQUEST,
                "empty_file",
            ),
            (
                "too large",
                Some(("a.mp4", fake_mp4(64 * 1024 + 1))),
                vec![],
                StatusCode::PAYLOAD_TOO_LARGE,
                "file_too_large",
            ),
            (
                "traversal",
                Some(("../../etc/passwd", fake_mp4(1000))),
                vec![],
                StatusCode::BAD_REQUEST,
                "invalid_filename",
            ),
            (
                "backslash",
                Some(("..\\..\\boot.ini", fake_mp4(1000))),
                vec![],
                StatusCode::BAD_REQUEST,
                "invalid_filename",
            ),
            (
                "no file",
                None,
                vec![("title", "hello")],
                StatusCode::BAD_REQUEST,
                "file_missing",
            ),
            (
                "long title",
                Some(("a.mp4", fake_mp4(1000))),
                vec![("title", long_title.as_str())],
                StatusCode::BAD_REQUEST,
                "title_too_long",
            ),
            (
                "visibility",
                Some(("a.mp4", fake_mp4(1000))),
                vec![("visibility", "friends-only")],
                StatusCode::BAD_REQUEST,
                "invalid_visibility",
            ),
        ];
        for (what, file, fields, status, code) in cases {
            let (got, body) = upload(&server, t, file, &fields).await;
            assert_eq!(got, status, "{what}: {body}");
            assert_eq!(body["error"]["code"], code, "{what}: {body}");
        }
        let (got, body) = upload(&server, None, Some(("a.mp4", fake_mp4(100))), &[]).await;
        assert_eq!(got, StatusCode::UNAUTHORIZED, "{body}");
        // Not multipart at all.
        let (got, body) = server
            .post("/api/v1/videos", t, json!({"title": "x"}))
            .await;
        assert_eq!(got, StatusCode::BAD_REQUEST, "{body}");

        assert_eq!(video_count(&server).await, 0, "nothing recorded");
        let left = files_under(&server.data_dir().join("files"));
        assert!(left.is_empty(), "partial files left: {left:?}");
        server.stop().await;
    }
}

#[tokio::test]
async fn an_upload_is_stored_and_its_video_created_in_processing() {
    for backend in backends() {
        let server = TestServer::start_with(backend, without_processing).await;
        let ana = server.register("ana").await;
        let (status, v) = upload(
            &server,
            Some(&ana.token),
            Some(("holiday.mp4", fake_mp4(200_000))),
            &[
                ("title", "Beach day #summer"),
                ("description", "waves and #Sun"),
                ("hashtags", "travel, #Beach"),
                ("visibility", "followers"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        // (Processing, with no ffprobe here, may already have given up on it.)
        assert!(
            ["processing", "failed"].contains(&v["status"].as_str().unwrap_or("")),
            "{v}"
        );
        assert_eq!(v["kind"], "upload");
        assert_eq!(v["visibility"], "followers");
        assert_eq!(v["author"]["id"], ana.id);
        assert_eq!(v["hashtags"], json!(["travel", "beach", "summer", "sun"]));
        assert_eq!(v["play_url"], Value::Null);
        let state = server.app_state().await;
        let (key, bytes, name): (String, i64, String) = sqlx::query_as(
            "SELECT source_key, source_bytes, source_name FROM videos WHERE id = $1",
        )
        .bind(v["id"].as_i64().unwrap())
        .fetch_one(state.store().pool())
        .await
        .unwrap();
        assert_eq!(bytes, 200_000);
        assert_eq!(name, "holiday.mp4");
        assert!(key.starts_with("sources/"), "{key}");
        let stored = std::fs::read(server.data_dir().join("files").join(&key)).unwrap();
        assert_eq!(stored, fake_mp4(200_000), "stored byte for byte");

        // Deleting the video removes its files (the `videos.purge` job).
        let id = v["id"].as_i64().unwrap();
        sqlx::query("UPDATE videos SET deleted_at = 1 WHERE id = $1")
            .bind(id)
            .execute(state.store().writer())
            .await
            .unwrap();
        state
            .jobs()
            .enqueue(
                app::videos::purge::PURGE,
                json!({ "video_id": id }),
                Default::default(),
            )
            .await
            .unwrap();
        let path = server.data_dir().join("files").join(&key);
        let deadline = Instant::now() + Duration::from_secs(10);
        while path.exists() {
            assert!(Instant::now() < deadline, "source not removed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server.stop().await;
    }
}

async fn patch(
    server: &TestServer,
    token: &str,
    id: &str,
    offset: i64,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .patch(server.url(&format!("/api/v1/uploads/{id}")))
        .bearer_auth(token)
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_resumable_upload_continues_where_it_stopped() {
    for backend in backends() {
        let server = TestServer::start_with(backend, |c| {
            without_processing(c);
            c.app.videos.min_chunk_bytes = 50_000;
        })
        .await;
        let ana = server.register("ana").await;
        let bob = server.register("bob").await;
        let file = fake_mp4(300_000);
        let (status, up) = server
            .post(
                "/api/v1/uploads",
                Some(&ana.token),
                json!({"length": file.len(), "filename": "long.mp4", "title": "In pieces", "hashtags": ["chunks"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{up}");
        let id = up["id"].as_str().unwrap().to_owned();
        assert_eq!(up["offset"], 0);

        // A tiny piece that is not the last is refused and not kept.
        let (status, body) = patch(&server, &ana.token, &id, 0, file[..1000].to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], "chunk_too_small");
        // The first piece arrives.
        let (status, body) = patch(&server, &ana.token, &id, 0, file[..100_000].to_vec()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["offset"], 100_000);
        // The phone lost track and resends from the start: refused, with where it stands.
        let (status, body) = patch(&server, &ana.token, &id, 0, file[..100_000].to_vec()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "offset_mismatch");
        // It asks where the upload stands…
        let res = reqwest::Client::new()
            .get(server.url(&format!("/api/v1/uploads/{id}")))
            .bearer_auth(&ana.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["upload-offset"], "100000");
        // …a chunk past the declared length is refused and not kept…
        let mut too_much = file[100_000..].to_vec();
        too_much.extend_from_slice(b"extra");
        let (status, body) = patch(&server, &ana.token, &id, 100_000, too_much).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(body["error"]["code"], "past_declared_length");
        // …someone else's upload is not there for others…
        let (status, _) = patch(&server, &bob.token, &id, 100_000, vec![1, 2, 3]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = patch(&server, &ana.token, &id, 100_000, vec![]).await;
        assert_eq!(
            (status, body["offset"].as_i64()),
            (StatusCode::OK, Some(100_000))
        );
        // …and the rest completes it.
        let (status, body) = patch(
            &server,
            &ana.token,
            &id,
            100_000,
            file[100_000..250_000].to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // The last piece may be short.
        let (status, body) =
            patch(&server, &ana.token, &id, 250_000, file[250_000..].to_vec()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["complete"], true);
        // (Processing, with no ffprobe here, may already have given up on it.)
        let status = body["video"]["status"].as_str().unwrap_or("");
        assert!(["processing", "failed"].contains(&status), "{body}");
        assert_eq!(body["video"]["title"], "In pieces");
        let (status, body) = patch(&server, &ana.token, &id, 300_000, vec![1]).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "upload_complete");

        let state = server.app_state().await;
        let (key,): (String,) = sqlx::query_as("SELECT source_key FROM videos WHERE id = $1")
            .bind(body_id(&server, &ana.token, &id).await)
            .fetch_one(state.store().pool())
            .await
            .unwrap();
        let stored = std::fs::read(server.data_dir().join("files").join(&key)).unwrap();
        assert!(stored == file, "the pieces joined byte for byte");
        let chunks = files_under(&server.data_dir().join("files").join("uploads"));
        assert!(chunks.is_empty(), "chunks removed: {chunks:?}");

        // Bad declarations.
        for (body, status, code) in [
            (
                json!({"length": 0}),
                StatusCode::BAD_REQUEST,
                "invalid_length",
            ),
            (
                json!({"length": 600u64 * 1024 * 1024}),
                StatusCode::PAYLOAD_TOO_LARGE,
                "file_too_large",
            ),
            (
                json!({"length": 10, "filename": "../x.mp4"}),
                StatusCode::BAD_REQUEST,
                "invalid_filename",
            ),
        ] {
            let (got, b) = server.post("/api/v1/uploads", Some(&ana.token), body).await;
            assert_eq!(
                (got, b["error"]["code"].as_str()),
                (status, Some(code)),
                "{b}"
            );
        }
        // A first chunk that is not a video is refused at once.
        let (_, up) = server
            .post("/api/v1/uploads", Some(&ana.token), json!({"length": 500}))
            .await;
        let id2 = up["id"].as_str().unwrap();
        let (status, body) = patch(&server, &ana.token, id2, 0, vec![b'x'; 500]).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
        let (status, _) = server
            .call(
                Method::DELETE,
                &format!("/api/v1/uploads/{id2}"),
                Some(&ana.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        server.stop().await;
    }
}

async fn body_id(server: &TestServer, token: &str, upload: &str) -> i64 {
    let (_, body) = server
        .get(&format!("/api/v1/uploads/{upload}"), Some(token))
        .await;
    body["video"]["id"].as_i64().expect("the upload's video")
}

/// Waits until video `id` leaves `processing`; returns its row's status and reason.
pub(crate) async fn processed(
    server: &TestServer,
    id: i64,
) -> (String, Option<String>, Option<String>) {
    let state = server.app_state().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row: (String, Option<String>, Option<String>) =
            sqlx::query_as("SELECT status, fail_reason, video_key FROM videos WHERE id = $1")
                .bind(id)
                .fetch_one(state.store().pool())
                .await
                .unwrap();
        if row.0 != "processing" {
            return row;
        }
        assert!(
            Instant::now() < deadline,
            "video {id} still processing after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn videos_are_processed_by_ffmpeg_and_served_with_ranges() {
    if !ffmpeg_enabled() {
        return;
    }
    for backend in backends() {
        let server = TestServer::start_with(backend, |c| {
            c.app.videos.max_duration_secs = 4;
        })
        .await;
        let ana = server.register("ana").await;
        let bob = server.register("bob").await;
        let tmp = tempfile::tempdir().unwrap();
        let h264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"];
        let mut fast = h264.to_vec();
        fast.extend(["-movflags", "+faststart"]);
        let clips = [
            (
                "ready.mp4",
                make_clip(tmp.path(), "ready.mp4", 2, &fast),
                "as_is",
            ),
            (
                "slow.mp4",
                make_clip(tmp.path(), "slow.mp4", 2, &h264),
                "remux",
            ),
            (
                "old.avi",
                make_clip(tmp.path(), "old.avi", 2, &["-c:v", "mpeg4", "-c:a", "mp2"]),
                "transcode",
            ),
        ];
        let mut ids = Vec::new();
        for (name, bytes, plan) in &clips {
            let (status, v) = upload(
                &server,
                Some(&ana.token),
                Some((name, bytes.clone())),
                &[("title", name)],
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{name}: {v}");
            ids.push((v["id"].as_i64().unwrap(), *plan));
        }
        for (id, plan) in &ids {
            let (status, reason, key) = processed(&server, *id).await;
            assert_eq!(status, "ready", "{plan}: {reason:?}");
            let key = key.unwrap();
            let url = server.url(&format!("/files/{key}"));
            // ffprobe plays the served file: H.264 and AAC, 320x240, about 2 s.
            let probe = probe(&url).await;
            assert_eq!(codecs(&probe), ["h264", "aac"], "{plan}");
            assert_eq!(probe["streams"][0]["width"], 320, "{plan}");
            let secs: f64 = probe["format"]["duration"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1.5..2.6).contains(&secs), "{plan}: {secs} s");
            // Served as faststart MP4: moov before mdat.
            let head = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
            let moov = head.windows(4).position(|w| w == b"moov").unwrap();
            let mdat = head.windows(4).position(|w| w == b"mdat").unwrap();
            assert!(moov < mdat, "{plan}: faststart");
        }

        // Ranges, tags and headers on one of them.
        let (_, _, key) = processed(&server, ids[0].0).await;
        let url = server.url(&format!("/files/{}", key.unwrap()));
        let client = reqwest::Client::new();
        let full = client.get(&url).send().await.unwrap();
        assert_eq!(full.status(), StatusCode::OK);
        assert_eq!(full.headers()["content-type"], "video/mp4");
        assert_eq!(full.headers()["accept-ranges"], "bytes");
        assert_eq!(full.headers()["x-content-type-options"], "nosniff");
        assert!(full.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age"));
        let etag = full.headers()["etag"].clone();
        let all = full.bytes().await.unwrap();
        let size = all.len();
        let part = client
            .get(&url)
            .header("Range", "bytes=100-199")
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            part.headers()["content-range"],
            format!("bytes 100-199/{size}").as_str()
        );
        assert_eq!(part.bytes().await.unwrap(), all.slice(100..200));
        let tail = client
            .get(&url)
            .header("Range", "bytes=-10")
            .send()
            .await
            .unwrap();
        assert_eq!(tail.bytes().await.unwrap(), all.slice(size - 10..));
        let past = client
            .get(&url)
            .header("Range", format!("bytes={size}-"))
            .send()
            .await
            .unwrap();
        assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(
            past.headers()["content-range"],
            format!("bytes */{size}").as_str()
        );
        let same = client
            .get(&url)
            .header("If-None-Match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(same.status(), StatusCode::NOT_MODIFIED);
        let state = server.app_state().await;
        let (cover,): (String,) = sqlx::query_as("SELECT cover_key FROM videos WHERE id = $1")
            .bind(ids[0].0)
            .fetch_one(state.store().pool())
            .await
            .unwrap();
        let jpeg = client
            .get(server.url(&format!("/files/{cover}")))
            .send()
            .await
            .unwrap();
        assert_eq!(jpeg.headers()["content-type"], "image/jpeg");
        assert_eq!(
            &jpeg.bytes().await.unwrap()[..2],
            &[0xFF, 0xD8],
            "a JPEG cover"
        );
        // Sources are never served.
        let (source,): (Option<String>,) =
            sqlx::query_as("SELECT source_key FROM videos WHERE id = $1")
                .bind(ids[1].0)
                .fetch_one(state.store().pool())
                .await
                .unwrap();
        let res = client
            .get(server.url(&format!("/files/{}", source.unwrap())))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);

        // A private video's file is the author's alone.
        let (_, v) = upload(
            &server,
            Some(&ana.token),
            Some(("p.mp4", clips[0].1.clone())),
            &[("visibility", "private")],
        )
        .await;
        let (status, _, key) = processed(&server, v["id"].as_i64().unwrap()).await;
        assert_eq!(status, "ready");
        let url = server.url(&format!("/files/{}", key.unwrap()));
        assert_eq!(
            client.get(&url).send().await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            client
                .get(&url)
                .bearer_auth(&bob.token)
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::NOT_FOUND
        );
        let own = client
            .get(&url)
            .bearer_auth(&ana.token)
            .send()
            .await
            .unwrap();
        assert_eq!(own.status(), StatusCode::OK);
        assert!(own.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("private"));

        // What processing refuses, with a reason the author sees.
        let song = {
            let out = tmp.path().join("song.m4a");
            let ok = std::process::Command::new("ffmpeg")
                .args([
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-y",
                    "-f",
                    "lavfi",
                    "-i",
                    "sine=duration=1",
                    "-c:a",
                    "aac",
                ])
                .arg(&out)
                .status()
                .unwrap();
            assert!(ok.success());
            std::fs::read(out).unwrap()
        };
        let long = make_clip(tmp.path(), "long.mp4", 6, &fast);
        let truncated = clips[1].1[..clips[1].1.len() / 2].to_vec();
        for (name, bytes, code) in [
            ("song.m4a", song, "not_a_video"),
            ("long.mp4", long, "too_long"),
            ("cut.mp4", truncated, "not_a_video"),
            ("junk.mp4", fake_mp4(50_000), "not_a_video"),
        ] {
            let (status, v) = upload(&server, Some(&ana.token), Some((name, bytes)), &[]).await;
            assert_eq!(status, StatusCode::CREATED, "{name}: {v}");
            let (status, reason, key) = processed(&server, v["id"].as_i64().unwrap()).await;
            assert_eq!(status, "failed", "{name}");
            let reason = reason.unwrap();
            assert!(reason.starts_with(code), "{name}: {reason}");
            assert_eq!(key, None);
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn a_user_cannot_store_past_their_quota() {
    for backend in backends() {
        let server = TestServer::start_with(backend, |c| {
            without_processing(c);
            c.app.videos.user_quota_bytes = 400_000;
        })
        .await;
        let ana = server.register("hoarder").await;
        // A resumable upload counts its declared length from the start…
        let (status, up) = server
            .post(
                "/api/v1/uploads",
                Some(&ana.token),
                json!({"length": 300_000}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{up}");
        let (status, body) = server
            .post(
                "/api/v1/uploads",
                Some(&ana.token),
                json!({"length": 200_000}),
            )
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(body["error"]["code"], "quota_exceeded");
        // …and a multipart upload past what is left is refused and not kept.
        let form = reqwest::multipart::Form::new()
            .text("title", "too much")
            .part(
                "file",
                reqwest::multipart::Part::bytes(fake_mp4(150_000)).file_name("a.mp4"),
            );
        let res = reqwest::Client::new()
            .post(server.url("/api/v1/videos"))
            .bearer_auth(&ana.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "quota_exceeded");
        assert_eq!(video_count(&server).await, 0);
        // Someone else has their own quota.
        let bob = server.register("modest").await;
        let (status, _) = server
            .post(
                "/api/v1/uploads",
                Some(&bob.token),
                json!({"length": 300_000}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        server.stop().await;
    }
}

#[tokio::test]
async fn one_author_s_many_uploads_do_not_hold_the_line() {
    if !ffmpeg_enabled() {
        return;
    }
    let server = TestServer::start(common::Backend::Sqlite).await;
    let ana = server.register("prolific").await;
    let bob = server.register("occasional").await;
    let tmp = tempfile::tempdir().unwrap();
    let clip = make_clip(tmp.path(), "old.avi", 3, &["-c:v", "mpeg4", "-c:a", "mp2"]);
    // Ana uploads four videos at once, then Bob one.
    let mut ids = Vec::new();
    for i in 0..4 {
        let title = format!("ana {i}");
        let (status, v) = upload(
            &server,
            Some(&ana.token),
            Some(("old.avi", clip.clone())),
            &[("title", title.as_str())],
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        ids.push(v["id"].as_i64().unwrap());
    }
    let (status, v) = upload(
        &server,
        Some(&bob.token),
        Some(("old.avi", clip.clone())),
        &[("title", "bob")],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let bob_id = v["id"].as_i64().unwrap();
    // The order in which they become ready.
    let state = server.app_state().await;
    let mut order: Vec<i64> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while order.len() < 5 {
        assert!(
            Instant::now() < deadline,
            "processing took over 120 s: {order:?}"
        );
        for id in ids.iter().chain([&bob_id]) {
            if order.contains(id) {
                continue;
            }
            let status: String = sqlx::query_scalar("SELECT status FROM videos WHERE id = $1")
                .bind(id)
                .fetch_one(state.store().pool())
                .await
                .unwrap();
            if status != "processing" {
                order.push(*id);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bob_at = order.iter().position(|id| *id == bob_id).unwrap();
    // Taken in upload order, Bob would be fifth; Ana holds one place in line at a time.
    assert!(
        bob_at <= 2,
        "Bob's video was processed {}th: {order:?}",
        bob_at + 1
    );
    server.stop().await;
}
