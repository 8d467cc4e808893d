//! The `momo` binary itself: help, migrate, admin create, configuration layers, JSON
//! logs, and a graceful stop on SIGTERM that lets a request in flight finish.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_momo");

fn momo(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_remove("MOMO_DATABASE_URL")
        .output()
        .expect("momo runs")
}

#[test]
fn help_names_every_command_and_flag() {
    let out = momo(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "migrate", "admin", "MOMO_"] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
    let out = momo(&["serve", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--config",
        "--data-dir",
        "--http",
        "--rtmp",
        "--database-url",
        "--log-format",
    ] {
        assert!(text.contains(flag), "serve --help lacks {flag}:\n{text}");
    }
    let out = momo(&["admin", "create", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--username") && text.contains("--password"),
        "{text}"
    );
    // Listen addresses mean nothing to a command that serves nothing.
    for flag in ["--http", "--rtmp", "--chat-tcp"] {
        assert!(
            !text.contains(flag),
            "admin create --help offers {flag}:\n{text}"
        );
    }
    let out = momo(&["frobnicate"]);
    assert!(!out.status.success());
}

#[test]
fn migrate_and_admin_create_work_and_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = momo(&["migrate", "--data-dir", d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("momo.db").exists());

    let out = momo(&[
        "admin",
        "create",
        "--data-dir",
        d,
        "--username",
        "boss",
        "--password",
        "very-secret",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin boss"));

    let out = momo(&[
        "admin",
        "create",
        "--data-dir",
        d,
        "--username",
        "boss",
        "--password",
        "very-secret",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("taken"));

    let out = momo(&[
        "admin",
        "create",
        "--data-dir",
        d,
        "--username",
        "boss2",
        "--password",
        "short",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));

    let out = momo(&["serve", "--config", "/no/such/momo.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

/// `admin create` run away from the server's data refuses to make a database of its
/// own in `./data` there, and says where it looked.
#[test]
fn admin_create_does_not_make_a_database_where_serve_keeps_none() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "admin",
            "create",
            "--username",
            "boss",
            "--password",
            "very-secret",
        ])
        .current_dir(dir.path())
        .env_remove("MOMO_DATABASE_URL")
        .env_remove("MOMO_DATA_DIR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("there is no momo database at"), "{err}");
    assert!(err.contains("--data-dir"), "{err}");
    assert!(!dir.path().join("data").exists(), "made ./data anyway");
}

/// A fresh node says where its site, console and API reference are and how to make the
/// first admin, in plain text when its log is not a terminal; once there is an admin it
/// stops asking.
#[test]
fn a_fresh_node_says_where_to_go_and_how_to_make_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("node data");
    let d = d.to_str().unwrap();
    let start_log = |d: &str| {
        let mut child = Command::new(BIN)
            .args(["serve", "--data-dir", d, "--log-format", "text"])
            .env("MOMO_HTTP", "127.0.0.1:0")
            .env("MOMO_RTMP", "127.0.0.1:0")
            .env_remove("MOMO_DATABASE_URL")
            .env_remove("NO_COLOR")
            .env_remove("RUST_LOG")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut log = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            // The reference is the last of what a node says at start.
            let done = line.contains("API reference:");
            log.push(line);
            if done {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        log.join("\n")
    };
    let log = start_log(d);
    assert!(!log.contains('\x1b'), "colour codes in a piped log:\n{log}");
    for want in [
        "viewer site: http://localhost:",
        "operators' console: http://localhost:",
    ] {
        assert!(log.contains(want), "no {want:?} in\n{log}");
    }
    assert!(log.contains("/api/docs/"), "{log}");
    assert!(log.contains("no admin yet"), "{log}");
    // The command shown names this data dir, quoted for the shell.
    assert!(
        log.contains(&format!("--data-dir '{d}' --username admin")),
        "{log}"
    );

    let out = momo(&[
        "admin",
        "create",
        "--data-dir",
        d,
        "--username",
        "boss",
        "--password",
        "very-secret",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("momo.db"), "says which database: {said}");
    let log = start_log(d);
    assert!(log.contains("viewer site"), "{log}");
    assert!(!log.contains("no admin yet"), "{log}");
}

#[tokio::test]
async fn serve_reads_env_and_file_logs_json_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let out = momo(&[
        "admin",
        "create",
        "--data-dir",
        &d,
        "--username",
        "boss",
        "--password",
        "very-secret",
    ]);
    assert!(out.status.success());
    // The file says port 1; the environment (port 0) must win over it.
    let config = dir.path().join("momo.toml");
    std::fs::write(
        &config,
        "http = \"127.0.0.1:1\"\nlog_format = \"text\"\n[auth]\nlogin_free_failures = 0\n",
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--data-dir",
            &d,
            "--log-format",
            "json",
            "--config",
        ])
        .arg(&config)
        .env("MOMO_HTTP", "127.0.0.1:0")
        .env("MOMO_RTMP", "127.0.0.1:0")
        .env_remove("MOMO_DATABASE_URL")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut base = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while base.is_none() && Instant::now() < deadline {
        let line = lines.next().expect("server log").unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
        let msg = v["fields"]["message"].as_str().unwrap_or_default();
        if let Some(url) = msg.strip_prefix("HTTP listening on ") {
            base = Some(url.to_string());
        }
    }
    let base = base.expect("the server said where it listens");
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());

    let client = reqwest::Client::new();
    let login = |password: &'static str| {
        client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "boss", "password": password}))
            .send()
    };
    assert_eq!(login("very-secret").await.unwrap().status(), 200);
    // Three failures, none free: the next attempt waits 750 ms before it is answered.
    for _ in 0..3 {
        assert_eq!(login("wrong-password").await.unwrap().status(), 401);
    }
    let in_flight = tokio::spawn(login("wrong-password"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());

    let res = in_flight
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(res.status(), 401);
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "momo did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status}");
    let logs = rest.join().unwrap().join("\n");
    assert!(logs.contains("SIGTERM"), "{logs}");
    assert!(logs.contains("\"stopped\""), "{logs}");
    assert!(
        client.get(format!("{base}/healthz")).send().await.is_err(),
        "still accepting"
    );
}
