//! The result of a run, as JSON for machines and as a Markdown section for
//! `docs/benchmarks.md`.
//!
//! The Markdown carries everything needed to rerun and to judge the numbers: the exact
//! command, the machine, the date and the load shape, next to the table.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::context::{self, Machine};
use crate::rounds::{Measured, Plan};
use crate::stats::{self, Latency};

/// A whole run.
#[derive(Debug, Serialize)]
pub struct Report {
    pub title: String,
    pub date: String,
    pub command: String,
    pub machine: Machine,
    pub connections: usize,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub rounds: usize,
    pub baseline: Option<String>,
    pub targets: Vec<TargetReport>,
    /// Replaces the description of the load when the scenario's shape is its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_note: Option<String>,
}

/// One target's numbers over all rounds.
#[derive(Debug, Serialize)]
pub struct TargetReport {
    pub name: String,
    pub method: String,
    pub url: String,
    /// Median over rounds of the requests per second.
    pub median_rps: f64,
    /// Each round's requests per second, in round order.
    pub rounds_rps: Vec<f64>,
    /// Responses counted over all rounds.
    pub requests: u64,
    /// From every measured sample of every round, merged.
    pub latency_ms: Latency,
    pub non_2xx: u64,
    pub errors: u64,
    /// `median_rps` divided by the baseline's; absent without a baseline or when the
    /// baseline managed no requests at all.
    pub ratio_to_baseline: Option<f64>,
}

impl Report {
    /// Summarises measurements. `baseline`, if given, must name one of the targets.
    pub fn new(
        title: &str,
        plan: Plan,
        baseline: Option<&str>,
        measured: Vec<Measured>,
    ) -> Result<Self> {
        let secs = plan.duration.as_secs_f64();
        let mut targets: Vec<TargetReport> = measured
            .into_iter()
            .map(|m| {
                let rounds_rps: Vec<f64> =
                    m.rounds.iter().map(|t| t.requests as f64 / secs).collect();
                let mut all = crate::load::Tally::default();
                for t in m.rounds {
                    all.merge(t);
                }
                TargetReport {
                    name: m.target.name,
                    method: m.target.method.to_string(),
                    url: m.target.url,
                    median_rps: stats::median(&rounds_rps),
                    rounds_rps,
                    requests: all.requests,
                    latency_ms: Latency::from_micros(all.latencies_us),
                    non_2xx: all.non_2xx,
                    errors: all.errors,
                    ratio_to_baseline: None,
                }
            })
            .collect();
        if let Some(name) = baseline {
            let Some(base) = targets.iter().find(|t| t.name == name) else {
                bail!("--baseline {name} names no target");
            };
            let base_rps = base.median_rps;
            for t in &mut targets {
                t.ratio_to_baseline = (base_rps > 0.0).then(|| t.median_rps / base_rps);
            }
        }
        Ok(Self {
            title: title.to_string(),
            date: context::utc_now(),
            command: context::command_line(),
            machine: Machine::detect(),
            connections: plan.connections,
            warmup_s: plan.warmup.as_secs_f64(),
            duration_s: secs,
            rounds: plan.rounds,
            baseline: baseline.map(str::to_string),
            targets,
            load_note: None,
        })
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// A Markdown section: heading, context, command, table.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        // Writing to a String cannot fail; the results of write! are ignored below.
        let _ = writeln!(md, "## {}\n", self.title);
        let _ = writeln!(md, "- Date: {}", self.date);
        let _ = writeln!(
            md,
            "- Machine: {} CPUs, {}",
            self.machine.cpus, self.machine.cpu_model
        );
        match &self.load_note {
            Some(note) => {
                let _ = writeln!(md, "- Load: {note}");
            }
            None => {
                let _ = writeln!(
                    md,
                    "- Load: closed loop, {} keep-alive HTTP/1.1 connections; per target and round \
                     {} s warmup then {} s measured; {} round{}, targets interleaved",
                    self.connections,
                    trim_float(self.warmup_s),
                    trim_float(self.duration_s),
                    self.rounds,
                    if self.rounds == 1 { "" } else { "s" },
                );
            }
        }
        let _ = writeln!(md, "\n```sh\n{}\n```\n", self.command);

        let ratio_head = match &self.baseline {
            Some(b) => format!("vs {b}"),
            None => "vs baseline".to_string(),
        };
        let _ = writeln!(
            md,
            "| target | median req/s | per-round req/s | p50 ms | p90 ms | p99 ms | max ms \
             | non-2xx | errors | {ratio_head} |"
        );
        let _ = writeln!(md, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        for t in &self.targets {
            let rounds = t
                .rounds_rps
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", ");
            let ratio = t
                .ratio_to_baseline
                .map_or_else(|| "–".to_string(), |r| format!("{r:.3}"));
            let _ = writeln!(
                md,
                "| {} `{} {}` | {:.0} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} |",
                t.name,
                t.method,
                path_of(&t.url),
                t.median_rps,
                rounds,
                t.latency_ms.p50,
                t.latency_ms.p90,
                t.latency_ms.p99,
                t.latency_ms.max,
                t.non_2xx,
                t.errors,
                ratio,
            );
        }
        md
    }

