//! `chat`: what WebSocket chat clients cost a server, momo's gateway against
//! nats-server, measured the same way in one run.
//!
//! The bench starts every server itself, fresh for each group of steps: momo twice
//! (`[chat] fanout = "shared"`, and `"naive"` to show what sharing saves) and a
//! nats-server of its own with a WebSocket listener ([`servers`]). It then connects
//! thousands of clients, one task each ([`client`]), from many loopback source
//! addresses ([`addrs`]), and measures from outside, through `/proc`:
//!
//! - memory per idle connection: RSS with everyone connected (heartbeats on) less RSS
//!   before the first client, over the clients;
//! - broadcast into one room (one subject) of `--broadcast-at` members at each
//!   `--rates`: deliveries per second, the server's CPU and its CPU per thousand
//!   deliveries, and the end-to-end latency of every delivery ([`latency`]), from a
//!   publisher on its own thread ([`publisher`]).
//!
//! Servers are interleaved in rounds, like the other scenarios, and the report gives
//! per-round figures, medians and ratios to nats-server ([`report`]).
//!
//! `momo-2-nodes` is one room split across two momo nodes in cluster mode, on the
//! machine's own PostgreSQL (a fresh database per step), NATS and Redis
//! ([`servers::Cluster`]): members alternate between the nodes, the publisher pushes
//! to the first, and the clients record members on the publisher's node and on the
//! other apart. CPU is both nodes' together; a subscriber on the cluster's NATS counts
//! what crosses between them for the room ([`nats_count`]).

mod addrs;
mod client;
mod latency;
mod nats_count;
pub mod nats_proto;
mod publisher;
mod report;
pub(crate) mod servers;
mod wsconn;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use tokio::time::{sleep, sleep_until, Instant};

use crate::args;
use crate::live::procstat::{Proc, Sample};
use client::{Clients, Protocol};
use publisher::{Publisher, Sink};
use report::{Broadcast, ChatReport, Group, Split};

/// The room (momo) and subject (NATS) everyone joins.
const ROOM: &str = "1";
const SUBJECT: &str = "room.1";

/// A server setup to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Server {
    /// momo with `[chat] fanout = "shared"` (the default).
    Momo,
    /// momo with `[chat] fanout = "naive"`: a copy and a frame per member; measured
    /// at --broadcast-at only.
    MomoNaive,
    /// nats-server over WebSocket.
    Nats,
    /// Two momo nodes in cluster mode (shared fan-out), the room's members split
    /// between them, messages pushed on the first.
    #[value(name = "momo-2-nodes")]
    Momo2Nodes,
}

