//! The result of an `edges` run, as JSON and as a Markdown section for
//! `docs/benchmarks.md`.
//!
//! CPU is per viewer-minute and counted from each node's own idle rate, as in the
//! `live` report's "net of ingest": the origin's with the publisher alone, the edge's
//! while it pulls the stream for one viewer. So both figures are what one more viewer
//! costs, and their ratio says whether a viewer costs an edge more than its origin.
//! What an edge's pull costs the origin is read two ways: at idle (one viewer on the
//! edge against none) and over every edge step's window.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::EdgesArgs;
use crate::context::{self, Machine};
use crate::live::procstat::Sample;
use crate::live::publisher::FileInfo;
use crate::live::report::{per, trim, Idle, StepReport};
use crate::stats::{self, Latency};

const TITLE: &str = "Edges: a viewer on another node";

/// Both nodes with the publisher alone, with one viewer on the origin, then with one
/// on the edge.
#[derive(Debug, Clone, Serialize)]
pub struct Idles {
    pub round: usize,
    pub window_s: f64,
    /// The origin with the publisher alone.
    pub origin_alone: Idle,
    /// The edge with nothing to pull.
    pub edge_alone: Idle,
    /// The origin with one viewer of its own: what its viewers' CPU is counted from.
    pub origin_one: Idle,
    /// The origin while the edge pulls for one viewer.
    pub origin_pulled: Idle,
    /// The edge pulling for one viewer: what its viewers' CPU is counted from.
    pub edge_pulling: Idle,
}

impl Idles {
    /// What one viewer of its own costs the origin, in ms of CPU per minute: the
    /// first viewer also pays for what all viewers share (the writers' tick).
    pub fn viewer_on_origin(&self) -> f64 {
        self.origin_one.cpu_ms_per_min - self.origin_alone.cpu_ms_per_min
    }

    /// What a pull costs the origin, in ms of CPU per minute.
    pub fn pull_on_origin(&self) -> f64 {
        self.origin_pulled.cpu_ms_per_min - self.origin_alone.cpu_ms_per_min
    }

    /// What a pull (and its one viewer) costs the edge, in ms of CPU per minute.
    pub fn pull_on_edge(&self) -> f64 {
        self.edge_pulling.cpu_ms_per_min - self.edge_alone.cpu_ms_per_min
    }

    pub fn one_line(&self) -> String {
        format!(
            "idle, ms CPU per minute: origin {:.0}, edge {:.0}; one viewer on the origin: \
             origin {:.0} ({:+.0}); one on the edge: origin {:.0} ({:+.0}), edge {:.0} ({:+.0})",
            self.origin_alone.cpu_ms_per_min,
            self.edge_alone.cpu_ms_per_min,
            self.origin_one.cpu_ms_per_min,
            self.viewer_on_origin(),
            self.origin_pulled.cpu_ms_per_min,
            self.pull_on_origin(),
            self.edge_pulling.cpu_ms_per_min,
            self.pull_on_edge(),
        )
    }
}

/// The idle windows of every round, as medians over rounds, in ms of CPU per minute.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IdleMedians {
    pub origin_alone: f64,
    pub edge_alone: f64,
    pub origin_one: f64,
    pub origin_pulled: f64,
    pub edge_pulling: f64,
    /// Medians of the rounds' differences (see [`Idles`]).
    pub viewer_on_origin: f64,
    pub pull_on_origin: f64,
    pub pull_on_edge: f64,
}

impl IdleMedians {
    pub fn new(rounds: &[Idles]) -> Self {
        let m = |f: fn(&Idles) -> f64| stats::median(&rounds.iter().map(f).collect::<Vec<_>>());
        IdleMedians {
            origin_alone: m(|i| i.origin_alone.cpu_ms_per_min),
            edge_alone: m(|i| i.edge_alone.cpu_ms_per_min),
            origin_one: m(|i| i.origin_one.cpu_ms_per_min),
            origin_pulled: m(|i| i.origin_pulled.cpu_ms_per_min),
            edge_pulling: m(|i| i.edge_pulling.cpu_ms_per_min),
            viewer_on_origin: m(Idles::viewer_on_origin),
            pull_on_origin: m(Idles::pull_on_origin),
            pull_on_edge: m(Idles::pull_on_edge),
        }
    }
}