    /// Appends the Markdown section to `path`, creating the file if needed and leaving
    /// a blank line between it and what was there.
    pub fn append_markdown(&self, path: &Path) -> Result<()> {
        crate::report::append_section(path, &self.to_markdown())
    }
}

/// Appends `section` to the Markdown file `path`, creating it if needed and leaving one
/// blank line between it and what was there. Every scenario's report ends here.
pub fn append_section(path: &Path, section: &str) -> Result<()> {
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let sep = if existing.is_empty() || existing.ends_with("\n\n") {
        ""
    } else if existing.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {} to append", path.display()))?;
    write!(file, "{sep}{section}")
        .with_context(|| format!("cannot write to {}", path.display()))?;
    Ok(())
}

/// `2.0` as `2`, `0.5` as `0.5`.
fn trim_float(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The path and query of a URL, which is what tells targets on one server apart; the
/// whole URL is in the JSON.
fn path_of(url: &str) -> &str {
    url.strip_prefix("http://")
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("/")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hyper::Method;

    use super::*;
    use crate::load::Tally;
    use crate::target::Target;

    fn tally(requests: u64, latency_ms: u64) -> Tally {
        Tally {
            requests,
            non_2xx: 1,
            errors: 0,
            latencies_us: vec![latency_ms * 1000; requests as usize],
        }
    }

    fn sample(baseline: Option<&str>) -> Result<Report> {
        let plan = Plan {
            connections: 8,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(2),
            rounds: 3,
        };
        let t = |name: &str, path: &str| {
            Target::new(name, Method::GET, &format!("http://127.0.0.1:1{path}")).unwrap()
        };
        let measured = vec![
            Measured {
                target: t("fast", "/healthz"),
                rounds: vec![tally(200, 1), tally(220, 1), tally(2, 1)],
            },
            Measured {
                target: t("slow", "/api/v1/users/1"),
                rounds: vec![tally(100, 2), tally(100, 2), tally(110, 3)],
            },
        ];
        Report::new("Sample", plan, baseline, measured)
    }

    #[test]
    fn summarises_rounds_and_ratios() {
        let r = sample(Some("fast")).unwrap();
        let fast = &r.targets[0];
        assert_eq!(fast.rounds_rps, vec![100.0, 110.0, 1.0]);
        assert_eq!(fast.median_rps, 100.0);
        assert_eq!(fast.requests, 422);
        assert_eq!(fast.non_2xx, 3);
        let slow = &r.targets[1];
        assert_eq!(slow.median_rps, 50.0);
        assert_eq!(slow.ratio_to_baseline, Some(0.5));
        assert_eq!(slow.latency_ms.max, 3.0);
        assert_eq!(fast.ratio_to_baseline, Some(1.0));
    }

    #[test]
    fn an_unknown_baseline_is_an_error() {
        let err = sample(Some("nope")).unwrap_err().to_string();
        assert!(err.contains("nope"), "{err}");
        assert!(sample(None).unwrap().targets[0].ratio_to_baseline.is_none());
    }

    #[test]
    fn markdown_has_heading_command_and_table() {
        let md = sample(Some("fast")).unwrap().to_markdown();
        assert!(md.starts_with("## Sample\n\n- Date: "));
        assert!(md.contains("\n```sh\n"));
        assert!(md.contains("| vs fast |"));
        assert!(md.contains("| slow `GET /api/v1/users/1` | 50 | 50, 50, 55 | 2.00 |"));
        assert!(md.contains("1 s warmup then 2 s measured; 3 rounds"));
    }

    #[test]
    fn appending_separates_sections() {
        let dir = std::env::temp_dir().join(format!("momo-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bench.md");
        std::fs::write(&path, "# Benchmarks\n").unwrap();
        let r = sample(None).unwrap();
        r.append_markdown(&path).unwrap();
        r.append_markdown(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# Benchmarks\n\n## Sample\n"));
        assert_eq!(text.matches("\n\n## Sample\n").count(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn json_has_the_documented_fields() {
        let json: serde_json::Value =
            serde_json::from_str(&sample(Some("fast")).unwrap().to_json().unwrap()).unwrap();
        let slow = &json["targets"][1];
        assert_eq!(slow["median_rps"], 50.0);
        assert_eq!(slow["latency_ms"]["p99"], 3.0);
        assert_eq!(slow["ratio_to_baseline"], 0.5);
        assert_eq!(json["baseline"], "fast");
        assert_eq!(json["rounds"], 3);
    }
}