impl Server {
    pub fn label(self) -> &'static str {
        match self {
            Server::Momo => "momo",
            Server::MomoNaive => "momo-naive",
            Server::Nats => "nats",
            Server::Momo2Nodes => "momo-2-nodes",
        }
    }
}

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The momo binary to start (a release build).
    #[arg(long, default_value = "target/release/momo")]
    pub momo: PathBuf,
    /// The nats-server binary to start.
    #[arg(long, default_value = "nats-server")]
    pub nats_server: PathBuf,
    /// Servers to measure, interleaved in this order in every round.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "momo,momo-naive,nats"
    )]
    pub servers: Vec<Server>,
    /// Clients per step; a comma list runs one step per count, each on a freshly
    /// started server.
    #[arg(long, value_delimiter = ',', default_value = "10000,19000",
          value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub connections: Vec<u32>,
    /// The step (one of --connections) whose clients also receive the broadcasts.
    #[arg(long, default_value_t = 10_000)]
    pub broadcast_at: u32,
    /// Broadcast rates, messages per second into the room; one window each.
    #[arg(long, value_delimiter = ',', default_value = "20,100",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rates: Vec<u32>,
    /// Measured time per broadcast rate.
    #[arg(long, default_value = "20s", value_parser = args::duration)]
    pub duration: Duration,
    /// Broadcasting before each measured window.
    #[arg(long, default_value = "2s", value_parser = args::duration)]
    pub warmup: Duration,
    /// Window with every client connected and nothing broadcast, at whose end memory
    /// is read.
    #[arg(long, default_value = "5s", value_parser = args::duration)]
    pub idle: Duration,
    /// Rounds; each runs every server and step once.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub rounds: u16,
    /// Client connects per second.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ramp: u32,
    /// Heartbeat period of every client (momo op 2, NATS PING).
    #[arg(long, default_value = "30s", value_parser = args::duration)]
    pub heartbeat: Duration,
    /// Bytes of every broadcast message body (JSON with the send time and padding).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(16..=4000))]
    pub payload: u32,
    /// Clients per loopback source address (127.0.0.2, .3, …; ≤ 28k with the
    /// default ephemeral port range).
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=28_000))]
    pub per_address: u32,
    /// First of six ports on 127.0.0.1 the servers listen on: momo HTTP, momo
    /// RTMP, nats client, nats WebSocket, the second node's HTTP and RTMP.
    #[arg(long, default_value_t = 18400)]
    pub port_base: u16,
    /// Where the servers' data, configs and logs go (subfolders are wiped per start).
    #[arg(long, default_value = "/tmp/momo-bench-chat")]
    pub work_dir: PathBuf,
    /// momo users whose tokens the clients share (one user may hold many connections).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub users: u16,
    /// Runtime threads for the clients (the publisher has its own thread).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: u16,
    /// momo-2-nodes: the services the two nodes share.
    #[command(flatten)]
    pub cluster: servers::ClusterArgs,
    /// Heading of the Markdown section.
    #[arg(long, default_value = report::TITLE)]
    pub title: String,
    /// Also append a Markdown section with the results to this file.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

impl ChatArgs {
    fn check(&self) -> Result<()> {
        if self.connections.is_empty() || self.servers.is_empty() || self.rates.is_empty() {
            bail!("--connections, --servers and --rates each need at least one value");
        }
        if !self.connections.contains(&self.broadcast_at) {
            bail!(
                "--broadcast-at {} is not one of --connections",
                self.broadcast_at
            );
        }
        if self.duration.is_zero() || self.heartbeat.is_zero() {
            bail!("--duration and --heartbeat must be more than zero");
        }
        if self.port_base > u16::MAX - 6 {
            bail!("--port-base leaves no room for six ports");
        }
        Ok(())
    }

    fn addr(&self, offset: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port_base + offset))
    }
}

/// Runs the whole `chat` command.
pub async fn run(a: ChatArgs) -> Result<()> {
    a.check()?;
    let most = a.connections.iter().copied().max().unwrap_or(0);
    let nofile = addrs::raise_open_files(u64::from(most) + 256)?;
    eprintln!("momo-bench: open files allowed: {nofile}");
    let mut sources = addrs::SourceAddrs::new(a.per_address as usize);
    let me = Proc::current();
    let mut groups = Vec::new();
    for round in 1..=usize::from(a.rounds) {
        for &server in &a.servers {
            for &n in &a.connections {
                if server == Server::MomoNaive && n != a.broadcast_at {
                    continue;
                }
                eprintln!(
                    "momo-bench: round {round}/{}: {} with {n} clients",
                    a.rounds,
                    server.label()
                );
                let tag = groups.len() + 1;
                let g = group(&a, server, n as usize, tag, &mut sources, &me).await?;
                eprintln!("momo-bench:   {}", g.one_line());
                groups.push(Group { round, ..g });
            }
        }
    }
    let report = ChatReport::new(&a, groups);
    println!("{}", report.to_json()?);
    if let Some(path) = &a.markdown {
        report.append_markdown(path)?;
        eprintln!("momo-bench: appended the results to {}", path.display());
    }
    Ok(())
}

