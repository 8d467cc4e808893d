//! `gifts`: how many gifts per second momo takes, at 1, 16 and 64 concurrent senders.
//!
//! Every sender is its own user with its own wallet and its own keep-alive connection,
//! sending one gift at a time with a fresh idempotency key (so every request is a real
//! debit and credit, never a replayed answer) to one live room. The room is made live by
//! publishing a file to its stream key over RTMP, as an anchor would. Levels are
//! interleaved in rounds like the other scenarios.
//!
//! Needs an operator account (create one with `momo admin create`), to put a gift in
//! the catalogue and coins in the senders' wallets.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use hyper::header::{HeaderValue, AUTHORIZATION};
use hyper::{Method, StatusCode};
use serde_json::json;

use crate::api::Api;
use crate::live::endpoint::RtmpUrl;
use crate::live::publisher::{Looped, Publisher};
use crate::load::{self, Tally};
use crate::report::Report;
use crate::rounds::{Measured, Plan};
use crate::target::Target;

const PASSWORD: &str = "bench-password-1";
/// Coins given to each sender: more than any run spends.
const FUNDS: i64 = 10_000_000;

#[derive(Debug, Args)]
pub struct GiftArgs {
    /// Root URL of a running momo server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub base: String,
    /// The server's RTMP application URL, e.g. rtmp://127.0.0.1:1935/live.
    #[arg(long, default_value = "rtmp://127.0.0.1:1935/live")]
    pub rtmp: String,
    /// An FLV file to publish in a loop, so the room is live.
    #[arg(long)]
    pub file: PathBuf,
    /// An operator: USERNAME:PASSWORD.
    #[arg(long)]
    pub admin: String,
    /// Concurrent senders per level, comma-separated.
    #[arg(long, default_value = "1,16,64", value_delimiter = ',')]
    pub senders: Vec<usize>,
    /// Heading of the Markdown section (say which database the server runs on).
    #[arg(long, default_value = "Gifts: sends per second by concurrent senders")]
    pub title: String,
    /// Measured time per level per round.
    #[arg(long, default_value = "10s", value_parser = crate::args::duration)]
    pub duration: Duration,
    /// Unmeasured time before each measured duration.
    #[arg(long, default_value = "2s", value_parser = crate::args::duration)]
    pub warmup: Duration,
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Also append a Markdown section with the results to this file.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

pub async fn run(a: GiftArgs) -> Result<()> {
    if a.senders.is_empty() || a.senders.iter().any(|&n| n == 0 || n > 4096) {
        bail!("--senders takes counts from 1 to 4096");
    }
    if a.rounds == 0 || a.duration.is_zero() {
        bail!("--rounds and --duration must be more than zero");
    }
    let api = Api {
        base: a.base.trim_end_matches('/').to_string(),
    };
    let (admin_name, admin_password) = a
        .admin
        .split_once(':')
        .context("--admin must be USERNAME:PASSWORD")?;
    let (_, admin) = api
        .user(admin_name, admin_password)
        .await
        .context("--admin")?;

    // A gift of one coin, so that the wallets never run dry.
    let (status, gift) = api
        .call(
            Method::POST,
            "/api/v1/admin/gifts",
            Some(&admin),
            Some(json!({"name": "Bench heart", "price_coins": 1})),
        )
        .await?;
    if status != StatusCode::CREATED {
        bail!("creating the gift answered {status}: {gift} (is --admin an operator?)");
    }
    let gift_id = gift["id"].as_i64().context("no gift id")?;

    // The anchor's room, made live by publishing the file to its key.
    let (_, anchor) = api.user("bench_gift_anchor", PASSWORD).await?;
    let (room_id, key) = api.create_room(&anchor).await?;
    let (looped, _) = Looped::read(&a.file)?;
    let url = RtmpUrl::parse(&format!("{}/{key}", a.rtmp.trim_end_matches('/')))?;
    let publisher = Publisher::start(url, looped, Duration::from_secs(10)).await?;
    api.wait_live(room_id).await?;

    // The senders, each funded once per run.
    let most = a.senders.iter().copied().max().unwrap_or(1);
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut targets = Vec::with_capacity(most);
    for i in 0..most {
        let (id, token) = api.user(&format!("bench_sender_{i}"), PASSWORD).await?;
        let (status, body) = api
            .call(
                Method::POST,
                "/api/v1/admin/wallet/adjustments",
                Some(&admin),
                Some(json!({"user_id": id, "asset": "coin", "amount": FUNDS, "reason": "benchmark funds",
                            "idempotency_key": format!("bench-{run_id}-{i}")})),
            )
            .await?;
        if !status.is_success() {
            bail!("funding sender {i} answered {status}: {body}");
        }
        let template =
            format!(r#"{{"gift_id":{gift_id},"count":1,"idempotency_key":"b{run_id}-{{n}}"}}"#);
        let t = Target::new(
            &format!("senders_{i}"),
            Method::POST,
            &format!("{}/api/v1/rooms/{room_id}/gifts", api.base),
        )?
        .header(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}"))?,
        )
        .numbered_json_body(&template, 0)?;
        targets.push(Arc::new(t));
    }

    let mut measured: Vec<Measured> = Vec::new();
    for &n in &a.senders {
        let t = Target::new(
            &format!("{n} sender{}", if n == 1 { "" } else { "s" }),
            Method::POST,
            &format!("{}/api/v1/rooms/{room_id}/gifts", api.base),
        )?;
        measured.push(Measured {
            target: t,
            rounds: Vec::new(),
        });
    }
    for round in 1..=a.rounds {
        for (m, &n) in measured.iter_mut().zip(&a.senders) {
            publisher.check()?;
            let tally: Tally =
                load::run_phase_each(targets[..n].to_vec(), a.warmup, a.duration).await?;
            eprintln!(
                "round {round}/{}  {:>4} senders  {:>9.1} gifts/s  non-2xx {}  errors {}",
                a.rounds,
                n,
                tally.requests as f64 / a.duration.as_secs_f64(),
                tally.non_2xx,
                tally.errors
            );
            m.rounds.push(tally);
        }
    }
    publisher.stop()?;
    let plan = Plan {
        connections: most,
        warmup: a.warmup,
        duration: a.duration,
        rounds: a.rounds,
    };
    let mut report = Report::new(&a.title, plan, None, measured)?;
    report.load_note = Some(format!(
        "closed loop, one keep-alive HTTP/1.1 connection per sender (each its own user and wallet), \
         senders {:?}; per level and round {} s warmup then {} s measured; {} rounds, levels interleaved; \
         every request a new gift (fresh idempotency key) to one live room",
        a.senders,
        a.warmup.as_secs_f64(),
        a.duration.as_secs_f64(),
        a.rounds
    ));
    println!("{}", report.to_json()?);
    if let Some(path) = &a.markdown {
        report.append_markdown(path)?;
        eprintln!("momo-bench: appended the results to {}", path.display());
    }
    Ok(())
}
