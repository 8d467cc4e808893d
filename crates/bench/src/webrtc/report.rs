//! The `webrtc` command's results: one row per server and viewer count, the
//! glass-to-glass delays, as JSON and as a Markdown section.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;

use super::peer::Tally;
use crate::live::procstat::Sample;
use crate::live::publisher::FileInfo;
use crate::live::report::Idle;
use crate::stats::Latency;

const TITLE: &str = "WebRTC: WHEP viewers of an RTMP stream, momo and SRS 5 side by side";

/// Glass-to-glass delays: percentiles in ms and how many pictures were timed.
#[derive(Debug, Clone, Serialize)]
pub struct Delays {
    pub latency: Latency,
    pub pictures: usize,
}

impl Delays {
    pub fn from_micros(samples: Vec<u64>) -> Self {
        let pictures = samples.len();
        Delays {
            latency: Latency::from_micros(samples),
            pictures,
        }
    }

    fn cell(&self) -> String {
        if self.pictures == 0 {
            return "no stamps came through".into();
        }
        format!(
            "{:.0} / {:.0} / {:.0} ({} pictures)",
            self.latency.p50, self.latency.p90, self.latency.max, self.pictures
        )
    }

    pub fn summary(&self) -> String {
        format!("glass to glass p50/p90/max ms: {}", self.cell())
    }
}

/// One step.
#[derive(Debug, Clone, Serialize)]
pub struct StepRow {
    pub server: String,
    pub players: u32,
    pub connected: u64,
    pub failed: u64,
    /// Seconds from the first offer until every viewer connected (or gave up).
    pub connect_s: f64,
    /// Video and audio frames per viewer-second in the window.
    pub video_fps: f64,
    pub audio_fps: f64,
    /// kbit/s per viewer of media payload.
    pub kbps: f64,
    /// Server CPU per viewer-minute, net of its publisher-alone rate, in ms.
    pub cpu_ms_per_viewer_min: f64,
    /// The server's publisher-alone CPU, ms per minute.
    pub idle_cpu_ms_per_min: f64,
    /// Resident memory per viewer over the publisher-alone reading, KiB.
    pub kib_per_viewer: f64,
    /// The bench's own CPU in the window, % of one core.
    pub bench_cpu_pct: f64,
    pub delays: Delays,
    /// CPU of the server's children (momo's AAC-to-Opus ffmpeg), ms per minute, counted
    /// in the per-viewer figure too.
    pub bridge_cpu_ms_per_min: Option<f64>,
    pub errors: Vec<String>,
}

impl StepRow {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        server: &str,
        players: u32,
        tally: &Tally,
        connect_s: f64,
        (video, audio, bytes): (u64, u64, u64),
        window: Duration,
        idle: &Idle,
        (s0, s1): (Sample, Sample),
        (b0, b1): (Sample, Sample),
        delays: Delays,
        bridge_cpu_ms_per_min: Option<f64>,
        errors: Vec<String>,
    ) -> Self {
        let connected = tally.connected.load(Ordering::Relaxed);
        let failed = tally.failed.load(Ordering::Relaxed);
        let secs = window.as_secs_f64();
        let idle_rate = idle.cpu_ms_per_min / 60_000.0;
        let net = ((s1.cpu_s - s0.cpu_s) - idle_rate * secs).max(0.0);
        let viewers = connected.max(1) as f64;
        let per_viewer = |n: u64| n as f64 / viewers / secs;
        StepRow {
            server: server.into(),
            players,
            connected,
            failed,
            connect_s,
            video_fps: per_viewer(video),
            audio_fps: per_viewer(audio),
            kbps: per_viewer(bytes) * 8.0 / 1000.0,
            cpu_ms_per_viewer_min: net * 1000.0 / viewers / (secs / 60.0),
            idle_cpu_ms_per_min: idle_rate * 60_000.0,
            kib_per_viewer: (s1.rss_kib as f64 - idle.rss_kib as f64).max(0.0) / viewers,
            bench_cpu_pct: (b1.cpu_s - b0.cpu_s) / secs * 100.0,
            delays,
            bridge_cpu_ms_per_min,
            errors,
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "{} {} viewers: {} connected ({} failed) in {:.1} s, {:.1} ms CPU/viewer-min, \
             {:.1} KiB/viewer, {:.1} video fps, {:.1} audio fps, {:.0} kbit/s per viewer; {}",
            self.server,
            self.players,
            self.connected,
            self.failed,
            self.connect_s,
            self.cpu_ms_per_viewer_min,
            self.kib_per_viewer,
            self.video_fps,
            self.audio_fps,
            self.kbps,
            self.delays.summary()
        )
    }
}

