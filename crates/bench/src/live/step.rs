//! One step of a run: N viewers of one protocol connect at the ramp rate, and once they
//! have all started (or given up) a measured window begins.
//!
//! The server's CPU time and RSS, the bench's own CPU time, the publisher's frame count
//! and every viewer's counters are read at the start and at the end of the window, so
//! the numbers cover the same span of time for all of them. Connecting is outside the
//! window: it is judged by the time to the first frame instead. After the window the
//! viewers are dropped (their sockets close) and the server gets a moment to settle
//! before the next step.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, Instant};

use super::endpoint::{HttpUrl, RtmpUrl};
use super::player::{Counts, Phase, PlayerStats};
use super::procstat::{ListenCounters, Proc, Sample};
use super::publisher::PublishState;
use super::{flv_player, rtmp_player};

/// How often the step looks whether every viewer has started.
const POLL: Duration = Duration::from_millis(50);

/// What viewers play.
#[derive(Debug, Clone)]
pub enum Protocol {
    Rtmp(Arc<RtmpUrl>),
    HttpFlv(Arc<HttpUrl>),
}

impl Protocol {
    pub fn name(&self) -> &'static str {
        match self {
            Protocol::Rtmp(_) => "rtmp",
            Protocol::HttpFlv(_) => "http-flv",
        }
    }

    pub fn url(&self) -> String {
        match self {
            Protocol::Rtmp(u) => format!("rtmp://{}/{}/{}", u.addr, u.app, u.name),
            Protocol::HttpFlv(u) => format!("http://{}{}", u.host, u.path),
        }
    }

    fn spawn(&self, stats: Arc<PlayerStats>) -> JoinHandle<()> {
        match self {
            Protocol::Rtmp(u) => tokio::spawn(rtmp_player::play(u.clone(), stats)),
            Protocol::HttpFlv(u) => tokio::spawn(flv_player::play(u.clone(), stats)),
        }
    }
}

/// The shape of a step.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub players: usize,
    /// Connects per second.
    pub ramp: f64,
    /// Viewers that connect together, at once, each `burst / ramp` seconds (1: evenly
    /// spaced). Crowds arrive in clumps (a push notification, a shared link).
    pub burst: usize,
    /// How long, after the last connect, viewers may take to show a first picture.
    pub start_timeout: Duration,
    pub duration: Duration,
    /// Pause after the viewers left, before the next step.
    pub settle: Duration,
}

/// What a step saw, unsummarised.
#[derive(Debug, Clone)]
pub struct StepRaw {
    pub protocol: &'static str,
    pub url: String,
    pub players: usize,
    /// Seconds from the first connect to the start of the window.
    pub ramp_s: f64,
    pub window_s: f64,
    /// Per viewer that got one: time to the first keyframe, and to the first video
    /// frame of any kind, in µs.
    pub first_key_us: Vec<u64>,
    pub first_video_us: Vec<u64>,
    /// Viewers whose first video was neither a keyframe nor a header then a keyframe.
    pub bad_starts: usize,
    /// Viewers playing when the window started: the ones the window's numbers are for.
    pub connected: usize,
    /// Of those, how many were no longer playing when it ended.
    pub lost: usize,
    /// What each connected viewer received during the window.
    pub received: Vec<Counts>,
    /// Audio and video frames the publisher sent during the window, if this bench
    /// publishes.
    pub sent: Option<u64>,
    /// The server at the start and end of the window.
    pub server: Option<(Sample, Sample)>,
    /// Another process read over the same window (an edge's origin, serving the
    /// edge's pull while the edge serves the viewers).
    pub beside: Option<(Sample, Sample)>,
    /// The bench itself at the start and end of the window.
    pub bench: (Sample, Sample),
    /// Why viewers failed, with how many failed that way.
    pub errors: BTreeMap<String, usize>,
    /// Connects per second in this step.
    pub ramp_per_s: f64,
    /// What the kernel's listen queues dropped from the first connect until every
    /// viewer had started (system-wide counters: nothing else should be connecting).
    pub listen: Option<ListenCounters>,
}

