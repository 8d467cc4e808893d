//! How a push to one user finds the node that holds the user's sockets, three ways, on
//! the machine's NATS and Redis:
//!
//! - **per-user subjects**: each node subscribes `…user.{id}.push` while it holds the
//!   user; a push is one publish, heard only where the user is. A node that dies leaves
//!   the NATS server to forget its subscriptions (the "storm of unsubscribes").
//! - **Redis map**: each node writes `route:{id} = node` (with a TTL it refreshes) and
//!   listens on one subject of its own; a push reads the map, then publishes to the
//!   node. A node that dies leaves stale routes until they expire.
//! - **every node hears all** (`…user.>` on every node): no state at all, and every
//!   push reaches every node.
//!
//! The nodes are plain NATS connections of the bench (the text protocol over TCP), so
//! that "a node dies" is its socket closing, exactly what the server sees of a `kill
//! -9`. The pushing node uses async-nats and a multiplexed Redis connection, as momo
//! does. Separately, what one per-user subscription costs a node is measured on momo's
//! own bus (`bus::NatsBus`, a subscription task and queue per pattern).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use clap::Args;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::chat::nats_proto::{Event, Parser};
use crate::stats::{median, percentile};

#[derive(Debug, Args)]
pub struct RoutesArgs {
    /// The NATS server the nodes share.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats: String,
    /// The Redis server the nodes share (for the map).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// Nodes holding users.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Users connected to each node.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Pushes per round, each to a user chosen at random.
    #[arg(long, default_value_t = 20_000)]
    pushes: usize,
    /// Pushes per second.
    #[arg(long, default_value_t = 2_000)]
    rate: u32,
    /// How long a route in the Redis map lives without a refresh (the stale window after
    /// a node dies).
    #[arg(long, default_value = "30s", value_parser = crate::args::duration)]
    route_ttl: Duration,
    /// Rounds; each runs every scheme once, interleaved.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Heading of the Markdown section.
    #[arg(
        long,
        default_value = "A push to one user: per-user subjects, a Redis map, or every node"
    )]
    title: String,
    /// Also append a Markdown section to this file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    PerUser,
    RedisMap,
    Everyone,
}

impl Scheme {
    const ALL: [Scheme; 3] = [Scheme::PerUser, Scheme::RedisMap, Scheme::Everyone];
    fn name(self) -> &'static str {
        match self {
            Scheme::PerUser => "per-user subjects",
            Scheme::RedisMap => "Redis map",
            Scheme::Everyone => "every node hears all",
        }
    }
}

/// What one scheme measured in one round.
#[derive(Debug, Default, Clone)]
struct Round {
    /// Time to register one node's users (SUBs and a PING answered, or the map's SETs).
    register_ms: f64,
    /// The NATS server's RSS growth per registered user, bytes.
    server_bytes_per_user: Option<f64>,
    p50_us: u64,
    p99_us: u64,
    /// Messages the nodes received per push.
    nats_per_push: f64,
    /// Pushes that reached no node.
    lost: u64,
    /// After one node's socket closed: time until the server answers "no responders"
    /// for its users.
    forget_ms: Option<f64>,
    /// The NATS server's CPU while forgetting, ms.
    forget_cpu_ms: Option<f64>,
}

/// Nanoseconds since the bench started: the stamp a push carries.
fn stamp() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// One node: a NATS connection reading messages and taking latencies.
struct Node {
    writer: Arc<tokio::sync::Mutex<tokio::net::tcp::OwnedWriteHalf>>,
    pongs: tokio::sync::mpsc::Receiver<()>,
    reader: JoinHandle<()>,
}

#[derive(Default)]
struct Tally {
    received: AtomicU64,
    latencies: Mutex<Vec<u64>>,
}

