//! A `momo serve` process of its own, for what an in-process server cannot show: a
//! `kill -9` in the middle of work.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_momo");

/// A running `momo serve`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:port`
    pub base: String,
    /// `127.0.0.1:port` of its RTMP listener.
    pub rtmp: String,
}

/// Starts `momo serve` on `dir` on ephemeral ports, with `envs` set (and
/// `MOMO_DATABASE_URL` only when `envs` names it), and waits until it listens.
pub fn start(dir: &str, envs: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--data-dir", dir, "--log-format", "json"])
        .env("MOMO_HTTP", "127.0.0.1:0")
        .env("MOMO_RTMP", "127.0.0.1:0")
        .env("MOMO_MEDIA__WEBRTC_UDP", "127.0.0.1:0")
        .env_remove("MOMO_DATABASE_URL")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("momo starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut base, mut rtmp) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while (base.is_none() || rtmp.is_none()) && Instant::now() < deadline {
        let line = lines.next().expect("server log").unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let msg = v["fields"]["message"].as_str().unwrap_or_default();
        if let Some(url) = msg.strip_prefix("HTTP listening on ") {
            base = Some(url.to_string());
        }
        if let Some(url) = msg.strip_prefix("RTMP listening on rtmp://") {
            rtmp = Some(url.trim_end_matches("/live").to_string());
        }
    }
    // Keep reading, or the server blocks on a full pipe.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains("\"ERROR\"") {
                eprintln!("server: {line}");
            }
        }
    });
    Server {
        child,
        base: base.expect("the server said where it listens (HTTP)"),
        rtmp: rtmp.expect("the server said where it listens (RTMP)"),
    }
}

impl Server {
    /// `kill -STOP` (`pause` true) or `kill -CONT`: a node that stops answering
    /// anything, then carries on as if nothing happened.
    pub fn pause(&self, pause: bool) {
        let signal = if pause { "-STOP" } else { "-CONT" };
        let done = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(done.success(), "kill {signal}");
    }

    /// `kill -9`: no goodbye to anyone.
    pub fn kill_hard(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
