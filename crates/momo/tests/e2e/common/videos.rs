//! Helpers of the video tests: uploads, test files, and what ffprobe sees.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

use super::TestServer;

/// Bytes that pass the container check (an ISO `ftyp` box first) but are no real video.
pub fn fake_mp4(len: usize) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 24];
    b.extend_from_slice(b"ftypisom");
    b.extend((0..len.saturating_sub(12)).map(|i| (i % 251) as u8));
    b.truncate(len);
    b
}

/// `POST /api/v1/videos` with `file` (name and bytes) and text `fields`.
pub async fn upload(
    server: &TestServer,
    token: Option<&str>,
    file: Option<(&str, Vec<u8>)>,
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    if let Some((name, bytes)) = file {
        form = form.part("file", Part::bytes(bytes).file_name(name.to_string()));
    }
    let mut req = reqwest::Client::new()
        .post(server.url("/api/v1/videos"))
        .multipart(form);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("upload sent");
    let status = res.status();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// ffprobe's view of `url` (streams and format), read without blocking the server
/// that serves it.
pub async fn probe(url: &str) -> Value {
    let out = tokio::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
            url,
        ])
        .output()
        .await
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ffprobe JSON")
}

/// The codec names of `probe`'s streams, in order.
pub fn codecs(probe: &Value) -> Vec<String> {
    probe["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| s["codec_name"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Makes a test clip with ffmpeg in `dir`: `secs` long, 320x240, with a tone, encoded
/// with `codec_args`; returns its bytes.
pub fn make_clip(dir: &std::path::Path, name: &str, secs: u32, codec_args: &[&str]) -> Vec<u8> {
    let out = dir.join(name);
    let d = secs.to_string();
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc=size=320x240:rate=25:duration={d}"),
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency=440:duration={d}"),
        ])
        .args(codec_args)
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made {name}");
    std::fs::read(&out).unwrap()
}
