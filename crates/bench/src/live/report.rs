//! The result of a `live` run, as JSON and as a Markdown section for
//! `docs/benchmarks.md`.
//!
//! Server cost is normalised per viewer so that servers and protocols compare at equal
//! footing: CPU milliseconds per viewer-minute (the server's CPU time in the window over
//! viewers × minutes) and KiB per viewer (RSS with the viewers, less RSS before any
//! viewer came, over viewers). The first figure includes receiving the published
//! stream, which is the same work whatever the audience; the "net" figure subtracts
//! the server's CPU rate during a publish-only window before the first step.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::procstat::{ListenCounters, Sample};
use super::publisher::FileInfo;
use super::step::StepRaw;
use crate::context::{self, Machine};
use crate::stats::{self, Latency};

/// The server with the publisher alone, before the first step.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Idle {
    pub window_s: f64,
    /// CPU the server spent per minute receiving the stream, in milliseconds.
    pub cpu_ms_per_min: f64,
    /// RSS at the end of the window: the baseline memory per viewer is measured from.
    pub rss_kib: u64,
}

impl Idle {
    pub fn new(start: Sample, end: Sample, window: Duration) -> Self {
        let window_s = window.as_secs_f64();
        Idle {
            window_s,
            cpu_ms_per_min: (end.cpu_s - start.cpu_s) * 1000.0 * 60.0 / window_s,
            rss_kib: end.rss_kib,
        }
    }
}

/// A whole run.
#[derive(Debug, Serialize)]
pub struct LiveReport {
    pub label: String,
    pub date: String,
    pub command: String,
    pub machine: Machine,
    /// The URL the bench published to, if it published.
    pub publish: Option<String>,
    pub file: Option<FileInfo>,
    pub ramp_per_s: f64,
    pub duration_s: f64,
    pub settle_s: f64,
    /// The server before viewers, when `--server-pid` was given.
    pub idle: Option<Idle>,
    /// RSS before the first viewer: what memory per viewer is measured from.
    pub rss_baseline_kib: Option<u64>,
    pub steps: Vec<StepReport>,
}

/// One step, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub protocol: String,
    pub url: String,
    pub players: usize,
    /// Playing when the window started.
    pub connected: usize,
    /// Of those, no longer playing at its end.
    pub lost: usize,
    pub ramp_s: f64,
    pub window_s: f64,
    /// Connect to first keyframe: when a viewer can show a picture.
    pub first_frame_ms: Latency,
    /// Its 95th percentile, for connect storms.
    pub first_frame_p95_ms: f64,
    /// Connects per second in this step.
    pub ramp_per_s: f64,
    /// What the kernel's listen queues dropped while the viewers connected.
    pub listen: Option<ListenCounters>,
    /// Connect to first video frame of any kind.
    pub first_video_ms: Latency,
    pub bad_starts: usize,
    /// Medians over connected viewers of what each received in the window.
    pub frames_per_player: f64,
    pub video_per_player: f64,
    pub audio_per_player: f64,
    pub kbps_per_player: f64,
    /// Summed over connected viewers: video frames missing in the gaps of the
    /// timestamps (what a server that skips a slow viewer ahead leaves out).
    pub video_frames_lost: u64,
    /// `video_frames_lost` over the video frames viewers should have had, in percent.
    pub video_lost_pct: f64,
    pub players_with_gaps: usize,
    /// Audio and video frames the publisher sent in the window, if the bench published.
    pub frames_sent: Option<u64>,
    /// Audio and video frames received by all connected viewers over `frames_sent ×
    /// connected`, in percent. Frames in flight at the window's edges make it wobble
    /// by a frame or two per viewer either way; a loss shows as well below 100.
    pub received_pct: Option<f64>,
    pub server: Option<ServerCost>,
    /// The bench's own CPU in the window, in percent of one core.
    pub bench_cpu_pct: f64,
    pub errors: BTreeMap<String, usize>,
}

/// What the viewers cost the server.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ServerCost {
    pub cpu_s: f64,
    /// In percent of one core.
    pub cpu_pct: f64,
    pub cpu_ms_per_viewer_min: f64,
    /// The same less the publish-only CPU rate; absent without an idle window.
    pub net_cpu_ms_per_viewer_min: Option<f64>,
    pub rss_kib: u64,
    pub kib_per_viewer: f64,
}

