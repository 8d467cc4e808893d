//! The result of a `chat` run: every group of every round as JSON, and a Markdown
//! section with medians over rounds and ratios to nats-server.
//!
//! - KiB per connection: (RSS with every client connected, after the idle window, less
//!   RSS of the fresh server before the first client) over the clients connected.
//! - CPU per thousand deliveries: the server's CPU time in the window over the
//!   deliveries the clients counted in it, in ms per 1000. It includes the heartbeats
//!   and the push request or `PUB` itself, which are the same work for every rate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::latency::Tally;
use super::ChatArgs;
use crate::context::{self, Machine};
use crate::live::procstat::Sample;
use crate::stats::{median, Latency};

/// `nats_version` when nats-server was not among the servers.
const NOT_MEASURED: &str = "not measured";

pub const TITLE: &str = "Chat gateway: momo against nats-server over WebSocket";

/// One server started fresh with one client count.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub server: String,
    pub round: usize,
    pub clients: usize,
    /// In the room when the idle window began.
    pub connected: usize,
    pub failed: usize,
    /// Connected, then cut off before the group ended.
    pub lost: usize,
    /// From the first connect until every client was in or had failed.
    pub connect_s: f64,
    pub rss_base_kib: u64,
    pub rss_kib: u64,
    pub kib_per_connection: f64,
    /// The server's CPU while idle (heartbeats only), in percent of one core.
    pub idle_cpu_pct: f64,
    pub idle_bench_cpu_pct: f64,
    pub broadcasts: Vec<Broadcast>,
    pub errors: BTreeMap<String, usize>,
}

impl Group {
    pub fn one_line(&self) -> String {
        format!(
            "{}/{} connected in {:.1} s ({} failed, {} lost), {:.1} KiB per connection, idle CPU {:.1}%",
            self.connected,
            self.clients,
            self.connect_s,
            self.failed,
            self.lost,
            self.kib_per_connection,
            self.idle_cpu_pct
        )
    }
}

/// One broadcast window.
#[derive(Debug, Clone, Serialize)]
pub struct Broadcast {
    /// Messages per second asked of the publisher.
    pub rate: u32,
    pub members: usize,
    pub window_s: f64,
    /// Messages the publisher sent in the window.
    pub sent: u64,
    pub deliveries: u64,
    /// Deliveries whose body had no send time (should be 0).
    pub unstamped: u64,
    /// `deliveries` over `sent × members`, in percent; messages in flight at the
    /// window's edges move it by a fraction of a percent either way.
    pub received_pct: f64,
    pub deliveries_per_s: f64,
    pub server_cpu_pct: f64,
    pub cpu_ms_per_1k: f64,
    pub latency_ms: Latency,
    pub bench_cpu_pct: f64,
    /// Two nodes: members on the publisher's node and on the other, apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
}

/// One broadcast window over two nodes, seen from each side.
#[derive(Debug, Clone, Serialize)]
pub struct Split {
    /// To members on the node the messages were pushed on.
    pub same_node_deliveries: u64,
    pub same_node_ms: Latency,
    /// To members on the other node (across NATS).
    pub other_node_deliveries: u64,
    pub other_node_ms: Latency,
    /// Messages on the cluster's NATS under `momo.room.{room}.>` in the window, per
    /// subject.
    pub nats: BTreeMap<String, u64>,
    /// All of them over the messages sent in the window.
    pub nats_per_message: f64,
}

impl Split {
    pub fn new(near: &Tally, far: &Tally, nats: BTreeMap<String, u64>, sent: u64) -> Self {
        let total: u64 = nats.values().sum();
        Split {
            same_node_deliveries: near.deliveries,
            same_node_ms: near.latency(),
            other_node_deliveries: far.deliveries,
            other_node_ms: far.latency(),
            nats,
            nats_per_message: if sent > 0 {
                total as f64 / sent as f64
            } else {
                0.0
            },
        }
    }
}