impl Node {
    /// Connects; every message whose payload is `stamp,user` with `user` among `mine`
    /// (or, when `mine` is `None`, any) is timed into `tally`; all are counted.
    async fn connect(url: &str, tally: Arc<Tally>, mine: Option<Arc<Vec<bool>>>) -> Result<Node> {
        let addr = url.trim().trim_start_matches("nats://");
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to NATS at {addr}"))?;
        stream.set_nodelay(true)?;
        let (mut rd, wr) = stream.into_split();
        let writer = Arc::new(tokio::sync::Mutex::new(wr));
        writer
            .lock()
            .await
            .write_all(
                b"CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"momo-bench node\"}\r\n",
            )
            .await?;
        let (pong_tx, pongs) = tokio::sync::mpsc::channel(16);
        let w = writer.clone();
        let reader = tokio::spawn(async move {
            let mut parser = Parser::default();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                parser.feed(&buf[..n]);
                while let Ok(Some(event)) = parser.next_event() {
                    match event {
                        Event::Msg { payload, .. } => {
                            tally.received.fetch_add(1, Ordering::Relaxed);
                            if let Some((sent, user)) = read_push(&payload) {
                                let counts = match &mine {
                                    Some(m) => m.get(user).copied().unwrap_or(false),
                                    None => true,
                                };
                                if counts {
                                    let us = stamp().saturating_sub(sent) / 1000;
                                    tally
                                        .latencies
                                        .lock()
                                        .unwrap_or_else(|p| p.into_inner())
                                        .push(us);
                                }
                            }
                        }
                        Event::Ping => {
                            let _ = w.lock().await.write_all(b"PONG\r\n").await;
                        }
                        Event::Pong => {
                            let _ = pong_tx.send(()).await;
                        }
                        _ => {}
                    }
                }
            }
        });
        Ok(Node {
            writer,
            pongs,
            reader,
        })
    }

    /// Sends `lines` and waits until the server has processed them (PING → PONG).
    async fn send_and_sync(&mut self, lines: &[u8]) -> Result<()> {
        {
            let mut w = self.writer.lock().await;
            w.write_all(lines).await?;
            w.write_all(b"PING\r\n").await?;
        }
        tokio::time::timeout(Duration::from_secs(30), self.pongs.recv())
            .await
            .context("NATS did not answer PING")?
            .ok_or_else(|| anyhow!("NATS closed the node's connection"))
    }

    /// The socket closes, as it does when the node's process is killed.
    fn die(self) {
        self.reader.abort();
        drop(self.writer);
    }
}

fn read_push(payload: &[u8]) -> Option<(u64, usize)> {
    let text = std::str::from_utf8(payload).ok()?;
    let (sent, user) = text.split_once(',')?;
    Some((sent.parse().ok()?, user.parse().ok()?))
}

/// The nats-server process on this machine, if there is one to read.
fn nats_pid() -> Option<u32> {
    let dir = std::fs::read_dir("/proc").ok()?;
    dir.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == "nats-server").then_some(pid)
    })
}

fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(ticks as f64 * 1000.0 / hz)
}

pub async fn run(a: RoutesArgs) -> Result<()> {
    if a.nodes < 2 || a.users == 0 || a.pushes == 0 || a.rate == 0 || a.rounds == 0 {
        bail!("--nodes must be at least 2 and --users, --pushes, --rate, --rounds above 0");
    }
    let pid = nats_pid();
    if pid.is_none() {
        eprintln!(
            "momo-bench: no nats-server process to read here; its memory and CPU are not reported"
        );
    }
    let subscription_bytes = momo_subscription_cost(&a).await?;
    let mut results: HashMap<&'static str, Vec<Round>> = HashMap::new();
    for round in 0..a.rounds {
        for scheme in Scheme::ALL {
            let r = one(&a, scheme, round, pid).await?;
            eprintln!(
                "round {} {:<22} register {:.1} ms, p50 {} µs, p99 {} µs, {:.2} msgs/push, lost {}, forget {:?} ms",
                round + 1,
                scheme.name(),
                r.register_ms,
                r.p50_us,
                r.p99_us,
                r.nats_per_push,
                r.lost,
                r.forget_ms
            );
            results.entry(scheme.name()).or_default().push(r);
        }
    }
    report(&a, &results, subscription_bytes, pid.is_some())
}

