//! `webrtc`: what a WHEP viewer costs momo against SRS 5, side by side in one run, and
//! how long a picture takes from the encoder to a WebRTC viewer (glass to glass).
//!
//! The bench starts `momo serve` (WebRTC on a UDP port of its own) and, unless told
//! not to, SRS 5's WebRTC build through its start script; it publishes a file in real
//! time over RTMP to each in turn (live's [`Publisher`]), every picture stamped with the
//! time it was sent ([`stamp`]). Then per viewer count it connects that many WHEP
//! viewers on str0m ([`peer`]: full ICE and DTLS, frames counted, never decoded), a few
//! of them probes that read the stamps, and measures the server from `/proc` over the
//! window (momo with its audio bridge, an ffmpeg child; SRS transcodes in-process):
//! CPU per viewer-minute over the publisher-alone rate, memory per viewer, frames per
//! viewer-second and the probes' delays. Last, momo alone: a str0m WHIP publisher with
//! stamps and a probe viewer, for WHIP in to WHEP out.

mod peer;
mod report;
mod stamp;

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use tokio::sync::watch;
use tokio::time::{sleep, Instant};

use crate::api::Api;
use crate::args;
use crate::chat::servers::{self, Server};
use crate::live::endpoint::RtmpUrl;
use crate::live::procstat::{Proc, Sample};
use crate::live::publisher::{Looped, Publisher};
use crate::live::report::Idle;
use peer::Tally;
use report::{Delays, StepRow, WebRtcReport};

/// How long a server may take to accept the bench's publish.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub struct WebRtcArgs {
    /// The momo binary to start (a release build).
    #[arg(long, default_value = "target/release/momo")]
    momo: PathBuf,
    /// SRS's start script (`run-srs.sh` beside its WebRTC build); "" measures momo alone.
    #[arg(long, default_value = "../shared/anchors/srs/run-srs.sh")]
    srs: String,
    /// The FLV file published in real time, looped (H.264/AAC as FFmpeg writes it, NAL
    /// lengths of 4 bytes).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "crates/media/tests/fixtures/sample.flv"
    )]
    file: PathBuf,
    /// WHEP viewers per step; one step per count, for each server in turn.
    #[arg(long, value_delimiter = ',', default_value = "100,500,1000",
          value_parser = clap::value_parser!(u32).range(1..=5_000))]
    players: Vec<u32>,
    /// Measured time per step, once the viewers are connected.
    #[arg(long, default_value = "30s", value_parser = args::duration)]
    duration: Duration,
    /// Each server with the publisher alone, before its steps.
    #[arg(long, default_value = "10s", value_parser = args::duration)]
    idle: Duration,
    /// Time between the last viewer connecting and the window: new viewers get the
    /// cached GOP at three times real time, so a few seconds pass before all are live.
    #[arg(long, default_value = "5s", value_parser = args::duration)]
    settle: Duration,
    /// Viewer connects per second.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    ramp: u32,
    /// Viewers per step that also read the stamps (glass-to-glass delay).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    probes: u32,
    /// How long the WHIP-to-WHEP probe runs (momo).
    #[arg(long, default_value = "20s", value_parser = args::duration)]
    whip: Duration,
    /// Where the servers' data and logs go (wiped at the start).
    #[arg(long, default_value = "/tmp/momo-bench-webrtc")]
    work_dir: PathBuf,
    /// Also append a Markdown section with the results to this file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

/// A server under test: how to publish to it and play it, and its process.
struct Target {
    name: &'static str,
    proc: Proc,
    /// The server's own process without children, when they are counted in `proc`.
    own: Option<Proc>,
    publish: RtmpUrl,
    whep: String,
    _process: Process,
}

enum Process {
    Momo { _server: Server },
    Srs(Child),
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Process::Srs(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_udp() -> Result<SocketAddr> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?)
}

/// momo with WebRTC on a port of its own, a user and a room.
async fn start_momo(a: &WebRtcArgs) -> Result<(Target, Api, i64, String)> {
    let ((http, rtmp), udp) = (servers::free_ports()?, free_udp()?);
    let env = vec![
        ("MOMO_MEDIA__WEBRTC_UDP".to_string(), udp.to_string()),
        (
            "MOMO_MEDIA__WEBRTC_MAX_PEERS".to_string(),
            "10000".to_string(),
        ),
    ];
    let server = servers::momo(
        &a.momo,
        &a.work_dir.join("momo"),
        http,
        rtmp,
        "shared",
        &env,
        1,
    )
    .await?;
    let api = Api {
        base: format!("http://{http}"),
    };
    let token = server.tokens.first().context("no user")?.clone();
    let (room, key) = api.create_room(&token).await?;
    let target = Target {
        name: "momo",
        proc: Proc::pid(server.pid())?.with_children(),
        own: Some(Proc::pid(server.pid())?),
        publish: RtmpUrl::parse(&format!("rtmp://{rtmp}/live/{key}"))?,
        whep: format!("http://{http}/whep/{room}"),
        _process: Process::Momo { _server: server },
    };
    Ok((target, api, room, key))
}