impl Broadcast {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rate: u32,
        members: usize,
        window_s: f64,
        sent: u64,
        deliveries: u64,
        unstamped: u64,
        latency_ms: Latency,
        server: (Sample, Sample),
        bench: (Sample, Sample),
    ) -> Self {
        let expected = sent as f64 * members as f64;
        let cpu_ms = (server.1.cpu_s - server.0.cpu_s) * 1000.0;
        Broadcast {
            rate,
            members,
            window_s,
            sent,
            deliveries,
            unstamped,
            received_pct: if expected > 0.0 {
                deliveries as f64 / expected * 100.0
            } else {
                0.0
            },
            deliveries_per_s: deliveries as f64 / window_s,
            server_cpu_pct: cpu_ms / 10.0 / window_s,
            cpu_ms_per_1k: if deliveries > 0 {
                cpu_ms / (deliveries as f64 / 1000.0)
            } else {
                0.0
            },
            latency_ms,
            bench_cpu_pct: (bench.1.cpu_s - bench.0.cpu_s) * 100.0 / window_s,
            split: None,
        }
    }

    pub fn one_line(&self) -> String {
        format!(
            "{} msg/s: {:.0} deliveries/s ({:.2}% of sent × members), server CPU {:.0}%, \
             {:.3} ms per 1k deliveries, latency p50 {:.1} ms p99 {:.1} ms, bench CPU {:.0}%",
            self.rate,
            self.deliveries_per_s,
            self.received_pct,
            self.server_cpu_pct,
            self.cpu_ms_per_1k,
            self.latency_ms.p50,
            self.latency_ms.p99,
            self.bench_cpu_pct
        )
    }
}

/// Memory per idle connection of one server at one client count, over rounds.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryRow {
    pub server: String,
    pub clients: usize,
    pub connected_min: usize,
    pub kib_per_connection: Vec<f64>,
    pub median: f64,
    /// The median over nats-server's at the same count.
    pub vs_nats: Option<f64>,
}

/// One server at one rate, over rounds.
#[derive(Debug, Clone, Serialize)]
pub struct BroadcastRow {
    pub server: String,
    pub members: usize,
    pub rate: u32,
    /// Messages per second the publisher got out (momo's push API answers each
    /// request before the next is sent, so a slow answer lowers it below `rate`).
    pub sent_per_s: f64,
    pub deliveries_per_s: f64,
    pub received_pct: f64,
    pub server_cpu_pct: f64,
    pub cpu_ms_per_1k: Vec<f64>,
    pub cpu_ms_per_1k_median: f64,
    pub cpu_vs_nats: Option<f64>,
    /// Medians over rounds of each round's percentile.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p99_vs_nats: Option<f64>,
    pub bench_cpu_pct: f64,
}

/// One room on one node against the same room split across two, at one rate, over
/// rounds.
#[derive(Debug, Clone, Serialize)]
pub struct NodesRow {
    pub server: String,
    pub members: usize,
    pub rate: u32,
    pub sent_per_s: f64,
    pub received_pct: f64,
    /// Both nodes' together, in percent of one core.
    pub server_cpu_pct: f64,
    pub cpu_ms_per_1k: Vec<f64>,
    pub cpu_ms_per_1k_median: f64,
    /// The median over one node's (`momo`) at the same rate.
    pub cpu_vs_one_node: Option<f64>,
    /// Medians over rounds; with one node every member is on the sender's node.
    pub same_p50_ms: f64,
    pub same_p99_ms: Vec<f64>,
    pub same_p99_median: f64,
    pub other_p50_ms: Option<f64>,
    pub other_p99_ms: Vec<f64>,
    pub other_p99_median: Option<f64>,
    pub nats_per_message: Vec<f64>,
    pub nats_per_message_median: Option<f64>,
}

/// A whole run.
#[derive(Debug, Serialize)]
pub struct ChatReport {
    pub title: String,
    pub date: String,
    pub command: String,
    pub machine: Machine,
    pub nats_version: String,
    pub rounds: usize,
    pub ramp_per_s: u32,
    pub heartbeat_s: f64,
    pub idle_s: f64,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub payload_bytes: u32,
    pub per_address: u32,
    pub memory: Vec<MemoryRow>,
    pub broadcast: Vec<BroadcastRow>,
    pub nodes: Vec<NodesRow>,
    pub groups: Vec<Group>,
}