/// One time of the three first pictures, in ms; `None` where the viewer got none.
#[derive(Debug, Clone, Serialize)]
pub struct StartSample {
    pub cold_ms: Option<f64>,
    pub warm_ms: Option<f64>,
    pub origin_ms: Option<f64>,
    /// Pulls the edge started between the cold viewer's request and the warm one's
    /// picture: 1 when the first viewer found the edge cold and the second did not.
    pub pulls_started: f64,
    pub errors: Vec<String>,
}

impl StartSample {
    pub fn new(
        cold: anyhow::Result<f64>,
        warm: anyhow::Result<f64>,
        origin: anyhow::Result<f64>,
        pulls_started: f64,
    ) -> Self {
        let mut errors = Vec::new();
        let mut keep = |what: &str, r: anyhow::Result<f64>| match r {
            Ok(ms) => Some(ms),
            Err(e) => {
                errors.push(format!("{what}: {e:#}"));
                None
            }
        };
        StartSample {
            cold_ms: keep("edge, cold", cold),
            warm_ms: keep("edge, warm", warm),
            origin_ms: keep("origin", origin),
            pulls_started,
            errors,
        }
    }

    pub fn one_line(&self) -> String {
        let ms = |v: Option<f64>| v.map_or("none".into(), |v| format!("{v:.1} ms"));
        let mut line = format!(
            "cold edge {}, warm edge {}, origin {}; pulls started {}",
            ms(self.cold_ms),
            ms(self.warm_ms),
            ms(self.origin_ms),
            self.pulls_started
        );
        for e in &self.errors {
            let _ = write!(line, "; {e}");
        }
        line
    }
}

/// One of a [`StartSample`]'s times.
type Pick = fn(&StartSample) -> Option<f64>;

/// The first pictures of every time, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct FirstPictures {
    pub cold_ms: Latency,
    pub warm_ms: Latency,
    pub origin_ms: Latency,
    /// The median over times of cold less warm (times with both).
    pub cold_less_warm_ms: f64,
    pub samples: Vec<StartSample>,
}

impl FirstPictures {
    pub fn new(samples: Vec<StartSample>) -> Self {
        let latency = |f: Pick| {
            Latency::from_micros(
                samples
                    .iter()
                    .filter_map(f)
                    .map(|ms| (ms * 1000.0).round() as u64)
                    .collect(),
            )
        };
        let less: Vec<f64> = samples
            .iter()
            .filter_map(|s| Some(s.cold_ms? - s.warm_ms?))
            .collect();
        FirstPictures {
            cold_ms: latency(|s| s.cold_ms),
            warm_ms: latency(|s| s.warm_ms),
            origin_ms: latency(|s| s.origin_ms),
            cold_less_warm_ms: stats::median(&less),
            samples,
        }
    }
}

/// One round's steps of one viewer count: on the origin, then on the edge.
#[derive(Debug, Clone, Serialize)]
pub struct CpuPair {
    pub round: usize,
    pub players: u32,
    pub origin: StepReport,
    pub edge: StepReport,
    /// The origin's CPU per minute over the edge step's window.
    pub origin_in_edge_window_ms_per_min: Option<f64>,
    /// The same less its rate with the publisher alone: what serving the edge's pull
    /// cost it.
    pub origin_extra_ms_per_min: Option<f64>,
}

impl CpuPair {
    pub fn new(
        round: usize,
        players: u32,
        origin: StepReport,
        edge: StepReport,
        beside: Option<(Sample, Sample)>,
        idle: &Idles,
    ) -> Self {
        let during = beside
            .map(|(start, end)| per((end.cpu_s - start.cpu_s) * 1000.0 * 60.0, edge.window_s));
        CpuPair {
            round,
            players,
            origin,
            edge,
            origin_in_edge_window_ms_per_min: during,
            origin_extra_ms_per_min: during.map(|d| d - idle.origin_alone.cpu_ms_per_min),
        }
    }

