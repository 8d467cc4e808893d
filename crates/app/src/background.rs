//! The work momo does on its own: jobs from the durable queue and schedules, run by a
//! [`jobs::Worker`] on every node (the queue makes sure each runs once).
//!
//! | job | when | what |
//! |---|---|---|
//! | `wallet.close_order` | `order_ttl_secs` after an order is made | close it if still unpaid |
//! | `wallet.credit_order` | when a payment is recorded | credit it, if the request did not |
//! | `wallet.sweep` | every minute | close expired orders, credit paid ones (belt and braces) |
//! | `live.sweep` | every 30 s | close rooms whose stream vanished |
//! | `rankings.prune` | every hour | drop daily and weekly rankings past their keeping |
//! | `videos.sweep_uploads` | every 10 minutes | remove resumable uploads left unfinished |
//! | `videos.purge` | when a video is deleted | remove its files from storage |
//! | `videos.process` | when a video is uploaded or a live session recorded | probe, cover, playable MP4 |
//! | `web.prune_sessions` | every hour | drop web sessions a day after they expired or ended |
//! | `notices.deliver` | when a context asks for a notice | store it in the inbox, once, and push it |

use std::time::Duration;

use jobs::{JobContext, JobError, Worker, WorkerConfig};
use serde::Deserialize;

use crate::videos::resumable::SWEEP as SWEEP_UPLOADS;
use crate::wallet::recharge::{self, CLOSE_ORDER, CREDIT_ORDER};
use crate::AppState;

#[derive(Deserialize)]
struct OrderJob {
    order_no: String,
}

fn failed(e: crate::error::Error) -> JobError {
    JobError::new(e.to_string())
}

/// The worker with every handler and schedule of momo.
pub fn worker(state: &AppState) -> Worker {
    let s1 = state.clone();
    let s2 = state.clone();
    let s3 = state.clone();
    let s4 = state.clone();
    let s5 = state.clone();
    let s6 = state.clone();
    let s7 = state.clone();
    let s8 = state.clone();
    let s9 = state.clone();
    let s10 = state.clone();
    Worker::new(state.jobs().clone(), WorkerConfig::default())
        .handle(CLOSE_ORDER, move |job: JobContext| {
            let state = s1.clone();
            async move {
                let order: OrderJob = job.payload_as()?;
                recharge::close_order(state.live(), &order.order_no)
                    .await
                    .map_err(failed)?;
                Ok::<(), JobError>(())
            }
        })
        .handle(crate::videos::process::PROCESS, move |job: JobContext| {
            let state = s6.clone();
            async move { crate::videos::process::run_job(state.videos(), &job).await }
        })
        .handle(crate::videos::purge::PURGE, move |job: JobContext| {
            let state = s8.clone();
            async move { crate::videos::purge::run_job(state.videos(), &job).await }
        })
        .handle(SWEEP_UPLOADS, move |_job: JobContext| {
            let state = s7.clone();
            async move {
                crate::videos::resumable::sweep(state.videos())
                    .await
                    .map_err(failed)?;
                Ok::<(), JobError>(())
            }
        })
        .handle(CREDIT_ORDER, move |job: JobContext| {
            let state = s2.clone();
            async move {
                let order: OrderJob = job.payload_as()?;
                recharge::credit(state.live(), &order.order_no)
                    .await
                    .map_err(failed)?;
                Ok::<(), JobError>(())
            }
        })
        .handle("wallet.sweep", move |_job: JobContext| {
            let state = s3.clone();
            async move {
                recharge::close_expired_orders(state.live())
                    .await
                    .map_err(failed)?;
                recharge::credit_paid_orders(state.live())
                    .await
                    .map_err(failed)?;
                Ok::<(), JobError>(())
            }
        })
        .handle("live.sweep", move |_job: JobContext| {
            let state = s4.clone();
            async move {
                crate::live::upkeep::sweep_vanished(state.live())
                    .await
                    .map_err(failed)?;
                Ok::<(), JobError>(())
            }
        })
        .handle("rankings.prune", move |_job: JobContext| {
            let state = s5.clone();
            async move {
                crate::gifts::rankings::prune(state.live(), kit::time::now_ms())
                    .await
                    .map_err(failed)?;
                Ok::<(), JobError>(())
            }
        })
        .handle("web.prune_sessions", move |_job: JobContext| {
            let state = s9.clone();
            async move {
                crate::web::session::prune(state.identity(), kit::time::now_ms())
                    .await
                    .map_err(failed)?;
                Ok::<(), JobError>(())
            }
        })
        .handle(api::notices::DELIVER, move |job: JobContext| {
            let state = s10.clone();
            async move { identity::notifications::deliver::run_job(state.identity(), &job).await }
        })
        .every(
            "web.prune_sessions",
            Duration::from_secs(3600),
            "web.prune_sessions",
            serde_json::Value::Null,
        )
        .every(
            "wallet.sweep",
            Duration::from_secs(60),
            "wallet.sweep",
            serde_json::Value::Null,
        )
        .every(
            "live.sweep",
            Duration::from_secs(30),
            "live.sweep",
            serde_json::Value::Null,
        )
        .every(
            "rankings.prune",
            Duration::from_secs(3600),
            "rankings.prune",
            serde_json::Value::Null,
        )
        .every(
            SWEEP_UPLOADS,
            Duration::from_secs(600),
            SWEEP_UPLOADS,
            serde_json::Value::Null,
        )
}