/// SRS 5 (its WebRTC build) through its start script.
async fn start_srs(a: &WebRtcArgs) -> Result<Target> {
    let ((http, rtmp), udp) = (servers::free_ports()?, free_udp()?);
    let dir = a.work_dir.join("srs");
    std::fs::create_dir_all(&dir)?;
    let log = std::fs::File::create(dir.join("srs.log"))?;
    let child = Command::new(&a.srs)
        .args([rtmp.port(), http.port(), udp.port()].map(|p| p.to_string()))
        .env("SRS_HLS", "off")
        .env("SRS_RUN_DIR", &dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", a.srs))?;
    let pid = child.id();
    let process = Process::Srs(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(http).await.is_err() {
        if Instant::now() > deadline {
            bail!(
                "SRS did not listen on {http}; see {}",
                dir.join("srs.log").display()
            );
        }
        sleep(Duration::from_millis(100)).await;
    }
    Ok(Target {
        name: "srs",
        proc: Proc::pid(pid)?,
        own: None,
        publish: RtmpUrl::parse(&format!("rtmp://{rtmp}/live/test"))?,
        whep: format!("http://{http}/rtc/v1/whep/?app=live&stream=test"),
        _process: process,
    })
}

/// Runs the whole `webrtc` command.
pub async fn run(a: WebRtcArgs) -> Result<()> {
    if a.players.is_empty() || a.duration.is_zero() {
        bail!("--players needs a count and --duration a length");
    }
    let (looped, file) = Looped::read(&a.file)?;
    let _ = std::fs::remove_dir_all(&a.work_dir);
    std::fs::create_dir_all(&a.work_dir)?;
    let (momo, api, room, key) = start_momo(&a).await?;
    let mut targets = vec![momo];
    if !a.srs.is_empty() {
        targets.push(start_srs(&a).await?);
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let bench = Proc::current();
    let mut rows = Vec::new();
    for target in &targets {
        eprintln!("momo-bench: {} — publishing {}", target.name, file.path);
        let publisher = Publisher::start_with(
            target.publish.clone(),
            looped.clone(),
            PUBLISH_TIMEOUT,
            Some(stamp::stamp_flv),
        )
        .await?;
        sleep(Duration::from_secs(3)).await;
        let (start, end) = window(&target.proc, a.idle).await?;
        let idle = Idle::new(start, end, a.idle);
        for &players in &a.players {
            let mut row = step(&a, &http, target, players, &idle, &bench).await?;
            eprintln!("momo-bench: {}", row.summary());
            // An overloaded server may drop the publisher: say so, and go on with the
            // next server.
            let failed = publisher.check().err();
            if let Some(e) = &failed {
                row.errors.push(format!("after this step: {e:#}"));
            }
            rows.push(row);
            if failed.is_some() {
                break;
            }
        }
        if let Err(e) = publisher.stop() {
            eprintln!("momo-bench: {}: {e:#}", target.name);
        }
        // Let the server end the stream before the next one publishes.
        sleep(Duration::from_secs(2)).await;
    }
    let whip = whip_to_whep(&a, &http, &looped, &api, room, &key, &targets[0].whep).await?;
    eprintln!("momo-bench: WHIP to WHEP {}", whip.summary());
    let mut report = WebRtcReport::new(servers::version(&a.momo), file, rows, whip);
    report.stamp();
    println!("{}", report.to_json()?);
    if let Some(path) = &a.markdown {
        report.append_markdown(path)?;
        eprintln!("momo-bench: appended the results to {}", path.display());
    }
    drop(targets);
    Ok(())
}

/// The server's CPU and memory over `length` with nothing connecting.
async fn window(proc: &Proc, length: Duration) -> Result<(Sample, Sample)> {
    let start = proc.sample()?;
    sleep(length).await;
    Ok((start, proc.sample()?))
}

/// One step: `players` viewers of `target` for the measured window.
async fn step(
    a: &WebRtcArgs,
    http: &reqwest::Client,
    target: &Target,
    players: u32,
    idle: &Idle,
    bench: &Proc,
) -> Result<StepRow> {
    let tally = Arc::new(Tally::default());
    let (stop_tx, stop) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let gap = Duration::from_secs_f64(1.0 / f64::from(a.ramp));
    let started = Instant::now();
    for i in 0..players {
        // Probes spread over the step, so some connect late.
        let probe = i % (players / a.probes).max(1) == 0;
        tasks.spawn(peer::view(
            http.clone(),
            target.whep.clone(),
            probe,
            tally.clone(),
            stop.clone(),
        ));
        sleep(gap).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = tally.connected.load(Ordering::Relaxed) + tally.failed.load(Ordering::Relaxed);
        if done >= u64::from(players) || Instant::now() > deadline {
            break;
        }
        sleep(Duration::from_millis(100)).await;
    }
    let connect_s = started.elapsed().as_secs_f64();
    // Settle, then measure from a clean slate of counters.
    sleep(a.settle).await;
    let frames0 = (
        tally.video_frames.load(Ordering::Relaxed),
        tally.audio_frames.load(Ordering::Relaxed),
        tally.bytes.load(Ordering::Relaxed),
    );
    if let Ok(mut d) = tally.delays.lock() {
        d.clear();
    }
    let own0 = target.own.as_ref().map(Proc::sample).transpose()?;
    let (b0, (s0, s1)) = (bench.sample()?, window(&target.proc, a.duration).await?);
    let b1 = bench.sample()?;
    let own1 = target.own.as_ref().map(Proc::sample).transpose()?;
    // What the children (momo's audio bridge) spent, ms per minute.
    let children = match (own0, own1) {
        (Some(o0), Some(o1)) => {
            let tree = s1.cpu_s - s0.cpu_s;
            let own = o1.cpu_s - o0.cpu_s;
            Some((tree - own).max(0.0) * 60_000.0 / a.duration.as_secs_f64())
        }
        _ => None,
    };
    let frames1 = (
        tally.video_frames.load(Ordering::Relaxed),
        tally.audio_frames.load(Ordering::Relaxed),
        tally.bytes.load(Ordering::Relaxed),
    );
    let delays = tally.delays.lock().map(|d| d.clone()).unwrap_or_default();
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    let errors = tally.errors.lock().map(|e| e.clone()).unwrap_or_default();
    // Let the server let go of the sessions before the next step.
    sleep(Duration::from_secs(5)).await;
    Ok(StepRow::new(
        target.name,
        players,
        &tally,
        connect_s,
        (
            frames1.0 - frames0.0,
            frames1.1 - frames0.1,
            frames1.2 - frames0.2,
        ),
        a.duration,
        idle,
        (s0, s1),
        (b0, b1),
        Delays::from_micros(delays),
        children,
        errors,
    ))
}

/// momo alone: a WHIP publisher with stamps and probe viewers for `a.whip`.
async fn whip_to_whep(
    a: &WebRtcArgs,
    http: &reqwest::Client,
    looped: &Looped,
    api: &Api,
    room: i64,
    key: &str,
    whep: &str,
) -> Result<Delays> {
    let base = whep.split("/whep/").next().unwrap_or_default();
    let (stop_tx, stop) = watch::channel(false);
    let running = Arc::new(AtomicBool::new(false));
    let publisher = tokio::spawn(peer::publish(
        http.clone(),
        format!("{base}/whip/{key}"),
        looped.clone(),
        running.clone(),
        stop.clone(),
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !running.load(Ordering::Relaxed) {
        if publisher.is_finished() || Instant::now() > deadline {
            publisher.await??;
            bail!("the WHIP publisher did not start");
        }
        sleep(Duration::from_millis(50)).await;
    }
    api.wait_live(room).await?;
    // A keyframe comes within the periodic request's interval.
    sleep(Duration::from_secs(3)).await;
    let tally = Arc::new(Tally::default());
    let mut viewers = tokio::task::JoinSet::new();
    for _ in 0..a.probes {
        viewers.spawn(peer::view(
            http.clone(),
            whep.to_owned(),
            true,
            tally.clone(),
            stop.clone(),
        ));
    }
    sleep(Duration::from_secs(3)).await;
    if let Ok(mut d) = tally.delays.lock() {
        d.clear();
    }
    sleep(a.whip).await;
    let delays = tally.delays.lock().map(|d| d.clone()).unwrap_or_default();
    let _ = stop_tx.send(true);
    while viewers.join_next().await.is_some() {}
    publisher.await??;
    if let Some(e) = tally.errors.lock().ok().and_then(|e| e.first().cloned()) {
        eprintln!("momo-bench: a WHIP probe failed: {e}");
    }
    Ok(Delays::from_micros(delays))
}
