//! `momo-bench`: a closed-loop HTTP load generator for comparing endpoints of one
//! server, and the numbers in `docs/benchmarks.md`.
//!
//! It exists to answer "how much does this request cost next to that one, on this
//! machine?" rather than to find a server's absolute limit. Targets are measured in
//! interleaved rounds so machine noise falls on all of them alike, throughput is the
//! median over rounds, and latency percentiles are exact. The result is printed as JSON
//! and, with `--markdown FILE`, appended to FILE as a section that records the command,
//! the machine and the date next to the table.
//!
//! ```sh
//! # Any endpoints:
//! momo-bench http --target health=http://127.0.0.1:8080/healthz \
//!     --target login=POST:http://127.0.0.1:8080/api/v1/auth/login \
//!     --body-for login='{"username":"bench_user","password":"bench-password-1"}' \
//!     --baseline health --connections 64 --duration 10s --warmup 2s --rounds 3
//!
//! # momo's accounts API, set up and compared in one go:
//! momo-bench accounts --base http://127.0.0.1:8080 --markdown docs/benchmarks.md
//!
//! # Gifts per second at 1, 16 and 64 senders (an operator account is needed):
//! momo-bench gifts --base http://127.0.0.1:8080 --rtmp rtmp://127.0.0.1:1935/live \
//!     --file crates/media/tests/fixtures/sample.flv --admin boss:PASSWORD
//!
//! # What live viewers cost: publish a file, connect 250, then 1000 viewers per protocol:
//! momo-bench live --publish rtmp://127.0.0.1:1935/live/KEY --file stream.flv \
//!     --rtmp-play rtmp://127.0.0.1:1935/live/ROOM --flv-play http://127.0.0.1:8080/live/ROOM.flv \
//!     --players 250,1000 --duration 30s --server-pid PID --label momo
//!
//! # The recommended feed over 100,000 videos and 10,000 users, against /healthz:
//! momo migrate --data-dir /tmp/feedbench
//! momo-bench feed-seed --database-url sqlite:///tmp/feedbench/momo.db
//! momo serve --data-dir /tmp/feedbench &
//! momo-bench feed --base http://127.0.0.1:8080 --markdown docs/benchmarks.md
//!
//! # What chat clients cost momo's gateway and nats-server (both started by the bench):
//! momo-bench chat --momo target/release/momo --nats-server nats-server \
//!     --connections 10000,19000 --rates 20,100 --duration 20s --rounds 3
//!
//! # A viewer on an edge (a cluster node that pulls the stream from its origin)
//! # against one on the origin, and a cold edge's first picture (two nodes on the
//! # machine's PostgreSQL, NATS and Redis, started by the bench):
//! momo-bench edges --momo target/release/momo --file stream.flv --players 100,500 \
//!     --rounds 3 --duration 30s --cold 5 --markdown docs/benchmarks.md
//!
//! # WHEP viewers of an RTMP stream, momo against SRS 5's WebRTC build (both started by
//! # the bench), with glass-to-glass delays RTMP→WHEP and WHIP→WHEP:
//! momo-bench webrtc --momo target/release/momo --srs ../shared/anchors/srs/run-srs.sh \
//!     --file stream.flv --players 100,500,1000 --duration 30s --markdown docs/benchmarks.md
//!
//! # One room on one node against the same room split across two cluster nodes
//! # (on the machine's PostgreSQL, NATS and Redis):
//! momo-bench chat --servers momo,momo-2-nodes --connections 2000 --broadcast-at 2000 \
//!     --rates 20 --duration 10s --rounds 5
//! ```
//!
//! The load generator shares the machine with the server when both run locally; its
//! cost per request is kept small (see `load.rs`), but ratios between targets are the
//! numbers to trust more than absolute requests per second.

mod api;
mod args;
mod chat;
mod context;
mod edges;
mod feed;
mod gifts;
mod live;
mod load;
mod report;
mod rounds;
mod routes;
mod scenario;
mod stats;
mod target;
mod upload;
mod webrtc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};
use hyper::header::{HeaderName, HeaderValue};
use hyper::Method;

use crate::args::{TargetFlags, TargetSpec};
use crate::report::Report;
use crate::rounds::Plan;
use crate::target::Target;

