//! `live`: what viewers of a live stream cost a media server, per viewer.
//!
//! The bench publishes an FLV file over RTMP in real time ([`publisher`]) and connects
//! thousands of lightweight viewers in steps ([`step`]): RTMP viewers on momo's own
//! sans-IO client ([`rtmp_player`]) and HTTP-FLV viewers on a hand-rolled HTTP/1.1 GET
//! ([`flv_player`], [`http_stream`], [`flv_scan`]). Viewers count frames and bytes and
//! time their first picture; they never decode. The server is measured from outside
//! through `/proc` ([`procstat`]), so momo and another server (nginx-rtmp, SRS …) are
//! measured the same way on the same stream. The result is per viewer: CPU per
//! viewer-minute, memory per viewer, first-frame latency and frames dropped
//! ([`report`]).
//!
//! Everything shares the machine with the server, so the viewers are built to cost
//! little (see [`player`]): no per-viewer read buffer, no body copies, relaxed counters,
//! and by default one runtime thread for all of them, leaving the other cores to the
//! server. The bench's own CPU is reported next to the server's so that a saturated
//! bench can be told from a slow server.

pub mod endpoint;
mod flv_player;
mod flv_scan;
mod http_stream;
pub(crate) mod player;
pub mod procstat;
pub mod publisher;
pub(crate) mod report;
pub(crate) mod rtmp_player;
pub(crate) mod step;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{ArgGroup, Args};

use crate::args;
use crate::context::Machine;
use endpoint::{HttpUrl, RtmpUrl};
use procstat::Proc;
use publisher::{Looped, Publisher};
use report::{Idle, LiveReport, StepReport};
use step::{Protocol, Shape};

/// How long the server may take to accept the bench's publish.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("play").required(true).multiple(true).args(["rtmp_play", "flv_play"])))]
pub struct LiveArgs {
    /// Publish --file in real time, looped, to this URL (rtmp://HOST[:PORT]/APP/KEY).
    /// Without it another program must be publishing; dropped frames are then only
    /// found from gaps in the timestamps, not compared with what was sent.
    #[arg(long, value_name = "URL", requires = "file", value_parser = rtmp_url)]
    publish: Option<RtmpUrl>,
    /// The FLV file to publish (H.264/AAC as FFmpeg writes it).
    #[arg(long, value_name = "FILE", requires = "publish")]
    file: Option<PathBuf>,
    /// Play over RTMP from this URL (rtmp://HOST[:PORT]/APP/NAME).
    #[arg(long, value_name = "URL", value_parser = rtmp_url)]
    rtmp_play: Option<RtmpUrl>,
    /// Play over HTTP-FLV from this URL (http://HOST[:PORT]/PATH).
    #[arg(long, value_name = "URL", value_parser = http_url)]
    flv_play: Option<HttpUrl>,
    /// Viewers per step; a comma list runs one step per count (250,1000,2000). With
    /// both protocols, each count runs for each protocol in turn.
    #[arg(long, value_delimiter = ',', default_value = "250",
          value_parser = clap::value_parser!(u32).range(1..=50_000))]
    players: Vec<u32>,
    /// Viewer connects per second; a comma list (100,500,1000) runs each count at each
    /// rate in turn: a connect-storm run, whose report adds first-picture p95 and what
    /// the kernel's listen queues dropped.
    #[arg(long, value_delimiter = ',', default_value = "200",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    ramp: Vec<u32>,
    /// Viewers that connect together, all at once, every `burst / ramp` seconds: a
    /// crowd arriving in clumps rather than evenly spaced.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    burst: u32,
    /// Measured time per step, once every viewer has started (60s, 30s, 2m).
    #[arg(long, default_value = "60s", value_parser = args::duration)]
    duration: Duration,
    /// How long viewers may take after the last connect to show a first picture;
    /// those that have not by then still count if they are playing.
    #[arg(long, default_value = "15s", value_parser = args::duration)]
    start_timeout: Duration,
    /// The server's PID: its CPU time and RSS are read from /proc at the start and
    /// end of every window (for nginx, the worker's PID).
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// With --server-pid, a window with the publisher alone before the first step,
    /// to measure what ingest costs (0s to skip).
    #[arg(long, default_value = "10s", value_parser = args::duration)]
    idle: Duration,
    /// Time between the publish and anything else, for the server to fill its caches.
    #[arg(long, default_value = "3s", value_parser = args::duration)]
    warmup: Duration,
    /// Pause between steps, after the viewers left.
    #[arg(long, default_value = "3s", value_parser = args::duration)]
    settle: Duration,
    /// Runtime threads for the viewers (the publisher has its own thread).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: u16,
    /// Names the server or setup in the report's heading (momo, nginx-rtmp …).
    #[arg(long, default_value = "server")]
    label: String,
    /// Also append a Markdown section with the results to this file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