/// Runs one step. `server` is the process the viewers cost; `beside`, if given, is
/// read over the same window.
pub async fn run(
    protocol: &Protocol,
    shape: Shape,
    server: Option<&Proc>,
    beside: Option<&Proc>,
    publisher: Option<&PublishState>,
) -> Result<StepRaw> {
    let stats: Vec<Arc<PlayerStats>> = (0..shape.players)
        .map(|_| Arc::new(PlayerStats::default()))
        .collect();
    let mut tasks = Vec::with_capacity(shape.players);
    let listen_before = ListenCounters::read();
    let t0 = Instant::now();
    for (i, s) in stats.iter().enumerate() {
        let group = (i / shape.burst.max(1) * shape.burst.max(1)) as f64;
        sleep_until(t0 + Duration::from_secs_f64(group / shape.ramp)).await;
        tasks.push(protocol.spawn(s.clone()));
    }
    let deadline = Instant::now() + shape.start_timeout;
    while Instant::now() < deadline && !stats.iter().all(|s| has_started(s)) {
        sleep(POLL).await;
    }

    let listen = ListenCounters::read()
        .zip(listen_before)
        .map(|(after, before)| after.since(before));
    let me = Proc::current();
    let playing: Vec<&Arc<PlayerStats>> = stats
        .iter()
        .filter(|s| s.phase() == Phase::Playing)
        .collect();
    let window_start = Instant::now();
    let ramp_s = (window_start - t0).as_secs_f64();
    let server_start = server.map(Proc::sample).transpose()?;
    let beside_start = beside.map(Proc::sample).transpose()?;
    let bench_start = me.sample()?;
    let sent_start = publisher.map(PublishState::media_frames);
    let counts_start: Vec<Counts> = playing.iter().map(|s| s.counts()).collect();

    sleep(shape.duration).await;

    // The publisher before the viewers, as at the start: the frames in flight at
    // either edge then weigh the same, and cancel out.
    let sent_end = publisher.map(PublishState::media_frames);
    let counts_end: Vec<Counts> = playing.iter().map(|s| s.counts()).collect();
    let bench_end = me.sample()?;
    let server_end = server.map(Proc::sample).transpose()?;
    let beside_end = beside.map(Proc::sample).transpose()?;
    let window_s = window_start.elapsed().as_secs_f64();
    let lost = playing
        .iter()
        .filter(|s| s.phase() != Phase::Playing)
        .count();

    for t in &tasks {
        t.abort();
    }
    let mut errors = BTreeMap::new();
    for s in &stats {
        if let Some(e) = s.error() {
            *errors.entry(e).or_insert(0) += 1;
        }
    }
    let raw = StepRaw {
        protocol: protocol.name(),
        url: protocol.url(),
        players: shape.players,
        ramp_s,
        window_s,
        first_key_us: micros(stats.iter().filter_map(|s| s.first_key())),
        first_video_us: micros(stats.iter().filter_map(|s| s.first_video())),
        bad_starts: stats.iter().filter(|s| s.bad_start()).count(),
        connected: playing.len(),
        lost,
        received: counts_end
            .iter()
            .zip(&counts_start)
            .map(|(end, start)| end.since(start))
            .collect(),
        sent: sent_start.zip(sent_end).map(|(a, b)| b - a),
        server: server_start.zip(server_end),
        beside: beside_start.zip(beside_end),
        bench: (bench_start, bench_end),
        errors,
        ramp_per_s: shape.ramp,
        listen,
    };
    drop(tasks);
    sleep(shape.settle).await;
    Ok(raw)
}

/// A viewer has started once it showed a first picture, or will never.
fn has_started(s: &PlayerStats) -> bool {
    s.first_key().is_some() || matches!(s.phase(), Phase::Failed | Phase::Ended)
}

fn micros(d: impl Iterator<Item = Duration>) -> Vec<u64> {
    d.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .collect()
}
