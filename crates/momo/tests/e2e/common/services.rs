//! A NATS or Redis server of a test's own, on a free port, that the test may stop and
//! start again: the machine's shared servers serve every test at once and must stay up.
//! Uses the machine's `nats-server` and `redis-server` binaries (CI installs both); a
//! test says SKIPPED without them.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Nats,
    Redis,
}

/// A server process the test owns (killed when dropped).
pub struct OwnServer {
    kind: Kind,
    bin: PathBuf,
    port: u16,
    child: Option<Child>,
}

fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([
            "/usr/sbin".into(),
            "/usr/local/sbin".into(),
            "/usr/bin".into(),
        ])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl OwnServer {
    /// A NATS server of the test's own (not started yet).
    pub fn nats() -> Option<OwnServer> {
        Self::new(Kind::Nats, "nats-server")
    }

    /// A Redis server of the test's own (not started yet), keeping nothing on disk.
    pub fn redis() -> Option<OwnServer> {
        Self::new(Kind::Redis, "redis-server")
    }

    fn new(kind: Kind, name: &str) -> Option<OwnServer> {
        let Some(bin) = find(name) else {
            eprintln!("SKIPPED: no {name} binary on this machine for a server of the test's own");
            return None;
        };
        Some(OwnServer {
            kind,
            bin,
            port: free_port(),
            child: None,
        })
    }

    pub fn url(&self) -> String {
        match self.kind {
            Kind::Nats => format!("nats://127.0.0.1:{}", self.port),
            Kind::Redis => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// Starts it (again, on the same port) and waits until it takes connections.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let port = self.port.to_string();
        let mut cmd = Command::new(&self.bin);
        match self.kind {
            Kind::Nats => cmd.args(["-a", "127.0.0.1", "-p", &port]),
            Kind::Redis => cmd.args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port,
                "--save",
                "",
                "--appendonly",
                "no",
            ]),
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "{:?} did not listen", self.kind);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`: gone at once, with every connection.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.stop();
    }
}