/// What one per-user subscription costs a momo node: `--users` subscriptions on momo's
/// NATS bus, the process's RSS before and after, per subscription.
async fn momo_subscription_cost(a: &RoutesArgs) -> Result<f64> {
    let bus = bus::NatsBus::connect(&a.nats, "momo-bench subscriptions")
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let me = std::process::id();
    let before = rss_bytes(me).unwrap_or(0);
    let mut subs = Vec::with_capacity(a.users);
    for user in 0..a.users {
        let pattern =
            bus::Pattern::new(format!("bench.cost.user.{user}.>")).map_err(|e| anyhow!("{e}"))?;
        subs.push(
            bus::Bus::subscribe(&bus, pattern, 64)
                .await
                .map_err(|e| anyhow!("{e}"))?,
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = rss_bytes(me).unwrap_or(0);
    drop(subs);
    Ok(after.saturating_sub(before) as f64 / a.users as f64)
}

async fn one(a: &RoutesArgs, scheme: Scheme, round: usize, pid: Option<u32>) -> Result<Round> {
    let run = format!("bench.routes.{}.{round}.{}", std::process::id(), stamp());
    let total = a.nodes * a.users;
    let node_of = |user: usize| user % a.nodes;
    let tally = Arc::new(Tally::default());
    let mut nodes = Vec::new();
    let mut out = Round::default();
    let redis = redis::Client::open(a.redis.as_str())?
        .get_connection_manager()
        .await
        .context("cannot connect to Redis")?;
    let rss_before = pid.and_then(rss_bytes);
    for n in 0..a.nodes {
        let mine: Vec<bool> = (0..total).map(|u| node_of(u) == n).collect();
        let mine = (scheme != Scheme::Everyone).then(|| Arc::new(mine));
        let mut node = Node::connect(&a.nats, tally.clone(), mine).await?;
        let started = Instant::now();
        match scheme {
            Scheme::PerUser => {
                let mut lines = String::new();
                for (sid, user) in (0..total).filter(|u| node_of(*u) == n).enumerate() {
                    lines.push_str(&format!("SUB {run}.user.{user}.push {}\r\n", sid + 1));
                }
                node.send_and_sync(lines.as_bytes()).await?;
            }
            Scheme::RedisMap => {
                node.send_and_sync(format!("SUB {run}.node.{n}.push 1\r\n").as_bytes())
                    .await?;
                let users: Vec<usize> = (0..total).filter(|u| node_of(*u) == n).collect();
                let ttl = a.route_ttl.as_millis() as u64;
                let mut tasks = tokio::task::JoinSet::new();
                for chunk in users.chunks(users.len().div_ceil(64)) {
                    let mut conn = redis.clone();
                    let chunk = chunk.to_vec();
                    let run = run.clone();
                    tasks.spawn(async move {
                        for user in chunk {
                            redis::cmd("SET")
                                .arg(format!("{run}:route:{user}"))
                                .arg(n)
                                .arg("PX")
                                .arg(ttl)
                                .query_async::<()>(&mut conn)
                                .await?;
                        }
                        Ok::<(), redis::RedisError>(())
                    });
                }
                while let Some(r) = tasks.join_next().await {
                    r??;
                }
            }
            Scheme::Everyone => {
                node.send_and_sync(format!("SUB {run}.user.> 1\r\n").as_bytes())
                    .await?;
            }
        }
        if n == 0 {
            out.register_ms = started.elapsed().as_secs_f64() * 1000.0;
        }
        nodes.push(node);
    }
    if let (Some(pid), Some(before)) = (pid, rss_before) {
        if scheme == Scheme::PerUser {
            let after = rss_bytes(pid).unwrap_or(before);
            out.server_bytes_per_user = Some(after.saturating_sub(before) as f64 / total as f64);
        }
    }

    let client = async_nats::connect(a.nats.as_str()).await?;
    let mut conn = redis.clone();
    let gap = Duration::from_secs_f64(1.0 / f64::from(a.rate));
    let mut next = Instant::now();
    let mut rng = Lcg(0x9e37_79b9_7f4a_7c15 ^ round as u64);
    for _ in 0..a.pushes {
        let now = Instant::now();
        if next > now {
            tokio::time::sleep(next - now).await;
        }
        next += gap;
        let user = (rng.next() % total as u64) as usize;
        let payload = Bytes::from(format!("{},{user}", stamp()));
        match scheme {
            Scheme::PerUser | Scheme::Everyone => {
                client
                    .publish(format!("{run}.user.{user}.push"), payload)
                    .await?;
            }
            Scheme::RedisMap => {
                let node: Option<usize> = redis::cmd("GET")
                    .arg(format!("{run}:route:{user}"))
                    .query_async(&mut conn)
                    .await?;
                if let Some(node) = node {
                    client
                        .publish(format!("{run}.node.{node}.push"), payload)
                        .await?;
                }
            }
        }
    }
    client.flush().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = tally.received.load(Ordering::Relaxed);
    let mut lat = std::mem::take(&mut *tally.latencies.lock().unwrap_or_else(|p| p.into_inner()));
    lat.sort_unstable();
    out.p50_us = percentile(&lat, 0.5);
    out.p99_us = percentile(&lat, 0.99);
    out.lost = (a.pushes as u64).saturating_sub(lat.len() as u64);
    out.nats_per_push = received as f64 / a.pushes as f64;

    // One node dies: how long the server takes to forget what it heard.
    if scheme == Scheme::PerUser {
        let probes: Vec<usize> = (0..total)
            .filter(|u| node_of(*u) == 0)
            .step_by(a.users.div_ceil(8).max(1))
            .collect();
        let cpu_before = pid.and_then(cpu_ms);
        let node = nodes.remove(0);
        let died = Instant::now();
        node.die();
        loop {
            let mut all_gone = true;
            for user in &probes {
                let req = async_nats::Request::new()
                    .payload(Bytes::new())
                    .timeout(Some(Duration::from_millis(20)));
                match client
                    .send_request(format!("{run}.user.{user}.push"), req)
                    .await
                {
                    Err(e) if e.kind() == async_nats::client::RequestErrorKind::NoResponders => {}
                    _ => all_gone = false,
                }
            }
            if all_gone {
                break;
            }
            if died.elapsed() > Duration::from_secs(30) {
                bail!("the server still routes to a dead node's users after 30 s");
            }
        }
        out.forget_ms = Some(died.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let (Some(pid), Some(b)) = (pid, cpu_before) {
            out.forget_cpu_ms = cpu_ms(pid).map(|c| c - b);
        }
    }
    for node in nodes {
        node.die();
    }
    if scheme == Scheme::RedisMap {
        let keys: Vec<String> = (0..total).map(|u| format!("{run}:route:{u}")).collect();
        for chunk in keys.chunks(1000) {
            redis::cmd("DEL")
                .arg(chunk)
                .query_async::<()>(&mut conn)
                .await?;
        }
    }
    Ok(out)
}

/// A small generator for the users pushed to (the same sequence for every scheme).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn report(
    a: &RoutesArgs,
    results: &HashMap<&'static str, Vec<Round>>,
    subscription_bytes: f64,
    server_read: bool,
) -> Result<()> {
    let med = |rs: &[Round], f: &dyn Fn(&Round) -> Option<f64>| -> Option<f64> {
        let v: Vec<f64> = rs.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| median(&v))
    };
    let show =
        |v: Option<f64>, digits: usize| v.map_or("–".to_owned(), |v| format!("{v:.digits$}"));
    let mut rows = String::new();
    let mut json_rows = Vec::new();
    for scheme in Scheme::ALL {
        let rs = &results[scheme.name()];
        let register = med(rs, &|r| Some(r.register_ms));
        let p50 = med(rs, &|r| Some(r.p50_us as f64));
        let p99 = med(rs, &|r| Some(r.p99_us as f64));
        let per_push = med(rs, &|r| Some(r.nats_per_push));
        let lost: u64 = rs.iter().map(|r| r.lost).sum();
        let forget = med(rs, &|r| r.forget_ms);
        let forget_cpu = med(rs, &|r| r.forget_cpu_ms);
        let server = med(rs, &|r| r.server_bytes_per_user);
        let p99s: Vec<String> = rs.iter().map(|r| r.p99_us.to_string()).collect();
        let redis_ops = match scheme {
            Scheme::RedisMap => format!(
                "1 GET per push; 1 SET per connect, 1 per user every {} s to refresh",
                a.route_ttl.as_secs() / 3
            ),
            _ => "–".to_owned(),
        };
        let dead = match scheme {
            Scheme::PerUser => format!(
                "server forgets in {} ms ({} ms of its CPU)",
                show(forget, 1),
                show(forget_cpu, 0)
            ),
            Scheme::RedisMap => format!(
                "routes stale up to {} s (pushes lost, as to any dead node)",
                a.route_ttl.as_secs()
            ),
            Scheme::Everyone => "nothing to forget".to_owned(),
        };
        rows.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            scheme.name(),
            show(register, 1),
            if scheme == Scheme::PerUser {
                show(server, 0)
            } else {
                "–".into()
            },
            show(p50, 0),
            p99s.join(", "),
            show(p99, 0),
            show(per_push, 2),
            lost,
            redis_ops,
            dead
        ));
        json_rows.push(json!({
            "scheme": scheme.name(), "register_ms": register, "server_bytes_per_user": server,
            "p50_us": p50, "p99_us": p99, "p99_us_per_round": rs.iter().map(|r| r.p99_us).collect::<Vec<_>>(),
            "nats_per_push": per_push, "lost": lost, "forget_ms": forget, "forget_cpu_ms": forget_cpu,
        }));
    }
    let report = json!({
        "scenario": "routes", "nodes": a.nodes, "users_per_node": a.users, "pushes": a.pushes,
        "rate": a.rate, "rounds": a.rounds, "momo_bytes_per_subscription": subscription_bytes,
        "results": json_rows,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(path) = &a.markdown {
        let server_note = if server_read {
            "the NATS server's memory and CPU read from /proc"
        } else {
            "the NATS server's memory and CPU not readable here"
        };
        let section = format!(
            "{head}{nodes} nodes × {users} users on this machine's NATS and Redis; {pushes} pushes per \
             round at {rate}/s, each to a user chosen at random; {rounds} rounds, the schemes \
             interleaved, medians; {server_note}. Registering is one node's users (SUBs until a \
             PING is answered, or the map's SETs 64 at a time). A momo node pays \
             **{sub:.0} bytes** of its own memory per per-user subscription on its bus \
             (`bus::NatsBus`, {users} subscriptions).\n\n\
             | scheme | register one node's users, ms | NATS server bytes per user | push p50 µs | \
             push p99 µs, per round | median | messages per push | lost | Redis | when a node dies |\n\
             |---|---:|---:|---:|---|---:|---:|---:|---|---|\n{rows}\n",
            head = crate::context::section_head(&a.title),
            nodes = a.nodes,
            users = a.users,
            pushes = a.pushes,
            rate = a.rate,
            rounds = a.rounds,
            sub = subscription_bytes,
        );
        crate::report::append_section(path, &section)?;
    }
    Ok(())
}