/// The whole run.
#[derive(Debug, Serialize)]
pub struct WebRtcReport {
    pub date: String,
    pub command: String,
    pub momo: String,
    pub file: FileInfo,
    pub steps: Vec<StepRow>,
    pub whip_to_whep: Delays,
}

impl WebRtcReport {
    pub fn new(momo: String, file: FileInfo, steps: Vec<StepRow>, whip_to_whep: Delays) -> Self {
        WebRtcReport {
            date: String::new(),
            command: String::new(),
            momo,
            file,
            steps,
            whip_to_whep,
        }
    }

    pub fn stamp(&mut self) {
        self.date = crate::context::utc_now();
        self.command = crate::context::command_line();
    }

    pub fn to_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    pub fn to_markdown(&self) -> String {
        let mut md = crate::context::section_head(TITLE);
        let _ = writeln!(
            md,
            "- Stream: `{}` ({:.0} kbit/s of audio and video, {:.1} s looped), published \
             over RTMP in real time, each picture stamped with the time it was sent (an SEI \
             NAL unit); {} with its audio bridge (an ffmpeg child, counted with it), \
             SRS 5 with its WebRTC build (AAC to Opus in-process)",
            self.file.path, self.file.kbps, self.file.lap_s, self.momo
        );
        let _ = writeln!(
            md,
            "- Viewers: str0m WHEP clients in the bench (full ICE, DTLS-SRTP, video and \
             audio), frames counted, never decoded; CPU is the server's over the window \
             less its rate with the publisher alone; glass to glass is a probe's receive \
             time less the stamp, on this machine's clock\n"
        );
        let _ = writeln!(
            md,
            "| server | viewers | connected (failed) | CPU ms per viewer-minute | of which the audio bridge, ms per minute | KiB per viewer | video / audio fps per viewer | kbit/s per viewer | glass to glass p50 / p90 / max ms | bench CPU |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|");
        for r in &self.steps {
            let _ = writeln!(
                md,
                "| {} | {} | {} ({}) | {:.1} | {} | {:.1} | {:.1} / {:.1} | {:.0} | {} | {:.0}% |",
                r.server,
                r.players,
                r.connected,
                r.failed,
                r.cpu_ms_per_viewer_min,
                r.bridge_cpu_ms_per_min
                    .map_or("in-process".to_string(), |b| format!("{b:.0}")),
                r.kib_per_viewer,
                r.video_fps,
                r.audio_fps,
                r.kbps,
                r.delays.cell(),
                r.bench_cpu_pct
            );
        }
        let _ = writeln!(
            md,
            "\nWHIP in, WHEP out (momo; a str0m WHIP publisher with stamps, probe viewers): \
             glass to glass p50 / p90 / max ms {}\n",
            self.whip_to_whep.cell()
        );
        for r in self.steps.iter().filter(|r| !r.errors.is_empty()) {
            let _ = writeln!(md, "- {} {}: {}", r.server, r.players, r.errors.join("; "));
        }
        md
    }

    pub fn append_markdown(&self, path: &Path) -> anyhow::Result<()> {
        crate::report::append_section(path, &self.to_markdown())
    }
}
