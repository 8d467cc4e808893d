//! Edges: a stream published to another node of the cluster, played from this one.
//!
//! When a viewer asks for a stream that is not live here, the hub asks [`Origins`]
//! where it is published. If another node is its origin, this node plays it from there
//! over RTMP, once, and publishes what it receives into its own hub as a relay
//! ([`Hub::relay`]): every viewer here is served from that one pull, with the same GOP
//! cache as on the origin, so the first picture comes at once for all but the first.
//!
//! A pull follows its stream: when the origin stops sending (its stream was cut
//! because the encoder moved to another node, or the origin died), the pull asks
//! [`Origins`] again and plays from wherever the stream is now, within the hub's grace
//! period; the viewers here stay attached meanwhile and see one discontinuity. It stops
//! when the stream is offline everywhere, when an encoder starts publishing the key to
//! this node (which becomes the origin), when an operator cuts it, or when it has had
//! no viewer for [`PullConfig::idle`].
//!
//! HLS is not segmented again here: an edge serves the origin's playlist and segments
//! (keeping recent segments in memory), so that a player behind a load balancer sees
//! the same segment names from every node.
//!
//! Cost: one RTMP connection per pulled stream and node, the frames' copy into this
//! node's hub, and from there the same per-viewer cost as for a local publisher.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{Hub, Protocol, Subscription};
use crate::client::rtmp::RtmpPlayer;
use crate::frame::Frame;

/// Where a stream published to another node can be played from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The origin node's name, for logs.
    pub node: String,
    /// Its RTMP address (`host:port`).
    pub rtmp: String,
    /// Its HTTP base URL (`http://host:port`), for HLS.
    pub http: String,
    /// What to play there in application `live`: the stream key, followed by a signed
    /// query (`?expires=…&sign=…`) when play URLs are signed.
    pub name: String,
}

/// A boxed future, so that the trait can be used as `dyn Origins`.
pub type LocateFuture<'a> = Pin<Box<dyn Future<Output = Option<Upstream>> + Send + 'a>>;

/// Knows which node each stream is published to. The app answers, from its database.
pub trait Origins: Send + Sync + 'static {
    /// Where stream `key` is published when that is another node that is up; `None`
    /// when it is not live anywhere else.
    fn locate(&self, key: &str) -> LocateFuture<'_>;
}

/// Tunables of pulls.
#[derive(Debug, Clone)]
pub struct PullConfig {
    /// How long a viewer waits for the first pull of its stream to start.
    pub connect_timeout: Duration,
    /// How long a pull lasts without viewers.
    pub idle: Duration,
    /// Rest between attempts to find the stream again after its origin stopped.
    pub retry: Duration,
}

impl Default for PullConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            idle: Duration::from_secs(10),
            retry: Duration::from_millis(500),
        }
    }
}

/// Most streams pulled at once, and so most pull tasks: a bound on what viewers asking
/// for streams can make this node hold.
const MAX_PULLS: usize = 10_000;
/// Most HLS segments kept from origins.
const SEGMENTS_KEPT: usize = 64;
/// Frames received from the origin and not yet in the hub.
const FRAME_QUEUE: usize = 256;

/// What a pull adds to the query of the name it plays, so that the origin counts it
/// as a pull ([`Protocol::Relay`]) rather than a viewer.
pub const RELAY_MARK: &str = "relay=1";

/// How a pull is going, for the viewers waiting on its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PullState {
    Starting,
    Playing,
    Over,
}

/// The hub's edge: who to ask, the pulls running, the origins' HLS segments.
pub(super) struct Edge {
    origins: Arc<dyn Origins>,
    config: PullConfig,
    pulls: Mutex<HashMap<String, watch::Receiver<PullState>>>,
    segments: Mutex<VecDeque<(String, Bytes)>>,
    http: reqwest::Client,
}

