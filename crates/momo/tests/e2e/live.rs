//! Live rooms with real clients: `ffmpeg` publishes over RTMP with the room's stream key,
//! `ffprobe` reads RTMP, HTTP-FLV and HLS, a WebSocket client reads WebSocket-FLV, and
//! the room goes live and then offline. Needs ffmpeg: switched on by MOMO_TEST_FFMPEG=1
//! (CI installs ffmpeg and sets it). Room management itself is tested without ffmpeg.

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../media/tests/fixtures/sample.flv"
);

pub(crate) fn ffmpeg_enabled() -> bool {
    let on = std::env::var("MOMO_TEST_FFMPEG").is_ok_and(|v| v == "1");
    if !on {
        eprintln!(
            "\n*** SKIPPED: the ffmpeg/ffprobe interop test. Install ffmpeg and set \
             MOMO_TEST_FFMPEG=1 to run it. ***\n"
        );
    }
    on
}

/// ffmpeg pushing the fixture once to `url`; `None` if it did not finish in 30 s.
async fn publish_once(url: &str) -> Option<std::process::Output> {
    let run = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re", "-i", FIXTURE])
        .args(["-c", "copy", "-f", "flv", url])
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .ok()?
        .ok()
}

/// ffmpeg pushing the fixture to `url` in a loop until it is killed or dropped.
pub(crate) fn publish_looping(url: &str) -> tokio::process::Child {
    tokio::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-stream_loop",
            "-1",
        ])
        .args(["-i", FIXTURE, "-c", "copy", "-f", "flv", url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts")
}

pub(crate) async fn create_room(s: &common::TestServer, token: &str) -> Value {
    let (status, room) = s
        .post(
            "/api/v1/rooms",
            Some(token),
            json!({"title": "Night stream"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    room
}

#[tokio::test]
async fn rooms_have_secret_keys_that_rotate() {
    each_backend!(|s| {
        let anchor = s.register("anchor").await;
        let viewer = s.register("viewer").await;
        let room = create_room(&s, &anchor.token).await;
        let id = room["id"].as_i64().unwrap();
        let key = room["stream_key"].as_str().unwrap().to_string();
        assert!(key.starts_with("sk_") && key.len() > 20);
        assert_eq!(room["status"], "offline");
        assert!(room["publish_url"].as_str().unwrap().ends_with(&key));
        assert!(room["play"]["flv"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/live/{id}.flv")));

        // Asking again returns the same room; others never see the key.
        let (status, again) = s
            .post("/api/v1/rooms", Some(&anchor.token), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["id"], id);
        let (_, seen) = s
            .get(&format!("/api/v1/rooms/{id}"), Some(&viewer.token))
            .await;
        assert!(
            seen.get("stream_key").is_none() && seen.get("publish_url").is_none(),
            "{seen}"
        );

        let (status, body) = s
            .call(
                Method::POST,
                &format!("/api/v1/rooms/{id}/stream-key"),
                Some(&viewer.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "not_room_owner");
        let (status, rotated) = s
            .call(
                Method::POST,
                &format!("/api/v1/rooms/{id}/stream-key"),
                Some(&anchor.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_ne!(rotated["stream_key"], key.as_str());

        let (status, body) = s.get("/api/v1/rooms/9999", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "room_not_found");
        let (status, body) = s
            .post(
                "/api/v1/rooms",
                Some(&viewer.token),
                json!({"title": "x".repeat(65)}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, _) = s.get(&format!("/live/{id}.flv"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = s.get(&format!("/live/{id}/index.m3u8"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    });
}

/// `ffprobe`'s view of `url`: (codec, width, height) per stream.
pub(crate) async fn probe(url: &str) -> Vec<(String, i64, i64)> {
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name,width,height",
                "-of",
                "json",
                url,
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("ffprobe {url} timed out"))
    .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["codec_name"].as_str().unwrap_or_default().to_string(),
                s["width"].as_i64().unwrap_or(0),
                s["height"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

fn assert_h264_aac(url: &str, streams: &[(String, i64, i64)]) {
    assert!(
        streams.iter().any(|s| s == &("h264".to_string(), 320, 180)),
        "{url}: {streams:?}"
    );
    assert!(streams.iter().any(|s| s.0 == "aac"), "{url}: {streams:?}");
}

pub(crate) async fn room_status(s: &common::TestServer, id: i64) -> String {
    let (_, room) = s.get(&format!("/api/v1/rooms/{id}"), None).await;
    room["status"].as_str().unwrap_or_default().to_string()
}

pub(crate) async fn wait_for_status(s: &common::TestServer, id: i64, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while room_status(s, id).await != want {
        assert!(Instant::now() < deadline, "room {id} never became {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn ffmpeg_publishes_and_ffprobe_reads_every_output() {
    if !ffmpeg_enabled() {
        return;
    }
    for backend in common::backends() {
        let s = common::TestServer::start_with(backend, |c| c.media.grace_secs = 1).await;
        let anchor = s.register("anchor").await;
        let room = create_room(&s, &anchor.token).await;
        let id = room["id"].as_i64().unwrap();
        let key = room["stream_key"].as_str().unwrap();

        // A wrong key is refused and ffmpeg gives up.
        let refused = publish_once(&format!("{}/sk_wrong", s.rtmp_base))
            .await
            .expect("ffmpeg with a wrong key finishes");
        assert!(!refused.status.success());
        assert_eq!(room_status(&s, id).await, "offline");

        let mut publisher = publish_looping(&format!("{}/{key}", s.rtmp_base));
        wait_for_status(&s, id, "live").await;

        let rtmp = format!("{}/{id}", s.rtmp_base);
        let flv = s.url(&format!("/live/{id}.flv"));
        assert_h264_aac(&rtmp, &probe(&rtmp).await);
        assert_h264_aac(&flv, &probe(&flv).await);

        // WebSocket-FLV: the FLV header, then tags starting with metadata and headers.
        let ws_url = flv.replace("http://", "ws://");
        let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
            .await
            .expect("ws connects");
        let first = ws.next().await.unwrap().unwrap().into_data();
        assert_eq!(&first[..3], b"FLV");
        let mut reader = media::flv::reader::FlvReader::new();
        reader.push(&first);
        let mut kinds = Vec::new();
        while kinds.len() < 4 {
            let msg = ws.next().await.unwrap().unwrap().into_data();
            reader.push(&msg);
            while let Some(frame) = reader.poll().unwrap() {
                kinds.push(media::hub::Class::of(&frame));
            }
        }
        use media::hub::Class::*;
        assert_eq!(
            kinds[..4],
            [Metadata, VideoHeader, AudioHeader, Keyframe],
            "{kinds:?}"
        );
        drop(ws);

        // HLS, once a segment is complete.
        let hls = s.url(&format!("/live/{id}/index.m3u8"));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let res = s.client.get(&hls).send().await.unwrap();
            if res.status() == StatusCode::OK {
                assert_eq!(
                    res.headers()["content-type"],
                    "application/vnd.apple.mpegurl"
                );
                break;
            }
            assert!(Instant::now() < deadline, "no HLS playlist");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_h264_aac(&hls, &probe(&hls).await);

        // A second publisher with the same key takes the stream over (an encoder that
        // reconnected while its old connection is half-open): the first is let go, and
        // the room stays live until the second has finished and its grace has passed.
        let second = publish_once(&format!("{}/{key}", s.rtmp_base))
            .await
            .expect("a second ffmpeg finishes");
        assert!(
            second.status.success(),
            "{}",
            String::from_utf8_lossy(&second.stderr)
        );
        let first = tokio::time::timeout(Duration::from_secs(10), publisher.wait())
            .await
            .expect("the first ffmpeg is let go")
            .unwrap();
        assert!(!first.success(), "the first ffmpeg lost its connection");
        wait_for_status(&s, id, "offline").await;
        let (status, _) = s.get(&format!("/live/{id}.flv"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        s.stop().await;
    }
}

#[tokio::test]
async fn signed_play_urls_are_required_when_turned_on() {
    let s = common::TestServer::start_with(common::Backend::Sqlite, |c| {
        c.app.live.play_secret = Some("play-secret-play-secret".into());
    })
    .await;
    let anchor = s.register("anchor").await;
    let room = create_room(&s, &anchor.token).await;
    let id = room["id"].as_i64().unwrap();
    let flv = room["play"]["flv"].as_str().unwrap();
    assert!(flv.contains("?expires=") && flv.contains("&sign="), "{flv}");
    let signed_path = &flv[flv.find("/live/").unwrap()..];

    // Unsigned and tampered URLs: 403, before anything else is looked at.
    for path in [
        format!("/live/{id}.flv"),
        format!("/live/{id}/index.m3u8"),
        signed_path.replace("sign=", "sign=00"),
        signed_path.replace(&format!("/live/{id}.flv"), &format!("/live/{}.flv", id + 1)),
    ] {
        let (status, body) = s.get(&path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(body["error"]["code"], "play_forbidden", "{path}");
    }
    // The signed URL passes the check; the room is simply not live yet.
    let (status, body) = s.get(signed_path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    if ffmpeg_enabled() {
        let key = room["stream_key"].as_str().unwrap();
        let _publisher = publish_looping(&format!("{}/{key}", s.rtmp_base));
        wait_for_status(&s, id, "live").await;
        let (_, room) = s.get(&format!("/api/v1/rooms/{id}"), None).await;
        let signed_rtmp = room["play"]["rtmp"].as_str().unwrap();
        let port = s.rtmp_base.rsplit(':').next().unwrap();
        let signed_rtmp = signed_rtmp.replace("localhost", "127.0.0.1");
        assert!(signed_rtmp.contains(port), "{signed_rtmp}");
        assert_h264_aac(&signed_rtmp, &probe(&signed_rtmp).await);
        let unsigned = tokio::process::Command::new("ffprobe")
            .args(["-v", "error", &format!("{}/{id}", s.rtmp_base)])
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        assert!(
            !unsigned.status.success(),
            "an unsigned RTMP play was allowed"
        );
    }
    s.stop().await;
}
