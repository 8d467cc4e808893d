//! Starting and stopping the servers under test, fresh for every group of steps, so
//! that each one's memory is measured from the same clean start.
//!
//! momo runs as `momo serve` on a new data directory, with the service token and the
//! fan-out mode in its environment; the bench then registers a few users for their
//! access tokens. nats-server runs with a config file of its own: a client port (for
//! the publisher) and a WebSocket listener without TLS (for the clients). Both are
//! children of the bench, so their PIDs are known and they end with it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use hyper::Method;
use serde_json::{json, Value};
use tokio::time::{sleep, Instant};

use crate::load;
use crate::target::Target;

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const PASSWORD: &str = "bench-password-1";
/// The push API's secret, given to momo through its environment.
pub const SERVICE_TOKEN: &str = "momo-bench-chat-service-token";

/// A server process of the bench's.
pub struct Server {
    child: Child,
    /// What the clients connect to.
    pub ws: SocketAddr,
    /// momo: the users' access tokens.
    pub tokens: Vec<String>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process and waits for it.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two TCP ports on 127.0.0.1 that nothing listens on now (both held until both are
/// found, so they differ): a server's HTTP and RTMP addresses.
pub fn free_ports() -> Result<(SocketAddr, SocketAddr)> {
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").context("no free port on 127.0.0.1");
    let (a, b) = (bind()?, bind()?);
    Ok((a.local_addr()?, b.local_addr()?))
}

/// Starts `bin serve` on fresh `dir`, with `fanout` (`shared` or `naive`) and `env`
/// added to its environment (a cluster's settings), and registers `users` users.
pub async fn momo(
    bin: &Path,
    dir: &Path,
    http: SocketAddr,
    rtmp: SocketAddr,
    fanout: &str,
    env: &[(String, String)],
    users: usize,
) -> Result<Server> {
    fresh_dir(dir)?;
    let log = std::fs::File::create(dir.join("momo.log"))?;
    let child = Command::new(bin)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--http")
        .arg(http.to_string())
        .arg("--rtmp")
        .arg(rtmp.to_string())
        .env("MOMO_CHAT__SERVICE_TOKEN", SERVICE_TOKEN)
        .env("MOMO_CHAT__FANOUT", fanout)
        .env("MOMO_LOG_LEVEL", "warn")
        // Every bench client comes from 127.0.0.1: lift the per-address safeguards.
        .env("MOMO_AUTH__REGISTER_PER_HOUR", "10000000")
        .env("MOMO_HTTP_MAX_CONNECTIONS", "0")
        .env("MOMO_HTTP_MAX_CONNECTIONS_PER_IP", "0")
        .env("MOMO_MEDIA__RTMP_MAX_CONNECTIONS_PER_IP", "0")
        .env("MOMO_CHAT__MAX_CONNECTIONS", "0")
        .env("MOMO_CHAT__MAX_CONNECTIONS_PER_IP", "0")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let mut server = Server {
        child,
        ws: http,
        tokens: Vec::new(),
    };
    let base = format!("http://{http}");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let health = Target::new("healthz", Method::GET, &format!("{base}/healthz"))?;
        if matches!(load::fetch(&health, Duration::from_secs(2)).await, Ok((s, _)) if s.is_success())
        {
            break;
        }
        if let Some(status) = server.child.try_wait()? {
            bail!(
                "momo exited ({status}) before listening; see {}",
                dir.join("momo.log").display()
            );
        }
        if Instant::now() > deadline {
            bail!("momo did not answer /healthz within {START_TIMEOUT:?}");
        }
        sleep(Duration::from_millis(100)).await;
    }
    for i in 0..users {
        server
            .tokens
            .push(register(&base, &format!("chatbench{i}")).await?);
    }
    Ok(server)
}

/// Where a cluster's nodes find the machine's PostgreSQL, NATS and Redis, and the tools
/// that create and clear what each cluster of the bench's keeps there.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Cluster nodes: the PostgreSQL server (`postgres://user@host:port/`) on which each
    /// cluster gets a database of its own, created and dropped through `--psql`.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/")]
    pub postgres: String,
    /// Cluster nodes: the psql binary that creates and drops the databases.
    #[arg(long, default_value = "psql")]
    pub psql: PathBuf,
    /// Cluster nodes: the NATS the nodes share (not a nats-server the bench starts).
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub cluster_nats: String,
    /// Cluster nodes: the Redis the nodes share, under a key prefix of each cluster's own.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis: String,
    /// Cluster nodes: the redis-cli binary that deletes each cluster's keys afterwards.
    #[arg(long, default_value = "redis-cli")]
    pub redis_cli: PathBuf,
}

impl ClusterArgs {
    /// A fresh cluster named `name` (its database and Redis prefix) on these services.
    pub fn create(&self, name: &str) -> Result<Cluster> {
        Cluster::create(
            &self.psql,
            &self.redis_cli,
            &self.postgres,
            &self.cluster_nats,
            &self.redis,
            name,
        )
    }
}

/// What two nodes of a cluster share, made fresh for one step on the machine's own
/// PostgreSQL, NATS and Redis: a new database and a Redis prefix of its own (both
/// cleared again when this is dropped, after the nodes have stopped), one JWT secret and
/// the service token. The nodes take it all through their environment.
pub struct Cluster {
    psql: PathBuf,
    redis_cli: PathBuf,
    redis_url: String,
    admin_url: String,
    database: String,
    pub env: Vec<(String, String)>,
}

