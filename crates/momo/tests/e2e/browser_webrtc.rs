//! The room page's low-latency mode in Chromium with a source that has B-frames (x264
//! `-bf 2`, OBS's default): WebRTC leaves the B pictures out, so the picture plays on
//! (browsers do not reorder), and the anchor is told to turn B-frames off — a
//! `stream_warning` notice, shown on their room page and kept in their inbox.
//! Needs MOMO_TEST_BROWSER=1 and MOMO_TEST_FFMPEG=1.

use std::process::Stdio;

use serde_json::json;

use crate::browser::{enabled, js, signed_in, start_driver, until, DESKTOP};
use crate::common;

/// ffmpeg encoding a test picture with two B-frames between references and pushing it
/// to `url` until dropped.
fn publish_with_b_frames(url: &str) -> tokio::process::Child {
    tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=640x360:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "50",
        ])
        .args(["-c:a", "aac", "-f", "flv", url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts")
}

#[tokio::test]
async fn a_b_frame_source_plays_in_low_latency_mode_and_its_anchor_is_told() {
    if !enabled() || !crate::live::ffmpeg_enabled() {
        return;
    }
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let driver = start_driver().await;
    let (c, _profile, anchor) = signed_in(&s, &driver, "bframe_anchor", DESKTOP).await;
    let (_, room) = s
        .post(
            "/api/v1/rooms",
            Some(&anchor.token),
            json!({"title": "B-frames"}),
        )
        .await;
    let id = room["id"].as_i64().unwrap();
    let key = room["stream_key"].as_str().unwrap();
    let _encoder = publish_with_b_frames(&format!("{}/{key}", s.rtmp_base));
    crate::webrtc::stream_up(&s, id).await;

    c.goto(&s.url(&format!("/rooms/{id}?player=webrtc")))
        .await
        .unwrap();
    let t0 = until(
        &c,
        30,
        "the video over WebRTC",
        "const v = document.getElementById('video');\
         if (v.dataset.fallback) return 'fell back: ' + v.dataset.fallback;\
         return v.dataset.tech === 'webrtc' && v.videoWidth > 0 && v.currentTime > 0.5 ? v.currentTime : 0",
    )
    .await;
    let t0 = t0
        .as_f64()
        .unwrap_or_else(|| panic!("WebRTC did not play: {t0}"));
    // It keeps playing: no stall on pictures a browser cannot order.
    let t1 = until(
        &c,
        10,
        "WebRTC time to advance",
        &format!(
            "const v = document.getElementById('video'); return v.currentTime > {t0} + 2 ? v.currentTime : 0"
        ),
    )
    .await;
    assert!(t1.as_f64().is_some(), "{t1}");
    assert_eq!(
        js(&c, "return document.getElementById('video').dataset.tech").await,
        "webrtc"
    );

    // The anchor is told, on the page and in the inbox.
    until(
        &c,
        15,
        "the stream warning on the anchor's page",
        "const b = document.getElementById('announcement');\
         return !b.hidden && b.textContent.includes('B-frames')",
    )
    .await;
    let (_, inbox) = s.get("/api/v1/notifications", Some(&anchor.token)).await;
    let warned = inbox["items"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n["kind"] == "stream_warning" && n["payload"]["code"] == "b_frames");
    assert!(warned, "{inbox}");
    c.close().await.unwrap();
    drop(driver);
    s.stop().await;
}
