//! `edges`: what a viewer costs on an edge (a cluster node that pulls the stream from
//! the node it was published to) against a viewer on that origin, and how long a
//! viewer waits for its first picture on an edge that is not pulling yet.
//!
//! The bench starts two momo nodes in cluster mode on the machine's PostgreSQL, NATS
//! and Redis (chat's [`servers`]), creates a room on the first, the origin, and
//! publishes a file to it in real time (live's [`Publisher`]). Then, in one run:
//!
//! 1. [`first_pictures`]: once the edge pulls nothing (its `media_pulls` gauge at 0),
//!    a viewer on the edge (cold: its request starts the pull), at once a second one
//!    (warm: the pull runs), and one on the origin ([`first_picture`]).
//! 2. [`cpu_rounds`], per round: [`idle_windows`], both nodes with the publisher
//!    alone, with one viewer on the origin, then with one on the edge, which makes it
//!    pull (what a pull costs each side against what a viewer of the origin's own
//!    costs it, and the rates each node's viewers' CPU is counted from); then per
//!    viewer count a step of RTMP viewers on the origin and one on the edge (live's
//!    [`step`]): each node's CPU per viewer-minute, and the origin's CPU over the
//!    edge's window, which is what serving the edge costs it.
//!
//! How long each pull outlived its edge's last viewer is recorded on the way, every
//! time the run waits for the edge to stop pulling.

mod first_picture;
mod report;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use tokio::time::{sleep, Instant};

use crate::api::Api;
use crate::args;
use crate::chat::servers::{self, ClusterArgs, Server};
use crate::live::endpoint::RtmpUrl;
use crate::live::procstat::{Proc, Sample};
use crate::live::publisher::{Looped, Publisher};
use crate::live::report::{Idle, StepReport};
use crate::live::step::{self, Protocol, Shape};
use first_picture::{metric, until_no_pull, Viewer, PULLS_STARTED};
use report::{CpuPair, EdgesReport, FirstPictures, Idles, StartSample};

/// How long the origin may take to accept the bench's publish.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one viewer may wait for its first picture: a cold edge gives its pull up
/// to twice its connect timeout (5 s) to start.
const PICTURE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long an edge may go on pulling after its last viewer left before the run
/// gives up on it (momo stops a pull 10 s after its last viewer).
const LINGER_LIMIT: Duration = Duration::from_secs(30);
/// A pause after the edge's gauge reads 0, for its ended pull to leave the hub.
const AFTER_PULL: Duration = Duration::from_millis(200);

#[derive(Debug, Args)]
pub struct EdgesArgs {
    /// The momo binary to start, twice (a release build).
    #[arg(long, default_value = "target/release/momo")]
    momo: PathBuf,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// The FLV file published to the origin in real time, looped (H.264/AAC as FFmpeg
    /// writes it).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "crates/media/tests/fixtures/sample.flv"
    )]
    file: PathBuf,
    /// Viewers per CPU step; a comma list runs each count on the origin, then on the
    /// edge, in every round.
    #[arg(long, value_delimiter = ',', default_value = "100,500",
          value_parser = clap::value_parser!(u32).range(1..=20_000))]
    players: Vec<u32>,
    /// Rounds of CPU steps; the figures are medians over rounds.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=100))]
    rounds: u16,
    /// Measured time per CPU step, once every viewer has started.
    #[arg(long, default_value = "30s", value_parser = args::duration)]
    duration: Duration,
    /// First pictures on a cold edge; each waits for the edge's last pull to end
    /// (momo stops one 10 s after its last viewer).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    cold: u16,
    /// Each of a round's three idle windows: the publisher alone, one viewer on the
    /// origin, one on the edge (pulling for it).
    #[arg(long, default_value = "15s", value_parser = args::duration)]
    idle: Duration,
    /// Viewer connects per second in the CPU steps.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    ramp: u32,
    /// Time between the publish and anything else, for the origin to fill its caches.
    #[arg(long, default_value = "3s", value_parser = args::duration)]
    warmup: Duration,
    /// Pause after each CPU step's viewers left.
    #[arg(long, default_value = "3s", value_parser = args::duration)]
    settle: Duration,
    /// Where the nodes' data and logs go (wiped at the start).
    #[arg(long, default_value = "/tmp/momo-bench-edges")]
    work_dir: PathBuf,
    /// Runtime threads for the viewers (the publisher has its own thread).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: u16,
    /// Also append a Markdown section with the results to this file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

impl EdgesArgs {
    fn check(&self) -> Result<()> {
        if self.duration.is_zero() || self.idle.is_zero() {
            bail!("--duration and --idle must be more than zero");
        }
        if self.players.is_empty() {
            bail!("--players needs at least one count");
        }
        Ok(())
    }

    fn shape(&self, players: u32) -> Shape {
        Shape {
            players: players as usize,
            ramp: f64::from(self.ramp),
            burst: 1,
            start_timeout: Duration::from_secs(15),
            duration: self.duration,
            settle: self.settle,
        }
    }
}

