//! How long a viewer waits for its first picture, one viewer at a time, and whether an
//! edge is pulling a stream at all.
//!
//! A [`Viewer`] is the `live` bench's RTMP viewer ([`rtmp_player`]) kept apart from any
//! step: it times its own first picture (from the start of its TCP connect to the
//! first keyframe) and plays until dropped, so that the next viewer can find a pull
//! already running. Whether a node pulls, and how many pulls it started, is read from
//! its `/metrics` ([`metric`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hyper::Method;
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};

use crate::live::endpoint::RtmpUrl;
use crate::live::player::{Phase, PlayerStats};
use crate::live::rtmp_player;
use crate::load;
use crate::target::Target;

/// How often a waiting viewer's counters, or a node's gauge, are looked at. The
/// times themselves are taken by the viewer when the frame arrives, not by this poll.
const POLL: Duration = Duration::from_millis(2);
const GAUGE_POLL: Duration = Duration::from_millis(100);
/// The gauge of the streams a node pulls from other nodes now.
const PULLS: &str = "media_pulls";
/// The counter of the pulls a node has started.
pub const PULLS_STARTED: &str = "media_pulls_started_total";

/// One RTMP viewer, playing until dropped.
pub struct Viewer {
    stats: Arc<PlayerStats>,
    task: JoinHandle<()>,
}

impl Viewer {
    /// Starts playing `url`.
    pub fn start(url: &RtmpUrl) -> Self {
        let stats = Arc::new(PlayerStats::default());
        let task = tokio::spawn(rtmp_player::play(Arc::new(url.clone()), stats.clone()));
        Viewer { stats, task }
    }

    /// Waits for the viewer's first picture, for up to `limit`: the time from the
    /// start of its connect to its first keyframe, in milliseconds.
    pub async fn first_picture(&self, limit: Duration) -> Result<f64> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(d) = self.stats.first_key() {
                if self.stats.bad_start() {
                    bail!("the first video frame was not a keyframe");
                }
                return Ok(d.as_secs_f64() * 1000.0);
            }
            match self.stats.phase() {
                Phase::Failed => bail!("{}", self.stats.error().unwrap_or_else(|| "failed".into())),
                Phase::Ended => bail!("the stream ended before a picture"),
                Phase::Connecting | Phase::Playing => {}
            }
            if Instant::now() >= deadline {
                bail!("no picture within {limit:?}");
            }
            sleep(POLL).await;
        }
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        // Dropping the task's future closes its socket: the viewer leaves.
        self.task.abort();
    }
}

/// The unlabelled metric `name` of the node at `http` (from its `/metrics`); one the
/// node never touched reads 0, as Prometheus would have it.
pub async fn metric(http: SocketAddr, name: &str) -> Result<f64> {
    let t = Target::new("metrics", Method::GET, &format!("http://{http}/metrics"))?;
    let (status, body) = load::fetch(&t, Duration::from_secs(5)).await?;
    if !status.is_success() {
        bail!("GET http://{http}/metrics answered {status}");
    }
    let text = std::str::from_utf8(&body).context("/metrics is not UTF-8")?;
    Ok(gauge(text, name).unwrap_or(0.0))
}

/// Waits until the node at `http` pulls nothing, for up to `limit`; returns how long
/// that took.
pub async fn until_no_pull(http: SocketAddr, limit: Duration) -> Result<Duration> {
    let start = Instant::now();
    loop {
        if metric(http, PULLS).await? == 0.0 {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= limit {
            bail!("the edge at {http} still pulls a stream {limit:?} after its last viewer left");
        }
        sleep(GAUGE_POLL).await;
    }
}

/// The value of the unlabelled metric `name` in a Prometheus text exposition.
fn gauge(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        (parts.next()? == name).then_some(())?;
        parts.next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_unlabelled_gauge() {
        let text = "# TYPE media_pulls gauge\nmedia_pulls 2\n\
                    # TYPE media_pulls_started_total counter\nmedia_pulls_started_total 7\n";
        assert_eq!(gauge(text, "media_pulls"), Some(2.0));
        assert_eq!(gauge(text, "media_pulls_started_total"), Some(7.0));
        assert_eq!(gauge("media_pulls_started_total 7\n", "media_pulls"), None);
        assert_eq!(gauge("", "media_pulls"), None);
    }
}