fn rtmp_url(s: &str) -> Result<RtmpUrl, String> {
    RtmpUrl::parse(s).map_err(|e| e.to_string())
}

fn http_url(s: &str) -> Result<HttpUrl, String> {
    HttpUrl::parse(s).map_err(|e| e.to_string())
}

/// Runs the whole `live` command.
pub async fn run(a: LiveArgs) -> Result<()> {
    if a.duration.is_zero() {
        bail!("--duration must be more than zero");
    }
    let mut protocols = Vec::new();
    if let Some(u) = &a.rtmp_play {
        protocols.push(Protocol::Rtmp(Arc::new(u.clone())));
    }
    if let Some(u) = &a.flv_play {
        protocols.push(Protocol::HttpFlv(Arc::new(u.clone())));
    }
    let server = a.server_pid.map(Proc::pid).transpose()?;

    let (publisher, file) = match (&a.publish, &a.file) {
        (Some(url), Some(path)) => {
            let (looped, info) = Looped::read(path)?;
            eprintln!(
                "momo-bench: publishing {} ({:.0} kbit/s, {:.1} s lap) to rtmp://{}/{}/…",
                info.path, info.kbps, info.lap_s, url.addr, url.app
            );
            let p = Publisher::start(url.clone(), looped, PUBLISH_TIMEOUT).await?;
            (Some(p), Some(info))
        }
        _ => (None, None),
    };
    tokio::time::sleep(a.warmup).await;

    let idle = match &server {
        Some(s) if !a.idle.is_zero() => {
            eprintln!("momo-bench: {:?} with the publisher alone", a.idle);
            let start = s.sample()?;
            tokio::time::sleep(a.idle).await;
            Some(Idle::new(start, s.sample()?, a.idle))
        }
        _ => None,
    };
    let rss_baseline_kib = match (&idle, &server) {
        (Some(i), _) => Some(i.rss_kib),
        (None, Some(s)) => Some(s.sample()?.rss_kib),
        (None, None) => None,
    };

    let mut steps = Vec::new();
    for &players in &a.players {
        for &ramp in &a.ramp {
            for protocol in &protocols {
                if let Some(p) = &publisher {
                    p.check()?;
                }
                let shape = Shape {
                    players: players as usize,
                    ramp: f64::from(ramp),
                    burst: a.burst as usize,
                    start_timeout: a.start_timeout,
                    duration: a.duration,
                    settle: a.settle,
                };
                eprintln!(
                    "momo-bench: {players} {} viewers joining at {ramp}/s",
                    protocol.name()
                );
                let raw = step::run(
                    protocol,
                    shape,
                    server.as_ref(),
                    None,
                    publisher.as_ref().map(Publisher::state),
                )
                .await?;
                let s = StepReport::new(raw, idle.as_ref(), rss_baseline_kib);
                eprintln!(
                    "momo-bench:   connected {}/{}, first frame p50 {:.0} ms p99 {:.0} ms, \
                 video dropped {:.2}%, received/sent {}, server {}, bench CPU {:.0}%",
                    s.connected,
                    s.players,
                    s.first_frame_ms.p50,
                    s.first_frame_ms.p99,
                    s.video_lost_pct,
                    s.received_pct.map_or("–".into(), |p| format!("{p:.2}%")),
                    s.server.map_or("–".into(), |c| format!(
                        "{:.1} ms CPU/viewer-min, {:.1} KiB/viewer",
                        c.cpu_ms_per_viewer_min, c.kib_per_viewer
                    )),
                    s.bench_cpu_pct,
                );
                steps.push(s);
            }
        }
    }
    if let Some(p) = publisher {
        p.stop()?;
    }

    let mut report = LiveReport {
        label: a.label.clone(),
        date: String::new(),
        command: String::new(),
        machine: Machine::detect(),
        publish: a
            .publish
            .as_ref()
            .map(|u| format!("rtmp://{}/{}/{}", u.addr, u.app, u.name)),
        file,
        ramp_per_s: f64::from(a.ramp[0]),
        duration_s: a.duration.as_secs_f64(),
        settle_s: a.settle.as_secs_f64(),
        idle,
        rss_baseline_kib,
        steps,
    };
    report.stamp();
    println!("{}", report.to_json()?);
    if let Some(path) = &a.markdown {
        report.append_markdown(path)?;
        eprintln!("momo-bench: appended the results to {}", path.display());
    }
    Ok(())
}