    pub fn one_line(&self) -> String {
        let cost = |s: &StepReport| {
            format!(
                "{}/{} playing, first picture p50 {:.1} ms, {} ms CPU/viewer-min",
                s.connected,
                s.players,
                s.first_frame_ms.p50,
                net(s).map_or("–".into(), |n| format!("{n:.2}"))
            )
        };
        format!(
            "origin: {}; edge: {}; the origin meanwhile {}",
            cost(&self.origin),
            cost(&self.edge),
            self.origin_extra_ms_per_min
                .map_or("–".into(), |x| format!("{x:+.0} ms CPU/min")),
        )
    }
}

/// A step's CPU per viewer-minute, counted from its node's idle rate.
fn net(s: &StepReport) -> Option<f64> {
    s.server.and_then(|c| c.net_cpu_ms_per_viewer_min)
}

/// The same, all of the node's CPU.
fn gross(s: &StepReport) -> Option<f64> {
    s.server.map(|c| c.cpu_ms_per_viewer_min)
}

/// One viewer count over all rounds: medians.
#[derive(Debug, Clone, Serialize)]
pub struct CountSummary {
    pub players: u32,
    /// CPU ms per viewer-minute counted from each node's idle rate, per round.
    pub origin_rounds: Vec<f64>,
    pub edge_rounds: Vec<f64>,
    pub origin: f64,
    pub edge: f64,
    pub edge_to_origin: f64,
    /// All of each node's CPU per viewer-minute (medians), and their ratio.
    pub origin_all: f64,
    pub edge_all: f64,
    pub edge_to_origin_all: f64,
    /// The origin's extra CPU over the edge's windows, ms per minute, per round.
    pub origin_extra_rounds: Vec<f64>,
    pub origin_extra_ms_per_min: f64,
    /// That over what one viewer of its own costs the origin at idle (the first
    /// viewer), and over what one more costs it at this count (`origin`).
    pub origin_extra_in_first_viewers: f64,
    pub origin_extra_in_viewers: f64,
}

impl CountSummary {
    /// `first_viewer`: what one viewer of its own costs the origin at idle.
    fn new(players: u32, pairs: &[&CpuPair], first_viewer: f64) -> Self {
        let all = |f: &dyn Fn(&CpuPair) -> Option<f64>| -> Vec<f64> {
            pairs.iter().filter_map(|p| f(p)).collect()
        };
        let origin_rounds = all(&|p| net(&p.origin));
        let edge_rounds = all(&|p| net(&p.edge));
        let origin_extra_rounds = all(&|p| p.origin_extra_ms_per_min);
        let origin = stats::median(&origin_rounds);
        let edge = stats::median(&edge_rounds);
        let origin_all = stats::median(&all(&|p| gross(&p.origin)));
        let edge_all = stats::median(&all(&|p| gross(&p.edge)));
        let origin_extra_ms_per_min = stats::median(&origin_extra_rounds);
        CountSummary {
            players,
            edge_to_origin: per(edge, origin),
            edge_to_origin_all: per(edge_all, origin_all),
            origin_extra_in_first_viewers: per(origin_extra_ms_per_min, first_viewer),
            origin_extra_in_viewers: per(origin_extra_ms_per_min, origin),
            origin_rounds,
            edge_rounds,
            origin,
            edge,
            origin_all,
            edge_all,
            origin_extra_rounds,
            origin_extra_ms_per_min,
        }
    }
}

/// A whole run.
#[derive(Debug, Serialize)]
pub struct EdgesReport {
    pub date: String,
    pub command: String,
    pub machine: Machine,
    /// `momo --version` of the nodes.
    pub momo: String,
    pub file: FileInfo,
    pub rounds: usize,
    pub ramp_per_s: f64,
    pub duration_s: f64,
    pub settle_s: f64,
    /// Every round's idle windows, and their medians.
    pub idle: Vec<Idles>,
    pub idle_medians: IdleMedians,
    pub first_pictures: FirstPictures,
    /// Seconds each pull outlived its edge's last viewer, as seen by polling the
    /// edge's `media_pulls` gauge every 100 ms.
    pub pull_linger_s: Vec<f64>,
    pub summary: Vec<CountSummary>,
    pub steps: Vec<CpuPair>,
}