/// Closed-loop HTTP load generator: compares endpoints in interleaved rounds and prints
/// JSON (optionally appending a Markdown section to a file).
#[derive(Debug, Parser)]
#[command(name = "momo-bench", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load any HTTP endpoints and compare them.
    ///
    /// Each --target is NAME=URL or NAME=METHOD:URL. Every round runs every target in
    /// turn: warmup, then the measured duration.
    Http(HttpArgs),
    /// Compare momo's accounts API (profile read, login) against /healthz.
    ///
    /// Registers bench_user (or signs in if it exists), then measures GET /healthz,
    /// GET /api/v1/users/{id} with the user's token, and POST /api/v1/auth/login.
    Accounts(AccountsArgs),
    /// What live viewers cost a media server: RTMP and HTTP-FLV viewers in steps.
    ///
    /// Publishes --file in real time to --publish (or relies on another publisher),
    /// connects --players viewers per step at --ramp per second, measures for
    /// --duration, and reports per viewer: the server's CPU ms per viewer-minute and
    /// KiB of RSS (with --server-pid), time to the first picture, frames dropped.
    Live(Box<live::LiveArgs>),
    /// Gift sends per second at 1, 16 and 64 concurrent senders (each its own wallet).
    ///
    /// Creates a one-coin gift and funds the senders with --admin's account, makes a
    /// room live by publishing --file to it, then sends gifts with fresh idempotency
    /// keys in interleaved rounds.
    Gifts(Box<gifts::GiftArgs>),
    /// What WebSocket chat clients cost: momo's gateway against nats-server.
    ///
    /// Starts the servers itself, fresh for every step (momo with `[chat] fanout`
    /// shared, momo with fanout naive, and a nats-server of its own with a WebSocket
    /// listener), so it needs no URLs or PIDs: --momo and --nats-server name the
    /// binaries, --port-base the four local ports they listen on. Per step it connects
    /// --connections clients (one task each, from 127.0.0.2, .3, … to get past the
    /// ephemeral-port limit, heartbeat every 30 s), reads the server's RSS per idle
    /// connection, and at --broadcast-at members broadcasts at each --rates into the
    /// one room: deliveries per second, server CPU per 1000 deliveries (from
    /// /proc/PID/stat) and end-to-end latency. Raises the open-files soft limit to the
    /// hard limit first. momo-naive runs the broadcast step only.
    Chat(Box<chat::ChatArgs>),
    /// What a viewer costs an edge against its origin, and a cold edge's first picture.
    ///
    /// Starts two momo nodes in cluster mode (--momo) on the machine's PostgreSQL,
    /// NATS and Redis, creates a room on the first (the origin) and publishes --file
    /// to it. Measures both nodes idle, then with one viewer on the second (the edge,
    /// which pulls the stream from the origin); --cold times the first picture of a
    /// viewer on the edge once its pull has ended, of a second one at once, and of one
    /// on the origin; then, per round and --players count, RTMP viewers on the origin,
    /// then on the edge: each node's CPU per viewer-minute, and the origin's extra CPU
    /// while the edge serves.
    Edges(Box<edges::EdgesArgs>),
    /// Seed momo's database for `feed`: users, follows, blocks, videos and hashtags.
    ///
    /// Writes straight into the database at --database-url (100,000 videos and 10,000
    /// users by default, every user's password `bench-password-1`), in a minute or so.
    FeedSeed(feed::SeedArgs),
    /// The recommended feed against /healthz, with signed-in viewers scrolling.
    ///
    /// Needs a server over a database seeded by `feed-seed`. Each connection signs in as
    /// its own seeded user and scrolls --pages pages per session, following next_cursor;
    /// repeats within a session are counted (and fail the run).
    Feed(Box<feed::FeedArgs>),
    /// Upload throughput of a large video file: momo's multipart and resumable uploads
    /// against a bare handler that only writes the body to a file.
    Upload(Box<upload::UploadArgs>),
    /// How a push to one user finds its node: per-user subjects, a Redis map, or every
    /// node hearing every push, on the machine's NATS and Redis.
    ///
    /// --nodes connections hold --users users each; per round and scheme, registers
    /// them, pushes --pushes messages at --rate to random users (latency, messages per
    /// push), then closes one node's socket as a kill -9 would and times how long the
    /// server takes to forget it. Also reports what one per-user subscription costs a
    /// node on momo's own bus.
    Routes(Box<routes::RoutesArgs>),
    /// WHEP viewers of an RTMP stream: momo against SRS 5 (WebRTC build), side by side.
    ///
    /// Starts momo (--momo) and SRS (--srs, its run-srs.sh), publishes --file over RTMP
    /// to each in turn with every picture stamped with the time it was sent, and per
    /// --players count connects str0m WHEP viewers (ICE, DTLS-SRTP, frames counted, not
    /// decoded): the server's CPU per viewer-minute and memory per viewer, frames per
    /// viewer-second, and the glass-to-glass delay the probe viewers read from the
    /// stamps. Then momo alone: a str0m WHIP publisher with stamps to probe viewers.
    Webrtc(Box<webrtc::WebRtcArgs>),
}

