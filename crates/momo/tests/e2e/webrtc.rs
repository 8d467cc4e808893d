//! WebRTC playback (WHEP) and TURN: `GET /api/v1/webrtc/ice-servers` hands a signed-in
//! user STUN/TURN servers with credentials in coturn's REST form, and a real coturn
//! (`turnserver --use-auth-secret`, run by the test when MOMO_TEST_COTURN=1) grants a
//! relay allocation with them, refuses a forged one, and relays a player that may only
//! use relayed candidates; aiortc (MOMO_TEST_WEBRTC=1) plays an RTMP stream with sound;
//! WHEP's refusals by name.

use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::common;

const TURN_SECRET: &str = "momo-test-turn-secret";

fn coturn() -> bool {
    let on = std::env::var("MOMO_TEST_COTURN").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("SKIPPED: set MOMO_TEST_COTURN=1 (and install coturn) to check TURN credentials against coturn");
    }
    on
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A coturn on 127.0.0.1:`port` taking momo's REST credentials and relaying to
/// loopback peers (momo's UDP port in these tests).
fn start_coturn(port: u16, dir: &std::path::Path) -> std::process::Child {
    Command::new("turnserver")
        .args([
            "-n",
            "--log-file",
            "stdout",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
        ])
        .args(["--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1"])
        .args(["--listening-port", &port.to_string()])
        .args(["--use-auth-secret", "--static-auth-secret", TURN_SECRET])
        .args(["--realm", "momo", "--allow-loopback-peers"])
        .arg("--pidfile")
        .arg(dir.join("turnserver.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnserver starts")
}

/// `turnutils_uclient` allocating a relay on `port` as `user`/`password` and sending a
/// few packets through it: whether it succeeded.
fn allocates(port: u16, user: &str, password: &str) -> bool {
    Command::new("turnutils_uclient")
        .args(["-y", "-n", "3", "-u", user, "-w", password, "-p"])
        .arg(port.to_string())
        .arg("127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("turnutils_uclient runs")
        .success()
}

#[tokio::test]
async fn ice_servers_carry_turn_credentials_that_coturn_accepts() {
    let port = free_port();
    let s = common::TestServer::start_with(common::Backend::Sqlite, move |c| {
        c.app.webrtc.stun_urls = vec![format!("stun:127.0.0.1:{port}")];
        c.app.webrtc.turn_urls = vec![format!("turn:127.0.0.1:{port}?transport=udp")];
        c.app.webrtc.turn_secret = Some(TURN_SECRET.into());
        c.app.webrtc.turn_ttl_secs = 600;
    })
    .await;
    let (status, body) = s.get("/api/v1/webrtc/ice-servers", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let user = s.register("turn_user").await;
    let (status, body) = s.get("/api/v1/webrtc/ice-servers", Some(&user.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let servers = body["ice_servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{body}");
    assert!(
        servers[0].get("username").is_none(),
        "STUN needs none: {body}"
    );
    let turn = &servers[1];
    let username = turn["username"].as_str().unwrap();
    let credential = turn["credential"].as_str().unwrap();
    let expires = body["expires_at"].as_i64().unwrap();
    assert_eq!(username, format!("{expires}:{}", user.id));
    let ttl = expires - kit::time::now_secs();
    assert!((590..=600).contains(&ttl), "{ttl}");

    // Without a signed-in user nothing; without settings nothing at all.
    let bare = common::TestServer::start(common::Backend::Sqlite).await;
    let someone = bare.register("no_turn_here").await;
    let (_, none) = bare
        .get("/api/v1/webrtc/ice-servers", Some(&someone.token))
        .await;
    assert_eq!(
        none["ice_servers"].as_array().map(Vec::len),
        Some(0),
        "{none}"
    );

    if !coturn() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut turnserver = start_coturn(port, dir.path());
    let mut granted = false;
    for _ in 0..20 {
        if allocates(port, username, credential) {
            granted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let forged = format!("{}:{}", expires, user.id + 1);
    let refused = !allocates(port, &forged, credential);
    let _ = turnserver.kill();
    let _ = turnserver.wait();
    assert!(granted, "coturn grants a relay with momo's credentials");
    assert!(refused, "coturn refuses them for another user");
}

/// The aiortc (PyPI) clients' directory when MOMO_TEST_WEBRTC=1, else `None` (says
/// SKIPPED).
pub(crate) fn aiortc_clients() -> Option<&'static str> {
    if std::env::var("MOMO_TEST_WEBRTC").is_ok_and(|v| v == "1") {
        return Some(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/clients"));
    }
    eprintln!(
        "SKIPPED: set MOMO_TEST_WEBRTC=1 (and pip install aiortc) to run the aiortc WebRTC clients"
    );
    None
}

/// Runs aiortc client `script` with `args`; its one JSON line.
pub(crate) async fn aiortc(dir: &str, script: &str, args: &[&str]) -> serde_json::Value {
    let out = tokio::process::Command::new("python3")
        .arg(format!("{dir}/{script}"))
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "{script}'s answer: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A room of a new anchor `name` that ffmpeg publishes over RTMP (looping the fixture)
/// until the returned encoder is dropped.
async fn live_over_rtmp(s: &common::TestServer, name: &str) -> (i64, tokio::process::Child) {
    let anchor = s.register(name).await;
    let (_, room) = s
        .post("/api/v1/rooms", Some(&anchor.token), serde_json::json!({}))
        .await;
    let id = room["id"].as_i64().unwrap();
    let key = room["stream_key"].as_str().unwrap();
    let encoder = crate::live::publish_looping(&format!("{}/{key}", s.rtmp_base));
    stream_up(s, id).await;
    (id, encoder)
}

/// Waits until room `id`'s stream is in `s`'s hub.
pub(crate) async fn stream_up(s: &common::TestServer, id: i64) {
    for _ in 0..100 {
        if s.hub().stream(&id.to_string()).is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("room {id}'s stream never came");
}

/// An offer with video only in VP8: valid SDP that momo cannot serve.
const VP8_ONLY: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
a=fingerprint:sha-256 7A:D7:C9:33:94:8D:8A:BA:10:EB:93:21:7C:B4:91:6D:40:F7:56:07:CA:9D:42:D3:80:32:2D:10:D9:AC:8E:15\r\n\
a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n";

#[tokio::test]
async fn whep_refuses_what_it_cannot_serve_with_clear_errors() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let anchor = s.register("whep_anchor").await;
    let (_, room) = s
        .post("/api/v1/rooms", Some(&anchor.token), serde_json::json!({}))
        .await;
    let id = room["id"].as_i64().unwrap();
    let _live = s.go_live(id).await;
    let client = reqwest::Client::new();
    let post = |path: String, ctype: &'static str, body: Vec<u8>| {
        let req = client
            .post(s.url(&path))
            .header("content-type", ctype)
            .body(body);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            (
                status,
                body["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
    };
    let whep = format!("/whep/{id}");
    let cases = [
        (
            whep.clone(),
            "text/plain",
            b"v=0".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            whep.clone(),
            "application/sdp",
            b"not sdp at all".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_sdp",
        ),
        (
            whep.clone(),
            "application/sdp",
            vec![0xff, 0xfe, 0x00],
            StatusCode::BAD_REQUEST,
            "bad_sdp",
        ),
        (
            whep.clone(),
            "application/sdp",
            VP8_ONLY.as_bytes().to_vec(),
            StatusCode::BAD_REQUEST,
            "unsupported_codecs",
        ),
        (
            whep.clone(),
            "application/sdp",
            vec![b'a'; 70 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "/whep/999999".to_owned(),
            "application/sdp",
            VP8_ONLY.replace("VP8", "H264").into_bytes(),
            StatusCode::NOT_FOUND,
            "stream_not_found",
        ),
    ];
    for (path, ctype, body, status, code) in cases {
        let (got, got_code) = post(path.clone(), ctype, body).await;
        assert_eq!((got, got_code.as_str()), (status, code), "{path} {ctype}");
    }
    let res = client
        .delete(s.url(&format!("/whep/{id}/12345")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = client
        .request(reqwest::Method::OPTIONS, s.url(&whep))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NO_CONTENT,
        "a browser's preflight"
    );
    // The node serves on after all of it.
    let (status, _) = s.get("/healthz", None).await;
    assert!(status.is_success());
}

/// ffmpeg publishes RTMP; aiortc plays the room over WHEP, decoding H.264 that went
/// from AVCC to RTP and Opus that ffmpeg made from the AAC, and ends the session with
/// DELETE.
#[tokio::test]
async fn ffmpeg_publishes_rtmp_and_aiortc_plays_it_over_whep() {
    if !crate::live::ffmpeg_enabled() {
        return;
    }
    let Some(clients) = aiortc_clients() else {
        return;
    };
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let (id, _encoder) = live_over_rtmp(&s, "whep_rtmp_anchor").await;
    let url = s.url(&format!("/whep/{id}"));
    let result = aiortc(clients, "whep_play.py", &[&url, "60", "20"]).await;
    assert_eq!(result["status"], 201, "{result}");
    assert!(result["frames"].as_i64().unwrap_or(0) >= 60, "{result}");
    assert!(result["width"].as_i64().unwrap_or(0) > 0, "{result}");
    assert!(
        result["audio_frames"].as_i64().unwrap_or(0) > 0,
        "sound: {result}"
    );
    assert!(
        result["audio_peak"].as_i64().unwrap_or(0) > 0,
        "not silence: {result}"
    );
    assert_eq!(result["deleted"], 200, "{result}");
    eprintln!(
        "WHEP first decoded frame after {} s",
        result["first_frame_s"]
    );
}

/// A player that may only use relayed candidates (aiortc, `iceTransportPolicy`
/// "relay") plays through a real coturn with the credentials momo handed it.
#[tokio::test]
async fn a_relay_only_player_plays_through_coturn_with_momos_credentials() {
    if !crate::live::ffmpeg_enabled() || !coturn() {
        return;
    }
    let Some(clients) = aiortc_clients() else {
        return;
    };
    let port = free_port();
    let s = common::TestServer::start_with(common::Backend::Sqlite, move |c| {
        c.app.webrtc.turn_urls = vec![format!("turn:127.0.0.1:{port}?transport=udp")];
        c.app.webrtc.turn_secret = Some(TURN_SECRET.into());
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut turnserver = start_coturn(port, dir.path());
    let (id, _encoder) = live_over_rtmp(&s, "relay_anchor").await;
    let viewer = s.register("relay_viewer").await;
    let (_, ice) = s
        .get("/api/v1/webrtc/ice-servers", Some(&viewer.token))
        .await;
    let servers = ice["ice_servers"].to_string();
    let url = s.url(&format!("/whep/{id}"));
    let result = aiortc(
        clients,
        "whep_play.py",
        &[&url, "30", "20", &servers, "relay"],
    )
    .await;
    let _ = turnserver.kill();
    let _ = turnserver.wait();
    assert_eq!(result["status"], 201, "{result}");
    assert!(
        result["frames"].as_i64().unwrap_or(0) >= 30,
        "relayed: {result}"
    );
}