impl Cluster {
    /// Creates database `name` through `postgres` (`postgres://user@host:port/`); `name`
    /// is also the Redis prefix, whose keys `redis_cli` deletes at the end.
    pub fn create(
        psql: &Path,
        redis_cli: &Path,
        postgres: &str,
        nats: &str,
        redis: &str,
        name: &str,
    ) -> Result<Self> {
        let base = if postgres.ends_with('/') {
            postgres.to_string()
        } else {
            format!("{postgres}/")
        };
        let cluster = Cluster {
            psql: psql.to_path_buf(),
            redis_cli: redis_cli.to_path_buf(),
            redis_url: redis.to_string(),
            admin_url: format!("{base}postgres"),
            database: name.to_string(),
            env: vec![
                ("MOMO_DATABASE_URL".into(), format!("{base}{name}")),
                ("MOMO_CLUSTER__NATS_URL".into(), nats.into()),
                ("MOMO_CLUSTER__REDIS_URL".into(), redis.into()),
                ("MOMO_CLUSTER__REDIS_PREFIX".into(), name.into()),
                // Chat needs no video files; a cluster needs them declared shared.
                (
                    "MOMO_VIDEOS__STORAGE_URL".into(),
                    format!("file://{}", std::env::temp_dir().join(name).display()),
                ),
                (
                    "MOMO_AUTH__JWT_SECRET".into(),
                    "momo-bench-chat-cluster-secret-0123456789".into(),
                ),
            ],
        };
        cluster.sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        cluster.sql(&format!("CREATE DATABASE {name}"))?;
        Ok(cluster)
    }

    /// The environment of node `node` (its own name among the others).
    pub fn node_env(&self, node: usize) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        env.push((
            "MOMO_CLUSTER__NODE_ID".into(),
            format!("{}-node{node}", self.database),
        ));
        env
    }

    fn sql(&self, statement: &str) -> Result<()> {
        let out = Command::new(&self.psql)
            .args(["-v", "ON_ERROR_STOP=1", "-qAtc", statement, &self.admin_url])
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", self.psql.display()))?;
        if !out.status.success() {
            bail!(
                "{statement}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// Deletes the keys the nodes left under this cluster's Redis prefix (online
    /// counts keep no expiry).
    fn clear_redis(&self) -> Result<()> {
        let cli = |args: &[&str]| -> Result<String> {
            let out = Command::new(&self.redis_cli)
                .args(["-u", &self.redis_url])
                .args(args)
                .stdin(Stdio::null())
                .output()
                .with_context(|| format!("cannot run {}", self.redis_cli.display()))?;
            if !out.status.success() {
                bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
            }
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let pattern = format!("{}:*", self.database);
        let listed = cli(&["--scan", "--pattern", &pattern])?;
        let keys: Vec<&str> = listed.lines().filter(|k| !k.is_empty()).collect();
        for chunk in keys.chunks(100) {
            let mut args = vec!["del"];
            args.extend_from_slice(chunk);
            cli(&args)?;
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(e) = self.clear_redis() {
            eprintln!(
                "momo-bench: could not clear Redis keys {}:*: {e:#}",
                self.database
            );
        }
        if let Err(e) = self.sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.database
        )) {
            eprintln!("momo-bench: could not drop {}: {e:#}", self.database);
        }
    }
}

/// Registers `username`; returns its access token.
async fn register(base: &str, username: &str) -> Result<String> {
    let body = json!({"username": username, "password": PASSWORD}).to_string();
    let t = Target::new(
        "register",
        Method::POST,
        &format!("{base}/api/v1/auth/register"),
    )?
    .json_body(&body)?;
    let (status, answer) = load::fetch(&t, Duration::from_secs(30)).await?;
    let v: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("registering {username} answered {status}: {v}");
    }
    v["access_token"]
        .as_str()
        .map(str::to_string)
        .context("the register answer has no access_token")
}

/// The config file for a nats-server of the bench's.
pub fn nats_config(client: SocketAddr, ws: SocketAddr) -> String {
    format!(
        "# Written by momo-bench chat.\n\
         host: \"{}\"\n\
         port: {}\n\
         max_connections: 65536\n\
         websocket {{\n  host: \"{}\"\n  port: {}\n  no_tls: true\n}}\n",
        client.ip(),
        client.port(),
        ws.ip(),
        ws.port()
    )
}

/// Starts `bin -c DIR/nats.conf` with a client port and a WebSocket port.
pub async fn nats(bin: &Path, dir: &Path, client: SocketAddr, ws: SocketAddr) -> Result<Server> {
    fresh_dir(dir)?;
    let conf = dir.join("nats.conf");
    std::fs::write(&conf, nats_config(client, ws))?;
    let log = std::fs::File::create(dir.join("nats.log"))?;
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let mut server = Server {
        child,
        ws,
        tokens: Vec::new(),
    };
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let up = tokio::net::TcpStream::connect(ws).await.is_ok()
            && tokio::net::TcpStream::connect(client).await.is_ok();
        if up {
            break;
        }
        if let Some(status) = server.child.try_wait()? {
            bail!(
                "nats-server exited ({status}) before listening; see {}",
                dir.join("nats.log").display()
            );
        }
        if Instant::now() > deadline {
            bail!("nats-server did not listen within {START_TIMEOUT:?}");
        }
        sleep(Duration::from_millis(100)).await;
    }
    Ok(server)
}

/// `bin --version`'s first line, for the report.
pub fn version(bin: &Path) -> String {
    Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
        .unwrap_or_else(|| "unknown version".into())
}

fn fresh_dir(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nats_config_has_a_plain_websocket_listener() {
        let conf = nats_config(
            "127.0.0.1:18402".parse().unwrap(),
            "127.0.0.1:18403".parse().unwrap(),
        );
        assert!(conf.contains("port: 18402\n"));
        assert!(
            conf.contains("websocket {\n  host: \"127.0.0.1\"\n  port: 18403\n  no_tls: true\n}")
        );
    }
}