impl EdgesReport {
    pub fn new(
        momo: String,
        file: FileInfo,
        a: &EdgesArgs,
        idle: Vec<Idles>,
        first_pictures: FirstPictures,
        pull_linger_s: Vec<f64>,
        steps: Vec<CpuPair>,
    ) -> Self {
        let idle_medians = IdleMedians::new(&idle);
        let summary = a
            .players
            .iter()
            .map(|&n| {
                let pairs: Vec<&CpuPair> = steps.iter().filter(|p| p.players == n).collect();
                CountSummary::new(n, &pairs, idle_medians.viewer_on_origin)
            })
            .collect();
        EdgesReport {
            date: String::new(),
            command: String::new(),
            machine: Machine::detect(),
            momo,
            file,
            rounds: usize::from(a.rounds),
            ramp_per_s: f64::from(a.ramp),
            duration_s: a.duration.as_secs_f64(),
            settle_s: a.settle.as_secs_f64(),
            idle,
            idle_medians,
            first_pictures,
            pull_linger_s,
            summary,
            steps,
        }
    }

    /// Fills in when, where and how.
    pub fn stamp(&mut self) {
        self.date = context::utc_now();
        self.command = context::command_line();
        self.machine = Machine::detect();
    }

    pub fn to_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// The headline figures, one line each, for the terminal.
    pub fn summary_lines(&self) -> Vec<String> {
        let f = &self.first_pictures;
        let mut lines = vec![format!(
            "first picture p50 (max), ms: cold edge {:.1} ({:.1}), warm edge {:.1} ({:.1}), \
             origin {:.1} ({:.1}); cold less warm {:.1}",
            f.cold_ms.p50,
            f.cold_ms.max,
            f.warm_ms.p50,
            f.warm_ms.max,
            f.origin_ms.p50,
            f.origin_ms.max,
            f.cold_less_warm_ms,
        )];
        for s in &self.summary {
            lines.push(format!(
                "{} viewers, CPU ms per viewer-minute (medians): origin {:.2}, edge {:.2} \
                 ({:.2}×); the origin while the edge serves: {:+.0} ms CPU/min ({:.1}× its \
                 first viewer's, {:.1}× one more viewer's)",
                s.players,
                s.origin,
                s.edge,
                s.edge_to_origin,
                s.origin_extra_ms_per_min,
                s.origin_extra_in_first_viewers,
                s.origin_extra_in_viewers
            ));
        }
        let i = &self.idle_medians;
        lines.push(format!(
            "idle (medians), ms CPU per minute: the origin's first viewer {:+.0}, a pull \
             {:+.0} on the origin and {:+.0} on the edge; pulls ended {} after the edge's \
             last viewer",
            i.viewer_on_origin,
            i.pull_on_origin,
            i.pull_on_edge,
            self.linger()
        ));
        lines
    }

    /// "10.3 s (max 10.4 s, 8 times)".
    fn linger(&self) -> String {
        let most = self.pull_linger_s.iter().copied().fold(0.0, f64::max);
        format!(
            "{:.1} s (max {most:.1} s, {} times)",
            stats::median(&self.pull_linger_s),
            self.pull_linger_s.len()
        )
    }