/// Runs the whole `edges` command.
pub async fn run(a: EdgesArgs) -> Result<()> {
    a.check()?;
    let (looped, file) = Looped::read(&a.file)?;
    let cluster = a
        .cluster
        .create(&format!("momo_bench_edges_{}", std::process::id()))?;
    let nodes = Nodes::start(&a, &cluster.node_env(0), &cluster.node_env(1)).await?;
    eprintln!(
        "momo-bench: publishing {} ({:.0} kbit/s, {:.1} s lap) to the origin, room {}",
        file.path, file.kbps, file.lap_s, nodes.room
    );
    let publisher = Publisher::start(nodes.publish.clone(), looped, PUBLISH_TIMEOUT).await?;
    nodes.origin.api().wait_live(nodes.room).await?;
    sleep(a.warmup).await;

    let mut lingers = Vec::new();
    let starts = first_pictures(&a, &nodes, &mut lingers).await?;
    let (idle, steps) = cpu_rounds(&a, &nodes, &publisher, &mut lingers).await?;
    publisher.stop()?;
    // The nodes stop before their database is dropped.
    drop(nodes);
    drop(cluster);

    let mut report = EdgesReport::new(
        servers::version(&a.momo),
        file,
        &a,
        idle,
        FirstPictures::new(starts),
        lingers,
        steps,
    );
    report.stamp();
    for line in report.summary_lines() {
        eprintln!("momo-bench: {line}");
    }
    println!("{}", report.to_json()?);
    if let Some(path) = &a.markdown {
        report.append_markdown(path)?;
        eprintln!("momo-bench: appended the results to {}", path.display());
    }
    Ok(())
}

/// One `momo serve` of the run.
struct Node {
    server: Server,
    proc: Proc,
    http: SocketAddr,
    rtmp: SocketAddr,
}

impl Node {
    async fn start(
        a: &EdgesArgs,
        name: &str,
        env: &[(String, String)],
        users: usize,
    ) -> Result<Node> {
        let (http, rtmp) = servers::free_ports()?;
        let server = servers::momo(
            &a.momo,
            &a.work_dir.join(name),
            http,
            rtmp,
            "shared",
            env,
            users,
        )
        .await
        .with_context(|| format!("starting the {name}"))?;
        let proc = Proc::pid(server.pid())?;
        Ok(Node {
            server,
            proc,
            http,
            rtmp,
        })
    }

    fn api(&self) -> Api {
        Api {
            base: format!("http://{}", self.http),
        }
    }

    /// `rtmp://HOST:PORT/live/{name}` on this node.
    fn rtmp_url(&self, name: &str) -> Result<RtmpUrl> {
        RtmpUrl::parse(&format!("rtmp://{}/live/{name}", self.rtmp))
    }
}

/// The origin, the edge, and the room published to the first and played on both.
struct Nodes {
    origin: Node,
    edge: Node,
    room: i64,
    /// Where the bench publishes the room's stream: the origin, with its stream key.
    publish: RtmpUrl,
    /// Where viewers play it.
    on_origin: RtmpUrl,
    on_edge: RtmpUrl,
}

impl Nodes {
    /// Starts the origin (which runs the migrations, so it goes first) and the edge,
    /// and creates the room on the origin.
    async fn start(
        a: &EdgesArgs,
        origin_env: &[(String, String)],
        edge_env: &[(String, String)],
    ) -> Result<Nodes> {
        let origin = Node::start(a, "origin", origin_env, 1).await?;
        let edge = Node::start(a, "edge", edge_env, 0).await?;
        let token = origin
            .server
            .tokens
            .first()
            .context("no user on the origin")?;
        let (room, key) = origin.api().create_room(token).await?;
        Ok(Nodes {
            publish: origin.rtmp_url(&key)?,
            on_origin: origin.rtmp_url(&room.to_string())?,
            on_edge: edge.rtmp_url(&room.to_string())?,
            origin,
            edge,
            room,
        })
    }

    /// Both nodes' CPU and memory over `length`, as (origin, edge).
    async fn window(&self, length: Duration) -> Result<(Idle, Idle)> {
        let (o0, e0, t0) = (
            self.origin.proc.sample()?,
            self.edge.proc.sample()?,
            Instant::now(),
        );
        sleep(length).await;
        let (o1, e1) = (self.origin.proc.sample()?, self.edge.proc.sample()?);
        let took = t0.elapsed();
        Ok((Idle::new(o0, o1, took), Idle::new(e0, e1, took)))
    }

    /// Waits until the edge pulls nothing; returns how long that took in seconds.
    async fn until_edge_idle(&self) -> Result<f64> {
        let took = until_no_pull(self.edge.http, LINGER_LIMIT).await?;
        sleep(AFTER_PULL).await;
        Ok(took.as_secs_f64())
    }
}