impl StepReport {
    /// Summarises a step. `idle` gives the publish-only CPU rate, `rss_baseline_kib`
    /// the RSS before any viewer.
    pub fn new(raw: StepRaw, idle: Option<&Idle>, rss_baseline_kib: Option<u64>) -> Self {
        let median = |f: &dyn Fn(&super::player::Counts) -> u64| {
            let v: Vec<f64> = raw.received.iter().map(|c| f(c) as f64).collect();
            stats::median(&v)
        };
        let viewers = raw.connected as f64;
        let minutes = raw.window_s / 60.0;
        let video_frames_lost: u64 = raw.received.iter().map(|c| c.video_missing).sum();
        let video_received: u64 = raw.received.iter().map(|c| c.video).sum();
        let media_received: u64 = raw.received.iter().map(|c| c.media()).sum();
        let server = raw.server.map(|(start, end)| {
            let cpu_s = end.cpu_s - start.cpu_s;
            let per_viewer_min = |cpu_s: f64| per(cpu_s * 1000.0, viewers * minutes);
            let baseline = rss_baseline_kib.unwrap_or(start.rss_kib);
            ServerCost {
                cpu_s,
                cpu_pct: cpu_s * 100.0 / raw.window_s,
                cpu_ms_per_viewer_min: per_viewer_min(cpu_s),
                net_cpu_ms_per_viewer_min: idle
                    .map(|i| per_viewer_min(cpu_s - i.cpu_ms_per_min / 1000.0 * minutes)),
                rss_kib: end.rss_kib,
                kib_per_viewer: per(end.rss_kib as f64 - baseline as f64, viewers),
            }
        });
        StepReport {
            protocol: raw.protocol.to_string(),
            url: raw.url.clone(),
            players: raw.players,
            connected: raw.connected,
            lost: raw.lost,
            ramp_s: raw.ramp_s,
            window_s: raw.window_s,
            first_frame_ms: Latency::from_micros(raw.first_key_us.clone()),
            first_frame_p95_ms: {
                let mut v = raw.first_key_us.clone();
                v.sort_unstable();
                stats::percentile(&v, 0.95) as f64 / 1000.0
            },
            ramp_per_s: raw.ramp_per_s,
            listen: raw.listen,
            first_video_ms: Latency::from_micros(raw.first_video_us.clone()),
            bad_starts: raw.bad_starts,
            frames_per_player: median(&|c| c.media()),
            video_per_player: median(&|c| c.video),
            audio_per_player: median(&|c| c.audio),
            kbps_per_player: median(&|c| c.bytes) * 8.0 / 1000.0 / raw.window_s,
            video_frames_lost,
            video_lost_pct: per(
                video_frames_lost as f64 * 100.0,
                (video_frames_lost + video_received) as f64,
            ),
            players_with_gaps: raw.received.iter().filter(|c| c.video_missing > 0).count(),
            frames_sent: raw.sent,
            received_pct: raw
                .sent
                .map(|sent| per(media_received as f64 * 100.0, sent as f64 * viewers)),
            server,
            bench_cpu_pct: (raw.bench.1.cpu_s - raw.bench.0.cpu_s) * 100.0 / raw.window_s,
            errors: raw.errors,
        }
    }
}