/// One server started fresh, `n` clients, the idle window and (at --broadcast-at)
/// the broadcasts. `tag` tells this group's database, Redis prefix and room apart
/// from every other's on the shared services.
async fn group(
    a: &ChatArgs,
    which: Server,
    n: usize,
    tag: usize,
    sources: &mut addrs::SourceAddrs,
    me: &Proc,
) -> Result<Group> {
    let users = usize::from(a.users);
    let mut cluster = None;
    let (nodes, protocol, sink, room) = match which {
        Server::Momo | Server::MomoNaive => {
            let fanout = if which == Server::Momo {
                "shared"
            } else {
                "naive"
            };
            let dir = a.work_dir.join(which.label());
            let s = servers::momo(&a.momo, &dir, a.addr(0), a.addr(1), fanout, &[], users).await?;
            let protocol = Protocol::Momo {
                tokens: Arc::new(s.tokens.clone()),
                room: format!("live://{ROOM}"),
            };
            let sink = Sink::Momo {
                http: a.addr(0),
                room: ROOM.into(),
                token: servers::SERVICE_TOKEN.into(),
            };
            (vec![s], protocol, sink, ROOM.to_string())
        }
        Server::Momo2Nodes => {
            // A room of this run's own: other users of the shared NATS stay out of the
            // count.
            let room = format!("{}{tag:03}", std::process::id());
            let name = format!("momo_bench_chat_{}_{tag}", std::process::id());
            let c = a.cluster.create(&name)?;
            let dir = a.work_dir.join(which.label());
            // One after the other: the first runs the migrations.
            let first = servers::momo(
                &a.momo,
                &dir.join("node1"),
                a.addr(0),
                a.addr(1),
                "shared",
                &c.node_env(1),
                users,
            )
            .await?;
            let second = servers::momo(
                &a.momo,
                &dir.join("node2"),
                a.addr(4),
                a.addr(5),
                "shared",
                &c.node_env(2),
                0,
            )
            .await?;
            cluster = Some(c);
            let protocol = Protocol::Momo {
                tokens: Arc::new(first.tokens.clone()),
                room: format!("live://{room}"),
            };
            let sink = Sink::Momo {
                http: a.addr(0),
                room: room.clone(),
                token: servers::SERVICE_TOKEN.into(),
            };
            (vec![first, second], protocol, sink, room)
        }
        Server::Nats => {
            let dir = a.work_dir.join("nats");
            let s = servers::nats(&a.nats_server, &dir, a.addr(2), a.addr(3)).await?;
            let sink = Sink::Nats {
                addr: a.addr(2),
                subject: SUBJECT.into(),
            };
            (
                vec![s],
                Protocol::Nats {
                    subject: SUBJECT.into(),
                },
                sink,
                ROOM.to_string(),
            )
        }
    };
    sleep(Duration::from_secs(1)).await;
    let procs = nodes
        .iter()
        .map(|s| Proc::pid(s.pid()))
        .collect::<Result<Vec<_>>>()?;
    let proc = Procs(procs);
    let base = proc.sample()?;
    let counter = match &cluster {
        Some(_) => Some(nats_count::NatsCounter::start(
            &a.cluster.cluster_nats,
            &format!("momo.room.{room}.>"),
        )?),
        None => None,
    };

    // Connect.
    let clients = Arc::new(Clients::default());
    let protocol = Arc::new(protocol);
    let addrs = sources.take(n)?;
    let per = sources.per_addr();
    let mut tasks = Vec::with_capacity(n);
    let t0 = Instant::now();
    for i in 0..n {
        sleep_until(t0 + Duration::from_secs_f64(i as f64 / f64::from(a.ramp))).await;
        let plan = client::Plan {
            index: i,
            source: addrs[i / per],
            // Members alternate between the nodes; the publisher pushes to the first.
            server: nodes[i % nodes.len()].ws,
            heartbeat: a.heartbeat,
            first_beat: a.heartbeat.mul_f64(i as f64 / n as f64),
            far: i % nodes.len() != 0,
        };
        tasks.push(tokio::spawn(client::run(
            protocol.clone(),
            plan,
            clients.clone(),
        )));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && clients.ready.load(Ordering::Relaxed) + clients.failed.load(Ordering::Relaxed) < n
    {
        sleep(Duration::from_millis(50)).await;
    }
    let connect_s = t0.elapsed().as_secs_f64();
    sleep(Duration::from_secs(2)).await;

    // Idle.
    let connected = clients.ready.load(Ordering::Relaxed);
    let (s0, b0) = (proc.sample()?, me.sample()?);
    sleep(a.idle).await;
    let (s1, b1) = (proc.sample()?, me.sample()?);
    let idle_s = a.idle.as_secs_f64();

    // Broadcast.
    let mut broadcasts = Vec::new();
    if n == a.broadcast_at as usize {
        for &rate in &a.rates {
            let publisher = Publisher::start(sink.clone(), rate, a.payload as usize)?;
            sleep(a.warmup).await;
            let members = clients.ready.load(Ordering::Relaxed);
            clients.recorder.open();
            clients.far.open();
            if let Some(c) = &counter {
                c.open();
            }
            let sent0 = publisher.sent();
            let (p0, q0, w0) = (proc.sample()?, me.sample()?, Instant::now());
            sleep(a.duration).await;
            let near = clients.recorder.close_tally();
            let far = clients.far.close_tally();
            let sent1 = publisher.sent();
            let nats = counter.as_ref().map(|c| c.close());
            let (p1, q1) = (proc.sample()?, me.sample()?);
            let window_s = w0.elapsed().as_secs_f64();
            publisher.stop()?;
            let all = near.plus(&far);
            let mut b = Broadcast::new(
                rate,
                members,
                window_s,
                sent1 - sent0,
                all.deliveries,
                all.unstamped,
                all.latency(),
                (p0, p1),
                (q0, q1),
            );
            if let Some(nats) = nats {
                b.split = Some(Split::new(&near, &far, nats, sent1 - sent0));
            }
            eprintln!("momo-bench:   {}", b.one_line());
            broadcasts.push(b);
            // Let the queues drain before the next rate.
            sleep(Duration::from_secs(1)).await;
        }
    }

    let lost = clients.lost.load(Ordering::Relaxed);
    let failed = clients.failed.load(Ordering::Relaxed);
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    if let Some(mut c) = counter {
        c.finish()?;
    }
    for s in nodes {
        s.stop();
    }
    // Only now, with both nodes gone, is the database dropped.
    drop(cluster);
    Ok(Group {
        server: which.label().into(),
        round: 0,
        clients: n,
        connected,
        failed,
        lost,
        connect_s,
        rss_base_kib: base.rss_kib,
        rss_kib: s1.rss_kib,
        kib_per_connection: kib_per(base, s1, connected),
        idle_cpu_pct: cpu_pct(s0, s1, idle_s),
        idle_bench_cpu_pct: cpu_pct(b0, b1, idle_s),
        broadcasts,
        errors: clients.errors(),
    })
}

/// The processes of one setup (two for two nodes), read as one: their CPU and RSS
/// added up.
struct Procs(Vec<Proc>);

impl Procs {
    fn sample(&self) -> Result<Sample> {
        let mut sum = Sample {
            cpu_s: 0.0,
            rss_kib: 0,
        };
        for p in &self.0 {
            let s = p.sample()?;
            sum.cpu_s += s.cpu_s;
            sum.rss_kib += s.rss_kib;
        }
        Ok(sum)
    }
}

fn kib_per(base: Sample, now: Sample, connections: usize) -> f64 {
    if connections == 0 {
        return 0.0;
    }
    (now.rss_kib as f64 - base.rss_kib as f64) / connections as f64
}

fn cpu_pct(a: Sample, b: Sample, secs: f64) -> f64 {
    (b.cpu_s - a.cpu_s) / secs * 100.0
}