impl ChatReport {
    pub fn new(a: &ChatArgs, groups: Vec<Group>) -> Self {
        let nats_version = if a.servers.contains(&super::Server::Nats) {
            super::servers::version(&a.nats_server)
        } else {
            NOT_MEASURED.into()
        };
        ChatReport {
            title: a.title.clone(),
            date: context::utc_now(),
            command: context::command_line(),
            machine: Machine::detect(),
            nats_version,
            rounds: usize::from(a.rounds),
            ramp_per_s: a.ramp,
            heartbeat_s: a.heartbeat.as_secs_f64(),
            idle_s: a.idle.as_secs_f64(),
            warmup_s: a.warmup.as_secs_f64(),
            duration_s: a.duration.as_secs_f64(),
            payload_bytes: a.payload,
            per_address: a.per_address,
            memory: memory_rows(&groups),
            broadcast: broadcast_rows(&groups),
            nodes: nodes_rows(&groups),
            groups,
        }
    }

    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        // Writing to a String cannot fail; the results of writeln! are ignored below.
        let _ = writeln!(md, "## {}\n", self.title);
        let _ = writeln!(md, "- Date: {}", self.date);
        let _ = writeln!(
            md,
            "- Machine: {} CPUs, {}",
            self.machine.cpus, self.machine.cpu_model
        );
        let nats = if self.nats_version == NOT_MEASURED {
            String::new()
        } else {
            format!(
                ", {} (its own instance, WebSocket listener without TLS)",
                self.nats_version
            )
        };
        let _ = writeln!(
            md,
            "- Servers, each started fresh by the bench for every step: momo (this build, \
             `[chat] fanout = \"shared\"`, and `\"naive\"` as momo-naive){nats}; nothing \
             else changed from the defaults"
        );
        let _ = writeln!(
            md,
            "- Load: clients connect at {}/s from 127.0.0.2, .3, … ({} per address), join \
             one room (momo: auth op 7 with `room_id`; NATS: `SUB room.1`) and send a \
             heartbeat every {} s (op 2 / `PING`); memory is read after {} s idle; the \
             broadcasts publish {}-byte stamped bodies (momo: push API with the service \
             token; NATS: `PUB` on a TCP connection), {} s warmup then {} s measured per \
             rate; {} round{}, servers interleaved",
            self.ramp_per_s,
            self.per_address,
            trim(self.heartbeat_s),
            trim(self.idle_s),
            self.payload_bytes,
            trim(self.warmup_s),
            trim(self.duration_s),
            self.rounds,
            if self.rounds == 1 { "" } else { "s" },
        );
        if !self.nodes.is_empty() {
            let _ = writeln!(
                md,
                "- momo-2-nodes: two momo nodes in cluster mode on this machine's PostgreSQL \
                 (a fresh database per step), NATS and Redis (a key prefix per step); \
                 members alternate between the nodes, every message is pushed on the first; \
                 CPU and RSS are both nodes' together; a core NATS subscriber on \
                 `momo.room.{{room}}.>` counts what crosses between the nodes for the room"
            );
        }
        let _ = writeln!(md, "\n```sh\n{}\n```\n", self.command);
        if !self.nodes.is_empty() {
            let _ = writeln!(
                md,
                "| server | members | msg/s asked | sent | received | CPU (all nodes) | CPU ms per 1k deliveries, per round | median | vs one node | same node p50 ms | same node p99 ms, per round | median | other node p50 ms | other node p99 ms, per round | median | NATS msgs per room message, per round | median |"
            );
            let _ = writeln!(
                md,
                "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---|---:|---|---:|"
            );
            for r in &self.nodes {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {:.1} | {:.2}% | {:.0}% | {} | {:.3} | {} | {:.1} | {} | {:.1} | {} | {} | {} | {} | {} |",
                    r.server,
                    r.members,
                    r.rate,
                    r.sent_per_s,
                    r.received_pct,
                    r.server_cpu_pct,
                    list(&r.cpu_ms_per_1k, 3),
                    r.cpu_ms_per_1k_median,
                    ratio(r.cpu_vs_one_node),
                    r.same_p50_ms,
                    list(&r.same_p99_ms, 1),
                    r.same_p99_median,
                    opt(r.other_p50_ms, 1),
                    dash(list(&r.other_p99_ms, 1)),
                    opt(r.other_p99_median, 1),
                    dash(list(&r.nats_per_message, 3)),
                    opt(r.nats_per_message_median, 3),
                );
            }
            let _ = writeln!(md);
        }

        let _ = writeln!(
            md,
            "| server | clients | connected (min) | KiB per idle connection, per round | median | vs nats |"
        );
        let _ = writeln!(md, "|---|---:|---:|---|---:|---:|");
        for r in &self.memory {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {:.1} | {} |",
                r.server,
                r.clients,
                r.connected_min,
                list(&r.kib_per_connection, 1),
                r.median,
                ratio(r.vs_nats)
            );
        }
        let _ = writeln!(md);
        let _ = writeln!(
            md,
            "| server | members | msg/s asked | sent | deliveries/s | received | server CPU | CPU ms per 1k deliveries, per round | median | vs nats | latency p50 ms | p99 ms | p99 vs nats | bench CPU |"
        );
        let _ = writeln!(
            md,
            "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
        );
        for r in &self.broadcast {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.1} | {:.0} | {:.2}% | {:.0}% | {} | {:.3} | {} | {:.1} | {:.1} | {} | {:.0}% |",
                r.server,
                r.members,
                r.rate,
                r.sent_per_s,
                r.deliveries_per_s,
                r.received_pct,
                r.server_cpu_pct,
                list(&r.cpu_ms_per_1k, 3),
                r.cpu_ms_per_1k_median,
                ratio(r.cpu_vs_nats),
                r.p50_ms,
                r.p99_ms,
                ratio(r.p99_vs_nats),
                r.bench_cpu_pct
            );
        }
        let mut errors: BTreeMap<(String, String), usize> = BTreeMap::new();
        for g in &self.groups {
            for (why, n) in &g.errors {
                *errors.entry((g.server.clone(), why.clone())).or_insert(0) += n;
            }
        }
        if !errors.is_empty() {
            let _ = writeln!(md, "\nClient errors over all rounds:\n");
            for ((server, why), n) in errors {
                let _ = writeln!(md, "- {server}: {n} × {why}");
            }
        }
        md
    }

    pub fn append_markdown(&self, path: &Path) -> Result<()> {
        crate::report::append_section(path, &self.to_markdown())
    }
}