/// `a / b`, or 0 when there is nothing to divide by.
pub(crate) fn per(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

impl LiveReport {
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// A Markdown section: heading, context, command, table, failures.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        // Writing to a String cannot fail; the results of write! are ignored below.
        let _ = writeln!(md, "## Live fan-out: {}\n", self.label);
        let _ = writeln!(md, "- Date: {}", self.date);
        let _ = writeln!(
            md,
            "- Machine: {} CPUs, {}",
            self.machine.cpus, self.machine.cpu_model
        );
        match (&self.publish, &self.file) {
            (Some(url), Some(f)) => {
                let _ = writeln!(
                    md,
                    "- Stream: `{}` ({:.0} kbit/s of audio and video, {:.1} s looped), \
                     published by the bench in real time to `{url}`",
                    f.path, f.kbps, f.lap_s
                );
            }
            _ => {
                let _ = writeln!(md, "- Stream: published by another program");
            }
        }
        let _ = writeln!(
            md,
            "- Load: per step, viewers connect at {}/s, then {} s measured once all have \
             started; viewers leave and the server rests {} s before the next step",
            trim(self.ramp_per_s),
            trim(self.duration_s),
            trim(self.settle_s),
        );
        match (&self.idle, self.rss_baseline_kib) {
            (Some(i), _) => {
                let _ = writeln!(
                    md,
                    "- Server alone with the publisher ({} s): {:.0} ms CPU per minute, \
                     RSS {} KiB (the baseline of KiB per viewer)",
                    trim(i.window_s),
                    i.cpu_ms_per_min,
                    i.rss_kib
                );
            }
            (None, Some(rss)) => {
                let _ = writeln!(md, "- Server RSS before viewers: {rss} KiB");
            }
            (None, None) => {
                let _ = writeln!(md, "- Server cost not measured (no --server-pid)");
            }
        }
        let _ = writeln!(md, "\n```sh\n{}\n```\n", self.command);
        let _ = writeln!(
            md,
            "| protocol | players | connected (lost) | first frame p50 ms | p99 ms | bad starts \
             | frames/player | video frames dropped | received/sent | CPU ms/viewer-min \
             | net of ingest | KiB/viewer | bench CPU |"
        );
        let _ = writeln!(
            md,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let dash = || "–".to_string();
        for s in &self.steps {
            let dropped = format!(
                "{} ({:.2}%, {} viewers)",
                s.video_frames_lost, s.video_lost_pct, s.players_with_gaps
            );
            let received = s.received_pct.map_or_else(dash, |p| format!("{p:.2}%"));
            let (cpu, net, mem) = match &s.server {
                Some(c) => (
                    format!("{:.1}", c.cpu_ms_per_viewer_min),
                    c.net_cpu_ms_per_viewer_min
                        .map_or_else(dash, |n| format!("{n:.1}")),
                    format!("{:.1}", c.kib_per_viewer),
                ),
                None => (dash(), dash(), dash()),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} ({}) | {:.0} | {:.0} | {} | {:.0} | {} | {} | {} | {} | {} | {:.0}% |",
                s.protocol,
                s.players,
                s.connected,
                s.lost,
                s.first_frame_ms.p50,
                s.first_frame_ms.p99,
                s.bad_starts,
                s.frames_per_player,
                dropped,
                received,
                cpu,
                net,
                mem,
                s.bench_cpu_pct,
            );
        }
        let _ = writeln!(
            md,
            "\nConnect storms: how fast viewers arrived, how soon they saw a picture, and what \
             the kernel's listen queues dropped meanwhile (`nstat`'s `TcpExtListenOverflows`, \
             `ListenDrops`, `SyncookiesSent`, system-wide).\n"
        );
        let _ = writeln!(
            md,
            "| protocol | players | joins/s | first picture p50 ms | p95 ms | p99 ms | listen overflows | listen drops | SYN cookies |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for s in &self.steps {
            let (o, d, c) = s.listen.map_or_else(
                || (dash(), dash(), dash()),
                |l| {
                    (
                        l.overflows.to_string(),
                        l.drops.to_string(),
                        l.syn_cookies.to_string(),
                    )
                },
            );
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {o} | {d} | {c} |",
                s.protocol,
                s.players,
                trim(s.ramp_per_s),
                s.first_frame_ms.p50,
                s.first_frame_p95_ms,
                s.first_frame_ms.p99,
            );
        }
        let failures: Vec<String> = self
            .steps
            .iter()
            .flat_map(|s| {
                s.errors
                    .iter()
                    .map(move |(e, n)| format!("- {} × {}: {n}× {e}", s.protocol, s.players))
            })
            .collect();
        if !failures.is_empty() {
            let _ = writeln!(md, "\nViewer failures:\n");
            for f in failures.iter().take(20) {
                let _ = writeln!(md, "{f}");
            }
        }
        md
    }

    /// Appends the Markdown section to `path` (see [`crate::report`] for the spacing).
    pub fn append_markdown(&self, path: &Path) -> Result<()> {
        crate::report::append_section(path, &self.to_markdown())
    }

    /// Fills in when, where and how.
    pub fn stamp(&mut self) {
        self.date = context::utc_now();
        self.command = context::command_line();
        self.machine = Machine::detect();
    }
}

