//! WHIP end to end: aiortc publishes H.264 and Opus to `POST /whip/{stream key}`; the
//! room goes live; ffprobe reads H.264 and AAC (ffmpeg's, from the Opus) over HTTP-FLV
//! and HLS; aiortc plays it back over WHEP with sound; DELETE ends it and the room goes
//! offline. A wrong key and a banned room's key are refused. Needs MOMO_TEST_FFMPEG=1 and MOMO_TEST_WEBRTC=1.

use std::time::Duration;

use crate::common;
use crate::live::{create_room, ffmpeg_enabled, probe, wait_for_status};
use crate::webrtc::{aiortc, aiortc_clients};

/// A 640x360 clip with a 440 Hz tone, H.264 and AAC, for aiortc to publish (30 s: longer
/// than the test publishes, since aiortc's player does not loop video reliably).
async fn clip(dir: &std::path::Path) -> String {
    let path = dir.join("clip.mp4").to_string_lossy().into_owned();
    let status = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc=size=640x360:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args([
            "-t",
            "30",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
            "-c:a",
            "aac",
            &path,
        ])
        .status()
        .await
        .expect("ffmpeg runs");
    assert!(status.success());
    path
}

#[tokio::test]
async fn aiortc_publishes_over_whip_and_every_output_plays_it() {
    if !ffmpeg_enabled() {
        return;
    }
    let Some(clients) = aiortc_clients() else {
        return;
    };
    let s =
        common::TestServer::start_with(common::Backend::Sqlite, |c| c.media.grace_secs = 1).await;
    let anchor = s.register("whip_anchor").await;
    let room = create_room(&s, &anchor.token).await;
    let id = room["id"].as_i64().unwrap();
    let key = room["stream_key"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let clip = clip(dir.path()).await;

    let wrong = aiortc(
        clients,
        "whip_publish.py",
        &[&s.url("/whip/sk_wrong"), &clip, "1"],
    )
    .await;
    assert_eq!(wrong["status"], 403, "{wrong}");

    let url = s.url(&format!("/whip/{key}"));
    let publisher = {
        let (clients, clip) = (clients.to_owned(), clip.clone());
        tokio::spawn(async move { aiortc(&clients, "whip_publish.py", &[&url, &clip, "25"]).await })
    };
    wait_for_status(&s, id, "live").await;

    let flv = s.url(&format!("/live/{id}.flv"));
    let streams = probe(&flv).await;
    assert!(
        streams.iter().any(|s| s == &("h264".to_string(), 640, 360)),
        "{flv}: {streams:?}"
    );
    assert!(streams.iter().any(|s| s.0 == "aac"), "{flv}: {streams:?}");

    let hls = s.url(&format!("/live/{id}/index.m3u8"));
    for _ in 0..100 {
        if s.client.get(&hls).send().await.unwrap().status() == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let streams = probe(&hls).await;
    assert!(streams.iter().any(|s| s.0 == "h264"), "{hls}: {streams:?}");
    assert!(streams.iter().any(|s| s.0 == "aac"), "{hls}: {streams:?}");

    // WHIP in, WHEP out: the browser's path both ways.
    let whep = s.url(&format!("/whep/{id}"));
    let played = aiortc(clients, "whep_play.py", &[&whep, "50", "15"]).await;
    assert_eq!(played["status"], 201, "{played}");
    assert!(played["frames"].as_i64().unwrap_or(0) >= 50, "{played}");
    assert_eq!(played["width"], 640, "{played}");
    assert!(
        played["audio_peak"].as_i64().unwrap_or(0) > 0,
        "sound: {played}"
    );

    let published = publisher.await.unwrap();
    assert_eq!(published["status"], 201, "{published}");
    assert_eq!(published["connected"], true, "{published}");
    assert_eq!(published["deleted"], 200, "{published}");
    wait_for_status(&s, id, "offline").await;

    // A banned room's key is refused over WHIP as over RTMP.
    let admin = s.admin_token("whip_admin").await;
    let (status, _) = s
        .post(
            &format!("/api/v1/admin/rooms/{id}/ban"),
            Some(&admin),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let banned = aiortc(
        clients,
        "whip_publish.py",
        &[&s.url(&format!("/whip/{key}")), &clip, "1"],
    )
    .await;
    assert_eq!(banned["status"], 403, "{banned}");
    assert!(
        banned["error"]
            .as_str()
            .unwrap_or_default()
            .contains("banned"),
        "{banned}"
    );
    s.stop().await;
}
