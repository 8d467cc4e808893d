//! Interleaved rounds: every target once per round, in turn, so that whatever else the
//! machine is doing (another build, thermal throttling, a noisy neighbour) falls on all
//! targets alike instead of on whichever happened to run during it.

use std::time::Duration;

use anyhow::Result;

use crate::load::{self, Tally};
use crate::target::Target;

/// How hard and how long to push. The connection count is capped by the CLI.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub connections: usize,
    /// Per target per round, before measuring: connections open, caches fill, the
    /// allocator settles.
    pub warmup: Duration,
    /// Per target per round, measured.
    pub duration: Duration,
    pub rounds: usize,
}

/// A target and one tally per round, in round order.
#[derive(Debug)]
pub struct Measured {
    pub target: Target,
    pub rounds: Vec<Tally>,
}

/// Runs the plan and returns the targets' measurements in the order given. Progress
/// goes to stderr, one line per phase, so stdout stays clean JSON.
pub async fn run(targets: Vec<Target>, plan: Plan) -> Result<Vec<Measured>> {
    let mut measured: Vec<Measured> = targets
        .into_iter()
        .map(|target| Measured {
            target,
            rounds: Vec::with_capacity(plan.rounds),
        })
        .collect();
    let width = measured
        .iter()
        .map(|m| m.target.name.len())
        .max()
        .unwrap_or(0);
    for round in 1..=plan.rounds {
        for m in &mut measured {
            let tally =
                load::run_phase(&m.target, plan.connections, plan.warmup, plan.duration).await?;
            eprintln!(
                "round {round}/{}  {:width$}  {:>10.1} req/s  non-2xx {}  errors {}",
                plan.rounds,
                m.target.name,
                tally.requests as f64 / plan.duration.as_secs_f64(),
                tally.non_2xx,
                tally.errors,
            );
            m.rounds.push(tally);
        }
    }
    Ok(measured)
}