/// `2.0` as `2`, `0.5` as `0.5`.
pub(crate) fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::live::player::Counts;

    pub(crate) fn sample(cpu_s: f64, rss_kib: u64) -> Sample {
        Sample { cpu_s, rss_kib }
    }

    /// A step of 4 RTMP viewers over 30 s, in which the server spent 6 s of CPU.
    pub(crate) fn raw() -> StepRaw {
        let counts = |media: u64, video_missing: u64| Counts {
            audio: media / 2,
            video: media - media / 2,
            script: 0,
            bytes: 75_000 * 30,
            video_missing,
        };
        StepRaw {
            protocol: "rtmp",
            url: "rtmp://127.0.0.1:1935/live/1".into(),
            players: 4,
            ramp_s: 1.0,
            window_s: 30.0,
            first_key_us: vec![10_000, 20_000, 30_000, 400_000],
            first_video_us: vec![10_000, 20_000, 30_000, 40_000],
            bad_starts: 1,
            connected: 4,
            lost: 0,
            received: vec![
                counts(2300, 0),
                counts(2300, 0),
                counts(2290, 5),
                counts(2200, 50),
            ],
            sent: Some(2300),
            server: Some((sample(10.0, 50_000), sample(16.0, 54_096))),
            beside: None,
            bench: (sample(1.0, 1), sample(4.0, 1)),
            errors: BTreeMap::from([("HTTP 404".to_string(), 1)]),
            ramp_per_s: 200.0,
            listen: Some(ListenCounters {
                overflows: 3,
                drops: 4,
                syn_cookies: 5,
            }),
        }
    }

    #[test]
    fn step_costs_are_per_viewer_and_minute() {
        let idle = Idle::new(
            sample(0.0, 50_000),
            sample(0.5, 50_000),
            Duration::from_secs(10),
        );
        assert_eq!(idle.cpu_ms_per_min, 3000.0);
        let s = StepReport::new(raw(), Some(&idle), Some(50_000));
        let c = s.server.unwrap();
        // 6 s of CPU over 4 viewers × 0.5 min.
        assert_eq!(c.cpu_ms_per_viewer_min, 3000.0);
        // Less 1.5 s of ingest in the half minute.
        assert_eq!(c.net_cpu_ms_per_viewer_min, Some(2250.0));
        assert_eq!(c.kib_per_viewer, 1024.0);
        assert_eq!(c.cpu_pct, 20.0);
        assert_eq!(s.bench_cpu_pct, 10.0);
    }

    #[test]
    fn drops_and_medians() {
        let s = StepReport::new(raw(), None, None);
        assert_eq!(s.frames_per_player, 2295.0);
        assert_eq!(s.video_frames_lost, 55);
        assert_eq!(s.players_with_gaps, 2);
        assert!((s.video_lost_pct - 55.0 * 100.0 / (55.0 + 4545.0)).abs() < 1e-9);
        assert!((s.received_pct.unwrap() - 9090.0 * 100.0 / 9200.0).abs() < 1e-9);
        assert_eq!(s.first_frame_ms.p50, 20.0);
        assert_eq!(s.kbps_per_player, 600.0);
        // Without a baseline, memory is measured from the start of the window.
        assert_eq!(s.server.unwrap().kib_per_viewer, 1024.0);
        assert_eq!(s.server.unwrap().net_cpu_ms_per_viewer_min, None);
    }

    #[test]
    fn markdown_has_the_table_and_failures() {
        let mut r = LiveReport {
            label: "momo".into(),
            date: String::new(),
            command: String::new(),
            machine: Machine::detect(),
            publish: None,
            file: None,
            ramp_per_s: 200.0,
            duration_s: 30.0,
            settle_s: 3.0,
            idle: None,
            rss_baseline_kib: Some(50_000),
            steps: vec![StepReport::new(raw(), None, Some(50_000))],
        };
        r.stamp();
        let md = r.to_markdown();
        assert!(md.starts_with("## Live fan-out: momo\n\n- Date: "));
        assert!(
            md.contains(
                "| rtmp | 4 | 4 (0) | 20 | 400 | 1 | 2295 | 55 (1.20%, 2 viewers) | 98.80% \
                 | 3000.0 | – | 1024.0 | 10% |"
            ),
            "{md}"
        );
        assert!(md.contains("- rtmp × 4: 1× HTTP 404"));
        let json: serde_json::Value = serde_json::from_str(&r.to_json().unwrap()).unwrap();
        assert_eq!(json["steps"][0]["video_frames_lost"], 55);
    }
}