#[derive(Debug, Args)]
struct HttpArgs {
    /// A target: NAME=URL or NAME=METHOD:URL (repeatable; at least one).
    #[arg(long = "target", value_name = "NAME=[METHOD:]URL", value_parser = args::target_spec, required = true)]
    targets: Vec<TargetSpec>,
    /// Method for targets that do not name one.
    #[arg(long, default_value = "GET", value_parser = args::method)]
    method: Method,
    /// JSON body for targets without --body-for; sent with Content-Type: application/json.
    #[arg(long, value_name = "JSON", value_parser = args::json)]
    body: Option<String>,
    /// JSON body for one target (repeatable).
    #[arg(long = "body-for", value_name = "NAME=JSON", value_parser = args::body_for)]
    body_for: Vec<(String, String)>,
    /// A header sent to every target, as 'Name: value' (repeatable).
    #[arg(long = "header", value_name = "'K: V'", value_parser = args::header)]
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Report each target's throughput as a ratio to this target's.
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
    /// Heading of the Markdown section.
    #[arg(long, default_value = "HTTP load test")]
    title: String,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
struct AccountsArgs {
    /// Root URL of a running momo server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    /// Heading of the Markdown section (say what is special about the server run).
    #[arg(long, default_value = scenario::TITLE)]
    title: String,
    #[command(flatten)]
    run: RunArgs,
}

/// How hard, how long and where to write: shared by every command.
#[derive(Debug, Args)]
struct RunArgs {
    /// Concurrent keep-alive connections, each with one request in flight (1–4096).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    connections: u16,
    /// Measured time per target per round (10s, 500ms, 2m).
    #[arg(long, default_value = "10s", value_parser = args::duration)]
    duration: Duration,
    /// Unmeasured time before each measured duration, on the same connections.
    #[arg(long, default_value = "2s", value_parser = args::duration)]
    warmup: Duration,
    /// Rounds; each runs every target once. Throughput is the median over rounds.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=1000))]
    rounds: u16,
    /// Also append a Markdown section with the results to this file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

impl RunArgs {
    fn plan(&self) -> Result<Plan> {
        if self.duration.is_zero() {
            bail!("--duration must be more than zero");
        }
        Ok(Plan {
            connections: usize::from(self.connections),
            warmup: self.warmup,
            duration: self.duration,
            rounds: usize::from(self.rounds),
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // The live viewers share the machine with the server they measure: keep them to
    // the threads asked for.
    if let Command::Live(a) = &cli.command {
        builder.worker_threads(usize::from(a.threads));
    }
    // So are the chat clients.
    if let Command::Chat(a) = &cli.command {
        builder.worker_threads(usize::from(a.threads));
    }
    // And the edges' viewers.
    if let Command::Edges(a) = &cli.command {
        builder.worker_threads(usize::from(a.threads));
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("momo-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("momo-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Http(a) => {
            let plan = a.run.plan()?;
            let targets = TargetFlags {
                targets: a.targets,
                method: Some(a.method),
                body: a.body,
                body_for: a.body_for,
                headers: a.headers,
            }
            .build()?;
            if let Some(b) = &a.baseline {
                if !targets.iter().any(|t| &t.name == b) {
                    bail!("--baseline {b} names no target");
                }
            }
            measure(targets, plan, &a.title, a.baseline.as_deref(), &a.run).await
        }
        Command::Accounts(a) => {
            let plan = a.run.plan()?;
            let targets = scenario::accounts_targets(&a.base).await?;
            let total = (plan.warmup + plan.duration) * (plan.rounds * targets.len()) as u32;
            if total > Duration::from_secs(14 * 60) {
                eprintln!(
                    "momo-bench: warning: the run takes {}s; momo's access tokens last \
                     15 minutes by default, so profile reads may start failing with 401",
                    total.as_secs()
                );
            }
            measure(targets, plan, &a.title, Some(scenario::BASELINE), &a.run).await
        }
        Command::Live(a) => live::run(*a).await,
        Command::Gifts(a) => gifts::run(*a).await,
        Command::Chat(a) => chat::run(*a).await,
        Command::Edges(a) => edges::run(*a).await,
        Command::FeedSeed(a) => feed::seed(a).await,
        Command::Feed(a) => feed::run(*a).await,
        Command::Upload(a) => upload::run(*a).await,
        Command::Routes(a) => routes::run(*a).await,
        Command::Webrtc(a) => webrtc::run(*a).await,
    }
}

/// Runs the rounds, prints the JSON and appends the Markdown if asked.
async fn measure(
    targets: Vec<Target>,
    plan: Plan,
    title: &str,
    baseline: Option<&str>,
    run: &RunArgs,
) -> Result<()> {
    let measured = rounds::run(targets, plan).await?;
    let report = Report::new(title, plan, baseline, measured)?;
    println!("{}", report.to_json()?);
    if let Some(path) = &run.markdown {
        report.append_markdown(path)?;
        eprintln!("momo-bench: appended the results to {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(line.split_whitespace())
    }

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn http_defaults() {
        let cli = parse("momo-bench http --target a=http://127.0.0.1:1/").unwrap();
        let Command::Http(a) = cli.command else {
            panic!("expected http");
        };
        assert_eq!(a.method, Method::GET);
        assert_eq!(a.run.connections, 64);
        assert_eq!(a.run.duration, Duration::from_secs(10));
        assert_eq!(a.run.warmup, Duration::from_secs(2));
        assert_eq!(a.run.rounds, 3);
        assert!(a.run.markdown.is_none());
    }

    #[test]
    fn http_with_everything() {
        let cli = Cli::try_parse_from([
            "momo-bench",
            "http",
            "--target",
            "h=http://127.0.0.1:1/healthz",
            "--target",
            "l=POST:http://127.0.0.1:1/login",
            "--body-for",
            r#"l={"u":1}"#,
            "--header",
            "X-A: b",
            "--connections",
            "8",
            "--duration",
            "500ms",
            "--warmup",
            "0s",
            "--rounds",
            "1",
            "--baseline",
            "h",
            "--markdown",
            "/tmp/x.md",
            "--title",
            "T",
        ])
        .unwrap();
        let Command::Http(a) = cli.command else {
            panic!("expected http");
        };
        assert_eq!(a.targets.len(), 2);
        assert_eq!(a.targets[1].method, Some(Method::POST));
        assert_eq!(
            a.body_for,
            vec![("l".to_string(), r#"{"u":1}"#.to_string())]
        );
        assert_eq!(a.run.duration, Duration::from_millis(500));
        assert_eq!(a.run.plan().unwrap().connections, 8);
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(parse("momo-bench http").is_err());
        assert!(parse("momo-bench http --target nourl").is_err());
        assert!(parse("momo-bench http --target a=http://h/ --connections 0").is_err());
        assert!(parse("momo-bench http --target a=http://h/ --connections 5000").is_err());
        assert!(parse("momo-bench http --target a=http://h/ --rounds 0").is_err());
        assert!(parse("momo-bench http --target a=http://h/ --duration 10x").is_err());
        assert!(parse("momo-bench http --target a=http://h/ --body {x").is_err());
        let zero = parse("momo-bench http --target a=http://h/ --duration 0s").unwrap();
        let Command::Http(a) = zero.command else {
            panic!("expected http");
        };
        assert!(a.run.plan().is_err());
    }

    #[test]
    fn live_needs_a_play_url_and_takes_a_list_of_counts() {
        assert!(parse("momo-bench live --players 10").is_err());
        assert!(parse("momo-bench live --rtmp-play http://h/live/x").is_err());
        assert!(
            parse("momo-bench live --rtmp-play rtmp://h/live/x --publish rtmp://h/live/k").is_err()
        );
        let cli = parse(
            "momo-bench live --rtmp-play rtmp://h/live/x --flv-play http://h/live/x.flv \
             --players 250,1000,2000 --duration 30s --server-pid 1",
        )
        .unwrap();
        let Command::Live(a) = cli.command else {
            panic!("expected live");
        };
        assert_eq!(a.threads, 1);
        let dbg = format!("{a:?}");
        assert!(dbg.contains("players: [250, 1000, 2000]"), "{dbg}");
    }

    #[test]
    fn chat_defaults_measure_10k_and_19k_against_nats() {
        let cli = parse("momo-bench chat").unwrap();
        let Command::Chat(a) = cli.command else {
            panic!("expected chat");
        };
        assert_eq!(a.connections, [10_000, 19_000]);
        assert_eq!(a.broadcast_at, 10_000);
        assert_eq!(a.rates, [20, 100]);
        assert_eq!(
            a.servers,
            [
                chat::Server::Momo,
                chat::Server::MomoNaive,
                chat::Server::Nats
            ]
        );
        assert_eq!(a.heartbeat, Duration::from_secs(30));
        assert_eq!(a.duration, Duration::from_secs(20));
        assert_eq!(a.threads, 1);
    }

    #[test]
    fn chat_takes_lists_and_refuses_nonsense() {
        let cli = parse(
            "momo-bench chat --servers nats,momo --connections 500,1000 --broadcast-at 500 \
             --rates 5 --duration 2s --rounds 1 --per-address 100",
        )
        .unwrap();
        let Command::Chat(a) = cli.command else {
            panic!("expected chat");
        };
        assert_eq!(a.servers, [chat::Server::Nats, chat::Server::Momo]);
        assert_eq!(a.connections, [500, 1000]);
        assert_eq!(a.per_address, 100);
        assert!(parse("momo-bench chat --servers redis").is_err());
        assert!(parse("momo-bench chat --connections 0").is_err());
        assert!(parse("momo-bench chat --connections 70000").is_err());
        assert!(parse("momo-bench chat --rates 0").is_err());
        assert!(parse("momo-bench chat --per-address 30000").is_err());
    }

    #[test]
    fn webrtc_defaults_measure_100_500_and_1000_viewers_against_srs() {
        let cli = parse("momo-bench webrtc").unwrap();
        let Command::Webrtc(a) = cli.command else {
            panic!("expected webrtc");
        };
        let dbg = format!("{a:?}");
        for want in [
            "players: [100, 500, 1000]",
            "duration: 30s",
            "srs: \"../shared/anchors/srs/run-srs.sh\"",
            "probes: 5",
        ] {
            assert!(dbg.contains(want), "{want} not in {dbg}");
        }
        assert!(parse("momo-bench webrtc --players 0").is_err());
    }

    #[test]
    fn edges_defaults_measure_100_and_500_viewers_in_three_rounds() {
        let cli = parse("momo-bench edges").unwrap();
        let Command::Edges(a) = cli.command else {
            panic!("expected edges");
        };
        let dbg = format!("{a:?}");
        for want in [
            "players: [100, 500]",
            "rounds: 3",
            "cold: 5",
            "duration: 30s",
            "cluster_nats: \"nats://127.0.0.1:4222\"",
        ] {
            assert!(dbg.contains(want), "{want} not in {dbg}");
        }
        assert_eq!(a.threads, 1);
        assert!(parse("momo-bench edges --players 0").is_err());
        assert!(parse("momo-bench edges --cold 0").is_err());
    }

    #[test]
    fn accounts_defaults() {
        let cli = parse("momo-bench accounts --base http://127.0.0.1:18090 --rounds 1").unwrap();
        let Command::Accounts(a) = cli.command else {
            panic!("expected accounts");
        };
        assert_eq!(a.base, "http://127.0.0.1:18090");
        assert_eq!(a.run.rounds, 1);
    }
}