impl Edge {
    pub(super) fn new(origins: Arc<dyn Origins>, config: PullConfig) -> Edge {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.connect_timeout * 2)
            .build()
            .unwrap_or_default();
        Edge {
            origins,
            config,
            pulls: Mutex::new(HashMap::new()),
            segments: Mutex::new(VecDeque::new()),
            http,
        }
    }

    fn pulls(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Receiver<PullState>>> {
        self.pulls.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn segments(&self) -> std::sync::MutexGuard<'_, VecDeque<(String, Bytes)>> {
        self.segments.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Hub {
    /// Makes this hub an edge: streams not live here are looked for with `origins` and
    /// pulled from their origin node.
    pub fn set_origins(&self, origins: Arc<dyn Origins>, config: PullConfig) {
        let _ = self.edge.set(Edge::new(origins, config));
    }

    /// Where stream `key` is published, when that is another node.
    pub async fn locate(&self, key: &str) -> Option<Upstream> {
        self.edge.get()?.origins.locate(key).await
    }

    /// Joins stream `key` as a viewer: here if it is live here, else from its origin
    /// on another node, pulled on this first viewer's request (later viewers share the
    /// pull). `None` when it is not live anywhere, or its origin cannot be reached.
    pub async fn subscribe_or_pull(
        self: &Arc<Self>,
        key: &str,
        protocol: Protocol,
        addr: Option<std::net::IpAddr>,
    ) -> Option<Subscription> {
        if let Some(sub) = self.subscribe_from(key, protocol, addr) {
            return Some(sub);
        }
        let edge = self.edge.get()?;
        let mut state = self.start_pull(key)?;
        let wait = edge.config.connect_timeout * 2;
        let _ = tokio::time::timeout(wait, state.wait_for(|s| *s != PullState::Starting)).await;
        self.subscribe_from(key, protocol, addr)
    }

    /// The pull of `key`, started if none runs.
    fn start_pull(self: &Arc<Self>, key: &str) -> Option<watch::Receiver<PullState>> {
        let edge = self.edge.get()?;
        let mut pulls = edge.pulls();
        if let Some(state) = pulls.get(key) {
            return Some(state.clone());
        }
        if pulls.len() >= MAX_PULLS {
            tracing::warn!(
                key,
                "too many streams pulled from other nodes; not this one"
            );
            return None;
        }
        let (tx, rx) = watch::channel(PullState::Starting);
        pulls.insert(key.to_owned(), rx.clone());
        let hub = self.clone();
        let key = key.to_owned();
        tokio::spawn(async move {
            hub.pull(&key, &tx).await;
            tx.send_replace(PullState::Over);
            if let Some(edge) = hub.edge.get() {
                edge.pulls().remove(&key);
            }
        });
        Some(rx)
    }

    /// Pulls `key` from wherever it is published until it is over here.
    async fn pull(self: &Arc<Self>, key: &str, state: &watch::Sender<PullState>) {
        let Some(edge) = self.edge.get() else { return };
        let mut pulled = false;
        let mut last_frame = Instant::now();
        let mut misses = 0;
        loop {
            let outcome = match self.locate(key).await {
                Some(up) => self.pull_from(edge, key, &up, state).await,
                None => Err("not live on another node".to_owned()),
            };
            match outcome {
                Ok(Pulled::Lost) => {
                    pulled = true;
                    misses = 0;
                    last_frame = Instant::now();
                }
                Ok(Pulled::GaveWay) => {
                    tracing::info!(
                        key,
                        "stopped pulling the stream: an encoder publishes it here"
                    );
                    return;
                }
                Ok(Pulled::Over(why)) => {
                    tracing::info!(key, why, "stopped pulling the stream");
                    self.end_relay(key);
                    return;
                }
                Err(e) if !pulled => {
                    tracing::info!(key, "cannot pull the stream: {e}");
                    return;
                }
                Err(e) => {
                    misses += 1;
                    tracing::debug!(key, misses, "the stream's origin is not back yet: {e}");
                }
            }
            // Found nowhere twice running, or nowhere for the whole grace period:
            // the stream is over (its origin ended it, or died and no encoder came
            // back in time).
            if misses >= 2 || last_frame.elapsed() >= self.config.grace {
                tracing::info!(key, "the pulled stream is over");
                self.end_relay(key);
                return;
            }
            if self.stream(key).is_some_and(|s| s.viewer_count() == 0) && misses > 0 {
                self.end_relay(key);
                return;
            }
            tokio::time::sleep(edge.config.retry).await;
        }
    }

    /// Plays `key` from `up` into this hub until the origin stops sending (`Lost`) or
    /// the pull is over here.
    async fn pull_from(
        self: &Arc<Self>,
        edge: &Edge,
        key: &str,
        up: &Upstream,
        state: &watch::Sender<PullState>,
    ) -> Result<Pulled, String> {
        // Marked as a pull, so that the origin leaves it out of the stream's audience.
        let sep = if up.name.contains('?') { '&' } else { '?' };
        let name = format!("{}{sep}{RELAY_MARK}", up.name);
        let connect = RtmpPlayer::connect(up.rtmp.as_str(), "live", &name);
        let player = match tokio::time::timeout(edge.config.connect_timeout, connect).await {
            Err(_) => return Err(format!("{} did not answer in time", up.rtmp)),
            Ok(Err(e)) => return Err(format!("{}: {e}", up.rtmp)),
            Ok(Ok(player)) => player,
        };
        let Ok(publisher) = self.relay(key) else {
            return Ok(Pulled::GaveWay);
        };
        tracing::info!(key, origin = up.node, "pulling the stream from its origin");
        metrics::counter!("media_pulls_started_total").increment(1);
        metrics::gauge!("media_pulls").increment(1.0);
        state.send_replace(PullState::Playing);
        // The socket is read on a task of its own (its reads and writes are not safe
        // to abandon halfway), which ends when the pull drops its queue.
        let (tx, mut frames) = mpsc::channel::<Frame>(FRAME_QUEUE);
        let reader = tokio::spawn(read_frames(player, tx));
        let stream = publisher.stream().clone();
        let mut idle_since: Option<Instant> = None;
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let outcome = loop {
            tokio::select! {
                frame = frames.recv() => match frame {
                    Some(frame) => publisher.push(frame),
                    None => break Pulled::Lost,
                },
                _ = publisher.superseded() => break Pulled::GaveWay,
                _ = stream.cut_requested() => break Pulled::Over("cut here"),
                _ = tick.tick() => {
                    if stream.viewer_count() > 0 {
                        idle_since = None;
                    } else if idle_since.get_or_insert_with(Instant::now).elapsed() >= edge.config.idle {
                        break Pulled::Over("no viewers");
                    }
                }
            }
        };
        reader.abort();
        metrics::gauge!("media_pulls").decrement(1.0);
        drop(publisher);
        Ok(outcome)
    }

    /// Ends relay stream `key` now, closing its viewers, unless an encoder publishes it
    /// here.
    fn end_relay(&self, key: &str) {
        let stream = {
            let mut streams = self.streams();
            match streams.get(key) {
                Some(s) if s.is_relay() && !s.is_publishing() => streams.remove(key),
                _ => None,
            }
        };
        if let Some(stream) = stream {
            self.finish(&stream);
        }
    }

    /// HLS file `file` of stream `key` from its origin on another node (segments are
    /// kept a while, since every player behind this node asks for the same ones).
    /// `query` goes with the playlist's request (a signed URL's signature).
    pub async fn origin_hls(&self, key: &str, file: &str, query: Option<&str>) -> Option<Bytes> {
        let edge = self.edge.get()?;
        let playlist = file == "index.m3u8";
        let name = format!("{key}/{file}");
        if !playlist {
            if let Some((_, body)) = edge.segments().iter().find(|(n, _)| *n == name) {
                return Some(body.clone());
            }
        }
        let up = self.locate(key).await?;
        let mut url = format!("{}/live/{name}", up.http.trim_end_matches('/'));
        if let Some(q) = query.filter(|q| playlist && !q.is_empty()) {
            url = format!("{url}?{q}");
        }
        let res = edge.http.get(&url).send().await.ok()?;
        if !res.status().is_success() {
            return None;
        }
        let body = res.bytes().await.ok()?;
        if !playlist {
            let mut kept = edge.segments();
            if kept.len() >= SEGMENTS_KEPT {
                kept.pop_front();
            }
            kept.push_back((name, body.clone()));
        }
        Some(body)
    }
}

/// How a pull from one origin ended.
enum Pulled {
    /// The origin stopped sending: the stream may be elsewhere now.
    Lost,
    /// An encoder publishes the stream here now: this node is its origin.
    GaveWay,
    /// The pull is over here, for this reason: its stream ends here.
    Over(&'static str),
}

/// Reads `player`'s frames into `tx` until the stream ends, the connection fails or the
/// pull stops listening.
async fn read_frames(mut player: RtmpPlayer, tx: mpsc::Sender<Frame>) {
    loop {
        match player.next_frame().await {
            Ok(Some(frame)) => {
                if tx.send(frame).await.is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                tracing::info!("the origin's connection failed: {e}");
                return;
            }
        }
    }
}