/// Servers and counts in the order they were first measured.
fn keys<K: PartialEq + Clone>(items: impl Iterator<Item = K>) -> Vec<K> {
    let mut out: Vec<K> = Vec::new();
    for k in items {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

fn memory_rows(groups: &[Group]) -> Vec<MemoryRow> {
    let mut rows: Vec<MemoryRow> = keys(groups.iter().map(|g| (g.server.clone(), g.clients)))
        .into_iter()
        .map(|(server, clients)| {
            let of: Vec<&Group> = groups
                .iter()
                .filter(|g| g.server == server && g.clients == clients)
                .collect();
            let kib: Vec<f64> = of.iter().map(|g| g.kib_per_connection).collect();
            MemoryRow {
                server,
                clients,
                connected_min: of.iter().map(|g| g.connected).min().unwrap_or(0),
                median: median(&kib),
                kib_per_connection: kib,
                vs_nats: None,
            }
        })
        .collect();
    let nats: Vec<(usize, f64)> = rows
        .iter()
        .filter(|r| r.server == "nats")
        .map(|r| (r.clients, r.median))
        .collect();
    for r in &mut rows {
        r.vs_nats = nats
            .iter()
            .find(|(c, _)| *c == r.clients)
            .and_then(|(_, m)| (*m > 0.0).then(|| r.median / m));
    }
    rows
}

fn broadcast_rows(groups: &[Group]) -> Vec<BroadcastRow> {
    let all: Vec<(&str, &Broadcast)> = groups
        .iter()
        .flat_map(|g| g.broadcasts.iter().map(move |b| (g.server.as_str(), b)))
        .collect();
    let mut rows: Vec<BroadcastRow> = keys(all.iter().map(|(s, b)| (s.to_string(), b.rate)))
        .into_iter()
        .map(|(server, rate)| {
            let of: Vec<&Broadcast> = all
                .iter()
                .filter(|(s, b)| *s == server && b.rate == rate)
                .map(|(_, b)| *b)
                .collect();
            let med =
                |f: fn(&Broadcast) -> f64| median(&of.iter().map(|b| f(b)).collect::<Vec<_>>());
            let cpu: Vec<f64> = of.iter().map(|b| b.cpu_ms_per_1k).collect();
            BroadcastRow {
                server,
                members: of.iter().map(|b| b.members).min().unwrap_or(0),
                rate,
                sent_per_s: med(|b| b.sent as f64 / b.window_s),
                deliveries_per_s: med(|b| b.deliveries_per_s),
                received_pct: med(|b| b.received_pct),
                server_cpu_pct: med(|b| b.server_cpu_pct),
                cpu_ms_per_1k_median: median(&cpu),
                cpu_ms_per_1k: cpu,
                cpu_vs_nats: None,
                p50_ms: med(|b| b.latency_ms.p50),
                p99_ms: med(|b| b.latency_ms.p99),
                p99_vs_nats: None,
                bench_cpu_pct: med(|b| b.bench_cpu_pct),
            }
        })
        .collect();
    let nats: Vec<(u32, f64, f64)> = rows
        .iter()
        .filter(|r| r.server == "nats")
        .map(|r| (r.rate, r.cpu_ms_per_1k_median, r.p99_ms))
        .collect();
    for r in &mut rows {
        if let Some((_, cpu, p99)) = nats.iter().find(|(rate, _, _)| *rate == r.rate) {
            r.cpu_vs_nats = (*cpu > 0.0).then(|| r.cpu_ms_per_1k_median / cpu);
            r.p99_vs_nats = (*p99 > 0.0).then(|| r.p99_ms / p99);
        }
    }
    rows
}

/// The `momo` rows and every two-node row, at the rates they were measured.
fn nodes_rows(groups: &[Group]) -> Vec<NodesRow> {
    if !groups
        .iter()
        .flat_map(|g| &g.broadcasts)
        .any(|b| b.split.is_some())
    {
        return Vec::new();
    }
    let all: Vec<(&str, &Broadcast)> = groups
        .iter()
        .filter(|g| g.server == "momo" || g.broadcasts.iter().any(|b| b.split.is_some()))
        .flat_map(|g| g.broadcasts.iter().map(move |b| (g.server.as_str(), b)))
        .collect();
    let mut rows: Vec<NodesRow> = keys(all.iter().map(|(s, b)| (s.to_string(), b.rate)))
        .into_iter()
        .map(|(server, rate)| {
            let of: Vec<&Broadcast> = all
                .iter()
                .filter(|(s, b)| *s == server && b.rate == rate)
                .map(|(_, b)| *b)
                .collect();
            let med =
                |f: fn(&Broadcast) -> f64| median(&of.iter().map(|b| f(b)).collect::<Vec<_>>());
            let splits: Vec<&Split> = of.iter().filter_map(|b| b.split.as_ref()).collect();
            let of_split = |f: fn(&Split) -> f64| splits.iter().map(|s| f(s)).collect::<Vec<_>>();
            let some_median = |v: &[f64]| (!v.is_empty()).then(|| median(v));
            let cpu: Vec<f64> = of.iter().map(|b| b.cpu_ms_per_1k).collect();
            let (same_p50, same_p99) = if splits.is_empty() {
                (
                    med(|b| b.latency_ms.p50),
                    of.iter().map(|b| b.latency_ms.p99).collect::<Vec<_>>(),
                )
            } else {
                (
                    median(&of_split(|s| s.same_node_ms.p50)),
                    of_split(|s| s.same_node_ms.p99),
                )
            };
            let other_p99 = of_split(|s| s.other_node_ms.p99);
            let nats = of_split(|s| s.nats_per_message);
            NodesRow {
                server,
                members: of.iter().map(|b| b.members).min().unwrap_or(0),
                rate,
                sent_per_s: med(|b| b.sent as f64 / b.window_s),
                received_pct: med(|b| b.received_pct),
                server_cpu_pct: med(|b| b.server_cpu_pct),
                cpu_ms_per_1k_median: median(&cpu),
                cpu_ms_per_1k: cpu,
                cpu_vs_one_node: None,
                same_p50_ms: same_p50,
                same_p99_median: median(&same_p99),
                same_p99_ms: same_p99,
                other_p50_ms: some_median(&of_split(|s| s.other_node_ms.p50)),
                other_p99_median: some_median(&other_p99),
                other_p99_ms: other_p99,
                nats_per_message_median: some_median(&nats),
                nats_per_message: nats,
            }
        })
        .collect();
    let one: Vec<(u32, f64)> = rows
        .iter()
        .filter(|r| r.server == "momo")
        .map(|r| (r.rate, r.cpu_ms_per_1k_median))
        .collect();
    for r in &mut rows {
        if let Some((_, cpu)) = one.iter().find(|(rate, _)| *rate == r.rate) {
            r.cpu_vs_one_node = (*cpu > 0.0).then(|| r.cpu_ms_per_1k_median / cpu);
        }
    }
    rows
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{x:.decimals$}"))
}

fn dash(s: String) -> String {
    if s.is_empty() {
        "–".into()
    } else {
        s
    }
}

fn list(v: &[f64], decimals: usize) -> String {
    v.iter()
        .map(|x| format!("{x:.decimals$}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "–".into(), |r| format!("{r:.2}×"))
}

fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::super::latency::Recorder;
    use super::*;

    fn sample(cpu_s: f64, rss_kib: u64) -> Sample {
        Sample { cpu_s, rss_kib }
    }

    fn group(server: &str, round: usize, clients: usize, kib: f64, cpu_s: f64) -> Group {
        let latency = Latency {
            p50: 1.0 * round as f64,
            p90: 2.0,
            p99: 10.0 * round as f64,
            max: 50.0,
        };
        // 20 s at 100 msg/s into 10 000 members: 20 M deliveries.
        let b = Broadcast::new(
            100,
            10_000,
            20.0,
            2000,
            20_000_000,
            0,
            latency,
            (sample(10.0, 0), sample(10.0 + cpu_s, 0)),
            (sample(0.0, 0), sample(10.0, 0)),
        );
        Group {
            server: server.into(),
            round,
            clients,
            connected: clients,
            failed: 0,
            lost: 0,
            connect_s: 5.0,
            rss_base_kib: 1000,
            rss_kib: 1000 + (kib * clients as f64) as u64,
            kib_per_connection: kib,
            idle_cpu_pct: 1.0,
            idle_bench_cpu_pct: 1.0,
            broadcasts: vec![b],
            errors: BTreeMap::new(),
        }
    }

    #[test]
    fn a_broadcast_is_normalised_per_thousand_deliveries() {
        let g = group("momo", 1, 10_000, 4.0, 12.0);
        let b = &g.broadcasts[0];
        assert_eq!(b.received_pct, 100.0);
        assert_eq!(b.deliveries_per_s, 1_000_000.0);
        // 12 s of CPU over 20 000 thousands of deliveries.
        assert!((b.cpu_ms_per_1k - 0.6).abs() < 1e-9);
        assert!((b.server_cpu_pct - 60.0).abs() < 1e-9);
        assert!((b.bench_cpu_pct - 50.0).abs() < 1e-9);
    }

    #[test]
    fn medians_over_rounds_and_ratios_to_nats() {
        let groups = vec![
            group("momo", 1, 10_000, 4.0, 10.0),
            group("nats", 1, 10_000, 25.0, 24.0),
            group("momo", 2, 10_000, 6.0, 12.0),
            group("nats", 2, 10_000, 24.0, 20.0),
            group("momo", 3, 10_000, 5.0, 100.0),
            group("nats", 3, 10_000, 26.0, 28.0),
        ];
        let mem = memory_rows(&groups);
        assert_eq!(mem.len(), 2);
        assert_eq!(mem[0].server, "momo");
        assert_eq!(mem[0].kib_per_connection, vec![4.0, 6.0, 5.0]);
        assert_eq!(mem[0].median, 5.0);
        assert!((mem[0].vs_nats.unwrap() - 5.0 / 25.0).abs() < 1e-9);
        let b = broadcast_rows(&groups);
        assert_eq!(b[0].server, "momo");
        assert!((b[0].cpu_ms_per_1k_median - 0.6).abs() < 1e-9);
        assert!((b[1].cpu_ms_per_1k_median - 1.2).abs() < 1e-9);
        assert!((b[0].cpu_vs_nats.unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(b[0].p99_ms, 20.0);
        assert_eq!(b[0].sent_per_s, 100.0);
        assert_eq!(b[1].cpu_vs_nats, Some(1.0));
        assert!(nodes_rows(&groups).is_empty(), "no two-node run, no table");
    }

    #[test]
    fn two_nodes_are_set_beside_one() {
        let mut two = group("momo-2-nodes", 1, 10_000, 4.0, 18.0);
        let (near, far) = (Recorder::default(), Recorder::default());
        let nats = BTreeMap::from([("momo.room.7.push".to_string(), 2000)]);
        two.broadcasts[0].split = Some(Split::new(
            &near.close_tally(),
            &far.close_tally(),
            nats,
            2000,
        ));
        let groups = vec![group("momo", 1, 10_000, 4.0, 12.0), two];
        let rows = nodes_rows(&groups);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].server, "momo");
        assert_eq!(rows[0].other_p99_median, None);
        assert_eq!(rows[0].same_p99_ms, vec![10.0]);
        assert!((rows[1].cpu_vs_one_node.unwrap() - 1.5).abs() < 1e-9);
        assert_eq!(rows[1].nats_per_message_median, Some(1.0));
    }
}
