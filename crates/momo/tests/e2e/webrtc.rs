//! WebRTC's TURN credentials: `GET /api/v1/webrtc/ice-servers` hands a signed-in user
//! STUN/TURN servers with credentials in coturn's REST form, and a real coturn
//! (`turnserver --use-auth-secret`, run by the test when MOMO_TEST_COTURN=1) grants a
//! relay allocation with them and refuses a forged one.

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
    let mut turnserver = Command::new("turnserver")
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
        .arg(dir.path().join("turnserver.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnserver starts");
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