/// Both nodes with the publisher alone, with one viewer on the origin, then with one
/// on the edge (the edge pulling).
async fn idle_windows(a: &EdgesArgs, nodes: &Nodes, round: usize) -> Result<Idles> {
    eprintln!("momo-bench: {:?} with the publisher alone", a.idle);
    let (origin_alone, edge_alone) = nodes.window(a.idle).await?;
    let (origin_one, _) = with_one_viewer(a, nodes, &nodes.on_origin, "origin").await?;
    let (origin_pulled, edge_pulling) = with_one_viewer(a, nodes, &nodes.on_edge, "edge").await?;
    let idle = Idles {
        round,
        window_s: a.idle.as_secs_f64(),
        origin_alone,
        edge_alone,
        origin_one,
        origin_pulled,
        edge_pulling,
    };
    eprintln!("momo-bench:   {}", idle.one_line());
    Ok(idle)
}

/// An idle window with one viewer playing `url` on node `name`.
async fn with_one_viewer(
    a: &EdgesArgs,
    nodes: &Nodes,
    url: &RtmpUrl,
    name: &str,
) -> Result<(Idle, Idle)> {
    eprintln!("momo-bench: {:?} with one viewer on the {name}", a.idle);
    let viewer = Viewer::start(url);
    viewer
        .first_picture(PICTURE_TIMEOUT)
        .await
        .with_context(|| format!("the {name}'s viewer"))?;
    nodes.window(a.idle).await
}

/// `--cold` times: a viewer on an edge that pulls nothing, a second at once, one on
/// the origin. Failures are recorded, not fatal: they are findings.
async fn first_pictures(
    a: &EdgesArgs,
    nodes: &Nodes,
    lingers: &mut Vec<f64>,
) -> Result<Vec<StartSample>> {
    let mut samples = Vec::new();
    for i in 0..a.cold {
        // The first time, the edge has never pulled.
        if i > 0 {
            lingers.push(nodes.until_edge_idle().await?);
        }
        let started = metric(nodes.edge.http, PULLS_STARTED).await?;
        let cold = Viewer::start(&nodes.on_edge);
        let cold_ms = cold.first_picture(PICTURE_TIMEOUT).await;
        let warm = Viewer::start(&nodes.on_edge);
        let warm_ms = warm.first_picture(PICTURE_TIMEOUT).await;
        // The edge's count says whether the first viewer did start a pull, and the
        // second did not.
        let started = metric(nodes.edge.http, PULLS_STARTED).await? - started;
        let origin = Viewer::start(&nodes.on_origin);
        let origin_ms = origin.first_picture(PICTURE_TIMEOUT).await;
        let s = StartSample::new(cold_ms, warm_ms, origin_ms, started);
        eprintln!(
            "momo-bench: first picture {}/{}: {}",
            i + 1,
            a.cold,
            s.one_line()
        );
        samples.push(s);
    }
    Ok(samples)
}

/// Per round: the idle windows, then per viewer count viewers on the origin (no pull
/// running), then on the edge, with the origin read over the edge's window too. Each
/// round's steps are counted from its own idle windows, so that a node's idle rate
/// drifting over the run falls on both alike.
async fn cpu_rounds(
    a: &EdgesArgs,
    nodes: &Nodes,
    publisher: &Publisher,
    lingers: &mut Vec<f64>,
) -> Result<(Vec<Idles>, Vec<CpuPair>)> {
    let on_origin = Protocol::Rtmp(Arc::new(nodes.on_origin.clone()));
    let on_edge = Protocol::Rtmp(Arc::new(nodes.on_edge.clone()));
    let mut idles = Vec::new();
    let mut pairs = Vec::new();
    for round in 1..=usize::from(a.rounds) {
        lingers.push(nodes.until_edge_idle().await?);
        eprintln!("momo-bench: round {round}/{}: idle windows", a.rounds);
        let idle = idle_windows(a, nodes, round).await?;
        for &n in &a.players {
            lingers.push(nodes.until_edge_idle().await?);
            eprintln!(
                "momo-bench: round {round}/{}: {n} viewers on the origin, then on the edge",
                a.rounds
            );
            let (origin, _) = step_on(
                a,
                n,
                &on_origin,
                (&nodes.origin, &idle.origin_one),
                None,
                publisher,
            )
            .await?;
            let (edge, beside) = step_on(
                a,
                n,
                &on_edge,
                (&nodes.edge, &idle.edge_pulling),
                Some(&nodes.origin),
                publisher,
            )
            .await?;
            let pair = CpuPair::new(round, n, origin, edge, beside, &idle);
            eprintln!("momo-bench:   {}", pair.one_line());
            pairs.push(pair);
        }
        idles.push(idle);
    }
    Ok((idles, pairs))
}

/// A step of `n` viewers playing `protocol`, whose cost is `node`'s CPU counted from
/// its `idle` rate; `beside` is read over the same window.
async fn step_on(
    a: &EdgesArgs,
    n: u32,
    protocol: &Protocol,
    (node, idle): (&Node, &Idle),
    beside: Option<&Node>,
    publisher: &Publisher,
) -> Result<(StepReport, Option<(Sample, Sample)>)> {
    publisher.check()?;
    let raw = step::run(
        protocol,
        a.shape(n),
        Some(&node.proc),
        beside.map(|b| &b.proc),
        Some(publisher.state()),
    )
    .await?;
    let beside = raw.beside;
    Ok((StepReport::new(raw, Some(idle), Some(idle.rss_kib)), beside))
}