    /// A Markdown section: heading, context, command, tables, failures.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        // Writing to a String cannot fail; the results of write! are ignored below.
        let _ = writeln!(md, "## {TITLE}\n");
        let _ = writeln!(md, "- Date: {}", self.date);
        let _ = writeln!(
            md,
            "- Machine: {} CPUs, {}",
            self.machine.cpus, self.machine.cpu_model
        );
        let _ = writeln!(
            md,
            "- Nodes: two `momo serve` processes ({}) started by the bench in cluster mode \
             on this machine's PostgreSQL (a fresh database), NATS and Redis: the origin, \
             which the bench publishes to, and an edge, which pulls the stream from the \
             origin over RTMP for its viewers",
            self.momo
        );
        let _ = writeln!(
            md,
            "- Stream: `{}` ({:.0} kbit/s of audio and video, {:.1} s looped), published by \
             the bench in real time to the origin",
            self.file.path, self.file.kbps, self.file.lap_s
        );
        let i = &self.idle_medians;
        let _ = writeln!(
            md,
            "- Idle, at the start of every round ({} s windows, medians over rounds; each \
             round below): with the publisher alone the origin spends {:.0} ms CPU per minute \
             and the edge {:.0}; with one viewer on the origin, the origin {:.0} (its first \
             viewer costs it **{:+.0}**); with one viewer on the edge instead, which makes the \
             edge pull, the origin {:.0} and the edge {:.0}: a pull costs the origin \
             **{:+.0}** ms CPU per minute and the edge {:+.0} (with its viewer)",
            trim(self.idle.first().map_or(0.0, |r| r.window_s)),
            i.origin_alone,
            i.edge_alone,
            i.origin_one,
            i.viewer_on_origin,
            i.origin_pulled,
            i.edge_pulling,
            i.pull_on_origin,
            i.pull_on_edge,
        );
        let _ = writeln!(
            md,
            "- A pull ended {} after its edge's last viewer left (median; the edge's \
             `media_pulls` gauge polled every 100 ms)",
            self.linger()
        );
        let _ = writeln!(md, "\n```sh\n{}\n```\n", self.command);

        let f = &self.first_pictures;
        let _ = writeln!(
            md,
            "First picture, from a viewer's TCP connect to its first keyframe, {} times: \
             once the edge pulls nothing, a viewer on the edge (cold: its request starts \
             the pull), then at once a second on the edge (warm: the pull runs) and one on \
             the origin.\n",
            f.samples.len()
        );
        let _ = writeln!(md, "| viewer | p50 ms | max ms | each time, ms |");
        let _ = writeln!(md, "|---|---:|---:|---|");
        let rows: [(&str, Latency, Pick); 3] = [
            ("edge, cold", f.cold_ms, |s| s.cold_ms),
            ("edge, warm", f.warm_ms, |s| s.warm_ms),
            ("origin", f.origin_ms, |s| s.origin_ms),
        ];
        for (name, l, pick) in rows {
            let each: Vec<String> = f
                .samples
                .iter()
                .map(|s| pick(s).map_or("–".into(), |v| format!("{v:.1}")))
                .collect();
            let _ = writeln!(
                md,
                "| {name} | {:.1} | {:.1} | {} |",
                l.p50,
                l.max,
                each.join(", ")
            );
        }
        let started: Vec<String> = f
            .samples
            .iter()
            .map(|s| s.pulls_started.to_string())
            .collect();
        let _ = writeln!(
            md,
            "\nA cold edge's first picture came {:.1} ms after a warm one's (median of the \
             differences, time by time). Pulls the edge started from each cold viewer's \
             request to the warm one's picture (its `media_pulls_started_total`): {}. The \
             first time is the edge's first pull since it started.\n",
            f.cold_less_warm_ms,
            started.join(", "),
        );

        let _ = writeln!(
            md,
            "CPU: per round and count, the viewers join the origin at {}/s (no pull running), \
             {} s measured once all have started, then as many join the edge (its pull \
             starts with the first) for the same; {} round{}, medians. Each node's CPU per \
             viewer-minute is counted from its rate with one viewer in the round's idle \
             windows (the origin's with one of its own, the edge's while pulling for one), so \
             that what the first viewer pays for all (the writers' tick) is in neither; \"all\" is all of its CPU over \
             the viewers. The origin is read over the edge's window too: its CPU then, less \
             its rate with the publisher alone, is what serving the edge cost it, also given \
             over what its first viewer costs it at idle, and over one more viewer at this \
             count (the origin's median).\n",
            trim(self.ramp_per_s),
            trim(self.duration_s),
            self.rounds,
            if self.rounds == 1 { "" } else { "s" },
        );
        let _ = writeln!(
            md,
            "| viewers | origin CPU ms/viewer-min, per round | median | edge, per round \
             | median | edge ÷ origin | all: origin / edge (ratio) | origin's extra while \
             the edge serves, ms CPU/min, per round | median | ÷ first viewer | ÷ one more |"
        );
        let _ = writeln!(md, "|---:|---|---:|---|---:|---:|---|---|---:|---:|---:|");
        let list = |v: &[f64], digits: usize| {
            v.iter()
                .map(|x| format!("{x:.digits$}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for s in &self.summary {
            let _ = writeln!(
                md,
                "| {} | {} | {:.2} | {} | {:.2} | **{:.2}×** | {:.2} / {:.2} ({:.2}×) | {} | {:+.0} | {:.1}× | {:.1}× |",
                s.players,
                list(&s.origin_rounds, 2),
                s.origin,
                list(&s.edge_rounds, 2),
                s.edge,
                s.edge_to_origin,
                s.origin_all,
                s.edge_all,
                s.edge_to_origin_all,
                list(&s.origin_extra_rounds, 0),
                s.origin_extra_ms_per_min,
                s.origin_extra_in_first_viewers,
                s.origin_extra_in_viewers,
            );
        }

        let _ = writeln!(md, "\nIdle windows, ms CPU per minute:\n");
        let _ = writeln!(
            md,
            "| round | origin alone | edge alone | origin, one viewer of its own | origin, \
             the edge pulling | edge pulling for one viewer |"
        );
        let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|");
        for r in &self.idle {
            let _ = writeln!(
                md,
                "| {} | {:.0} | {:.0} | {:.0} ({:+.0}) | {:.0} ({:+.0}) | {:.0} ({:+.0}) |",
                r.round,
                r.origin_alone.cpu_ms_per_min,
                r.edge_alone.cpu_ms_per_min,
                r.origin_one.cpu_ms_per_min,
                r.viewer_on_origin(),
                r.origin_pulled.cpu_ms_per_min,
                r.pull_on_origin(),
                r.edge_pulling.cpu_ms_per_min,
                r.pull_on_edge(),
            );
        }

        let _ = writeln!(md, "\nEvery step:\n");
        let _ = writeln!(
            md,
            "| round | viewers | node | connected (lost) | first picture p50 ms | p99 ms \
             | received/sent | video frames dropped | CPU ms/viewer-min | from idle \
             | KiB/viewer | origin CPU ms/min meanwhile | bench CPU |"
        );
        let _ = writeln!(
            md,
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let dash = || "–".to_string();
        for p in &self.steps {
            for (node, s, beside) in [
                ("origin", &p.origin, None),
                ("edge", &p.edge, p.origin_in_edge_window_ms_per_min),
            ] {
                let _ = writeln!(
                    md,
                    "| {} | {} | {node} | {} ({}) | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} | {:.0}% |",
                    p.round,
                    p.players,
                    s.connected,
                    s.lost,
                    s.first_frame_ms.p50,
                    s.first_frame_ms.p99,
                    s.received_pct.map_or_else(dash, |v| format!("{v:.2}%")),
                    s.video_frames_lost,
                    gross(s).map_or_else(dash, |v| format!("{v:.2}")),
                    net(s).map_or_else(dash, |v| format!("{v:.2}")),
                    s.server
                        .map_or_else(dash, |c| format!("{:.1}", c.kib_per_viewer)),
                    beside.map_or_else(dash, |v| format!("{v:.0}")),
                    s.bench_cpu_pct,
                );
            }
        }

        let mut failures: Vec<String> = self
            .first_pictures
            .samples
            .iter()
            .flat_map(|s| s.errors.iter().map(|e| format!("- first picture, {e}")))
            .collect();
        for p in &self.steps {
            for (node, s) in [("origin", &p.origin), ("edge", &p.edge)] {
                for (e, n) in &s.errors {
                    failures.push(format!(
                        "- round {}, {node} × {}: {n}× {e}",
                        p.round, p.players
                    ));
                }
            }
        }
        if !failures.is_empty() {
            let _ = writeln!(md, "\nFailures:\n");
            for f in failures.iter().take(20) {
                let _ = writeln!(md, "{f}");
            }
        }
        md
    }

    /// Appends the Markdown section to `path` (see [`crate::report`] for the spacing).
    pub fn append_markdown(&self, path: &Path) -> anyhow::Result<()> {
        crate::report::append_section(path, &self.to_markdown())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::live::report::tests::{raw, sample};

    /// Origin and edge each 0.5 s of CPU per 10 s alone; the origin with one viewer
    /// 0.55 s, with the edge's pull 0.6 s; the edge pulling, 1 s.
    fn idles() -> Idles {
        let idle = |cpu_s: f64| {
            Idle::new(
                sample(0.0, 50_000),
                sample(cpu_s, 50_000),
                Duration::from_secs(10),
            )
        };
        Idles {
            round: 1,
            window_s: 10.0,
            origin_alone: idle(0.5),
            edge_alone: idle(0.5),
            origin_one: idle(0.55),
            origin_pulled: idle(0.6),
            edge_pulling: idle(1.0),
        }
    }

    /// Round `round`: 4 viewers on each node for 30 s, the origin spending 6 s of CPU
    /// and the edge `edge_cpu_s`, the origin `beside_cpu_s` over the edge's window.
    fn pair(round: usize, edge_cpu_s: f64, beside_cpu_s: f64) -> CpuPair {
        let idle = idles();
        let origin = StepReport::new(raw(), Some(&idle.origin_one), None);
        let mut edge_raw = raw();
        edge_raw.server = Some((sample(0.0, 50_000), sample(edge_cpu_s, 50_000)));
        let edge = StepReport::new(edge_raw, Some(&idle.edge_pulling), None);
        let beside = Some((sample(1.0, 0), sample(1.0 + beside_cpu_s, 0)));
        CpuPair::new(round, 4, origin, edge, beside, &idle)
    }

    #[test]
    fn each_node_is_counted_from_its_own_idle_rate() {
        let idle = idles();
        assert!((idle.pull_on_origin() - 600.0).abs() < 1e-6);
        assert!((idle.viewer_on_origin() - 300.0).abs() < 1e-6);
        assert_eq!(idle.pull_on_edge(), 3000.0);
        let p = pair(1, 7.5, 1.65);
        // Origin: 6 s less 1.65 s (its rate with one viewer) over 4 viewers × 0.5 min.
        assert!((net(&p.origin).unwrap() - 2175.0).abs() < 1e-6);
        // Edge: 7.5 s less 3 s of pulling.
        assert_eq!(net(&p.edge), Some(2250.0));
        // The origin: 1.65 s in half a minute is 3300 ms per minute, 300 above alone.
        assert!((p.origin_extra_ms_per_min.unwrap() - 300.0).abs() < 1e-6);
    }

    #[test]
    fn summaries_are_medians_over_rounds() {
        let steps = [pair(1, 7.5, 1.65), pair(2, 9.5, 1.5), pair(3, 8.5, 1.8)];
        let first_viewer = IdleMedians::new(&[idles()]).viewer_on_origin;
        let s = CountSummary::new(4, &steps.iter().collect::<Vec<_>>(), first_viewer);
        assert!((s.origin - 2175.0).abs() < 1e-6);
        assert_eq!(s.edge_rounds, [2250.0, 3250.0, 2750.0]);
        assert_eq!(s.edge, 2750.0);
        assert!((s.edge_to_origin - 2750.0 / 2175.0).abs() < 1e-9);
        assert!((s.origin_extra_ms_per_min - 300.0).abs() < 1e-6);
        // The pull cost the origin as much as its first viewer did.
        assert!((s.origin_extra_in_first_viewers - 1.0).abs() < 1e-9);
        assert!((s.origin_extra_in_viewers - 300.0 / 2175.0).abs() < 1e-9);
    }

    #[test]
    fn first_pictures_keep_failures_and_compare_cold_with_warm() {
        let f = FirstPictures::new(vec![
            StartSample::new(Ok(40.0), Ok(1.0), Ok(0.5), 1.0),
            StartSample::new(Ok(60.0), Ok(2.0), Ok(0.7), 1.0),
            StartSample::new(
                Err(anyhow::anyhow!("no picture within 15s")),
                Ok(3.0),
                Ok(0.6),
                0.0,
            ),
        ]);
        assert_eq!(f.cold_ms.p50, 40.0);
        assert_eq!(f.cold_ms.max, 60.0);
        assert_eq!(f.warm_ms.p50, 2.0);
        assert_eq!(f.cold_less_warm_ms, (39.0 + 58.0) / 2.0);
        assert_eq!(f.samples[2].errors, ["edge, cold: no picture within 15s"]);
    }
}
