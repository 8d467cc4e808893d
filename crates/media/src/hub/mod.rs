//! The hub: every live stream in this process, by key (the room id viewers play).
//!
//! A publisher takes a stream with [`Hub::publish`] and pushes frames through the
//! returned [`Publisher`]; viewers join with [`Hub::subscribe`]. When a publisher goes
//! away the stream lingers for the grace period with its viewers attached, so an anchor
//! whose phone switched networks can come back without the audience noticing; if nobody
//! resumes it, the stream ends and its viewers are disconnected.
//!
//! What happens is told on a broadcast channel of [`MediaEvent`]s, which the app turns
//! into "room is live / offline".

pub mod packet;
pub mod pull;
pub mod stream;
pub mod timestamps;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::frame::Frame;
pub use packet::{Class, Packet};
pub use pull::{LocateFuture, Origins, PullConfig, Upstream};
use stream::Attached;
pub use stream::{Protocol, Stream, StreamConfig, Subscription};

/// Tunables of the hub.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub stream: StreamConfig,
    /// How long a stream waits for its publisher to come back.
    pub grace: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            stream: StreamConfig::default(),
            grace: Duration::from_secs(10),
        }
    }
}

/// Why a publisher left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The encoder said so (`FCUnpublish` / `deleteStream`) or closed cleanly.
    Unpublished,
    /// The connection failed or timed out.
    Disconnected(String),
}

/// Totals of a stream when it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamSummary {
    pub frames_in: u64,
    pub bytes_in: u64,
    pub frames_dropped: u64,
    pub viewers_peak: u64,
}

/// What the hub tells the rest of momo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// A publisher started (or, with `resumed`, came back within the grace period).
    PublishStarted { key: String, resumed: bool },
    /// A publisher left; the stream waits out the grace period.
    PublisherLeft { key: String, reason: StopReason },
    /// The stream is over: no publisher came back in time.
    StreamEnded { key: String, summary: StreamSummary },
    /// Something the anchor should change in the encoder.
    StreamWarning { key: String, warning: StreamWarning },
    /// A viewer here of a stream pulled from another node wants a keyframe: the origin
    /// should ask its publisher ([`Hub::want_keyframe_here`]).
    KeyframeWanted { key: String },
}

/// Keyframe requests a node passes on to a stream's origin: at most one per this gap,
/// however many of its viewers ask (a publisher asked within it sends one keyframe
/// that answers them all).
pub const KEYFRAME_REQUEST_GAP: Duration = Duration::from_millis(500);

/// What an anchor is told to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamWarning {
    /// The video has B-frames, which WebRTC viewers cannot take: they get fewer pictures.
    BFrames,
}

impl StreamWarning {
    /// The warning's code in the app's messages.
    pub fn code(self) -> &'static str {
        match self {
            StreamWarning::BFrames => "b_frames",
        }
    }
}

/// Refusals of [`Hub::publish`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    #[error("stream {0} already has a publisher")]
    AlreadyPublishing(String),
}

/// All live streams of this process.
pub struct Hub {
    streams: Mutex<HashMap<String, Arc<Stream>>>,
    config: HubConfig,
    events: broadcast::Sender<MediaEvent>,
    /// Set on a node of a cluster: where to pull streams published elsewhere.
    edge: std::sync::OnceLock<pull::Edge>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Hub {
    pub fn new(config: HubConfig) -> Arc<Hub> {
        let (events, _) = broadcast::channel(1024);
        Arc::new(Hub {
            streams: Mutex::new(HashMap::new()),
            config,
            events,
            edge: std::sync::OnceLock::new(),
        })
    }

    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// Tells the rest of momo that `key`'s anchor should change `warning`.
    pub fn warn(&self, key: &str, warning: StreamWarning) {
        tracing::warn!(stream = key, warning = warning.code(), "stream warning");
        let _ = self.events.send(MediaEvent::StreamWarning {
            key: key.to_owned(),
            warning,
        });
    }

    /// Listens to what happens to streams.
    pub fn events(&self) -> broadcast::Receiver<MediaEvent> {
        self.events.subscribe()
    }

    fn streams(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Stream>>> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes stream `key` for a publisher: a new stream, one in its grace period, or
    /// one whose publisher it takes over from (an older connection of the same
    /// encoder, or this node's pull from the origin when the encoder moves here).
    pub fn publish(self: &Arc<Self>, key: &str) -> Result<Publisher, HubError> {
        self.attach(key, false)
    }

    /// Takes stream `key` for this node's pull of it from its origin on another node:
    /// viewers here see it as any stream, but the rest of momo is not told (the origin
    /// tells). Refused while an encoder publishes the key here.
    pub fn relay(self: &Arc<Self>, key: &str) -> Result<Publisher, HubError> {
        self.attach(key, true)
    }

    fn attach(self: &Arc<Self>, key: &str, relay: bool) -> Result<Publisher, HubError> {
        let (stream, session, attached) = {
            let mut streams = self.streams();
            let stream = streams
                .entry(key.to_string())
                .or_insert_with(|| {
                    Arc::new(Stream::new(key.to_string(), self.config.stream.clone()))
                })
                .clone();
            let (session, attached) = stream
                .attach_publisher(relay)
                .ok_or_else(|| HubError::AlreadyPublishing(key.to_string()))?;
            (stream, session, attached)
        };
        if attached == Attached::OverPublisher {
            // The older publisher's hold is void: it hangs up without a word.
            metrics::gauge!("media_publishers").decrement(1.0);
            metrics::counter!("media_publishers_taken_over_total").increment(1);
            tracing::info!(
                key,
                "a new publisher took the stream over from an older one"
            );
        }
        if !relay {
            metrics::gauge!("media_publishers").increment(1.0);
            // Taking over from anyone is a resume for the room: it was live already.
            let resumed = session > 1 || attached != Attached::Free;
            let _ = self.events.send(MediaEvent::PublishStarted {
                key: key.to_string(),
                resumed,
            });
        }
        Ok(Publisher {
            hub: self.clone(),
            stream,
            session,
            relay,
            reason: None,
        })
    }

    /// Joins stream `key` as a viewer; `None` when it is not live.
    pub fn subscribe(&self, key: &str, protocol: Protocol) -> Option<Subscription> {
        self.subscribe_from(key, protocol, None)
    }

    /// [`Hub::subscribe`] for a viewer at client address `addr` (counted once per
    /// address in the stream's audience).
    pub fn subscribe_from(
        &self,
        key: &str,
        protocol: Protocol,
        addr: Option<std::net::IpAddr>,
    ) -> Option<Subscription> {
        // Joined under the map's lock, so a stream that is ending either has this
        // viewer when it disconnects its viewers or is no longer found: never a viewer
        // left waiting on a stream that has already ended.
        let streams = self.streams();
        Some(streams.get(key)?.subscribe_from(protocol, addr))
    }

    /// Stream `key`, if it is live (or in its grace period).
    pub fn stream(&self, key: &str) -> Option<Arc<Stream>> {
        self.streams().get(key).cloned()
    }

    /// A viewer of stream `key` lost a picture. A publisher here is asked (a WHIP
    /// publisher answers; an RTMP encoder cannot be asked and its viewers wait for the
    /// next keyframe); a stream pulled from its origin passes the request on as
    /// [`MediaEvent::KeyframeWanted`], at most once per [`KEYFRAME_REQUEST_GAP`].
    pub fn want_keyframe(&self, key: &str) {
        let Some(stream) = self.stream(key) else {
            return;
        };
        if !stream.is_relay() {
            stream.want_keyframe();
        } else if stream.may_pass_keyframe_request(KEYFRAME_REQUEST_GAP) {
            metrics::counter!("media_keyframe_requests_passed_total").increment(1);
            let _ = self.events.send(MediaEvent::KeyframeWanted {
                key: key.to_owned(),
            });
        }
    }

    /// A viewer on another node wants a keyframe of stream `key`: its publisher is
    /// asked if it publishes here. Never passed on, so a request cannot go round.
    pub fn want_keyframe_here(&self, key: &str) {
        if let Some(stream) = self.stream(key).filter(|s| !s.is_relay()) {
            stream.want_keyframe();
        }
    }

    /// Keys of the streams now live.
    pub fn keys(&self) -> Vec<String> {
        self.streams().keys().cloned().collect()
    }

    /// Ends stream `key` if publisher `session` is still its last one and has not
    /// come back.
    fn end_if_abandoned(&self, stream: &Arc<Stream>, session: u64) {
        {
            // Checked under the map's lock, which `publish` holds while it attaches a
            // publisher: one that comes back as the grace period runs out either
            // keeps the stream or gets a new one, never a stream already removed.
            let mut streams = self.streams();
            if stream.is_publishing() || stream.session() != session {
                return;
            }
            match streams.get(stream.key()) {
                Some(s) if Arc::ptr_eq(s, stream) => {
                    streams.remove(stream.key());
                }
                _ => return,
            }
        }
        self.finish(stream);
    }

    /// Cuts stream `key` now: its publisher is disconnected, its viewers are closed, and
    /// the stream ends without a grace period. Returns whether it was live here.
    pub fn cut(&self, key: &str) -> bool {
        let Some(stream) = self.streams().remove(key) else {
            return false;
        };
        stream.cut();
        metrics::counter!("media_streams_cut_total").increment(1);
        self.finish(&stream);
        true
    }

    /// Closes an ended stream's viewers and says that it ended (unless it was a pull
    /// from another node, whose origin says so).
    fn finish(&self, stream: &Arc<Stream>) {
        stream.close_viewers();
        if stream.is_relay() {
            return;
        }
        let st = &stream.stats;
        let summary = StreamSummary {
            frames_in: st.frames_in.load(Ordering::Relaxed),
            bytes_in: st.bytes_in.load(Ordering::Relaxed),
            frames_dropped: st.frames_dropped.load(Ordering::Relaxed),
            viewers_peak: st.viewers_peak.load(Ordering::Relaxed),
        };
        let _ = self.events.send(MediaEvent::StreamEnded {
            key: stream.key().to_string(),
            summary,
        });
    }
}

/// A publisher's hold on a stream. Dropping it starts the grace period.
pub struct Publisher {
    hub: Arc<Hub>,
    stream: Arc<Stream>,
    session: u64,
    relay: bool,
    reason: Option<StopReason>,
}

impl Publisher {
    /// Hands one frame to every viewer.
    pub fn push(&self, frame: Frame) {
        self.stream.publish(frame);
    }

    pub fn stream(&self) -> &Arc<Stream> {
        &self.stream
    }

    /// Resolves when a newer publisher took the stream over: this one should hang up.
    pub async fn superseded(&self) {
        self.stream.superseded(self.session).await
    }

    /// Says why the publisher is leaving, for the event sent when it is dropped
    /// (the default is a disconnect).
    pub fn set_stop_reason(&mut self, reason: StopReason) {
        self.reason = Some(reason);
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if !self.stream.detach_publisher(self.session) {
            return;
        }
        if !self.relay {
            metrics::gauge!("media_publishers").decrement(1.0);
            let reason = self
                .reason
                .take()
                .unwrap_or_else(|| StopReason::Disconnected("connection closed".into()));
            let _ = self.hub.events.send(MediaEvent::PublisherLeft {
                key: self.stream.key().to_string(),
                reason,
            });
        }
        let hub = self.hub.clone();
        let stream = self.stream.clone();
        let session = self.session;
        let grace = hub.config.grace;
        match tokio::runtime::Handle::try_current() {
            Ok(rt) if !grace.is_zero() => {
                rt.spawn(async move {
                    tokio::time::sleep(grace).await;
                    hub.end_if_abandoned(&stream, session);
                });
            }
            _ => hub.end_if_abandoned(&stream, session),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(grace: Duration) -> Arc<Hub> {
        Hub::new(HubConfig {
            grace,
            ..HubConfig::default()
        })
    }

    #[test]
    fn without_grace_a_stream_ends_with_its_publisher_and_viewers_are_let_go() {
        let hub = hub(Duration::ZERO);
        let mut events = hub.events();
        let publisher = hub.publish("42").unwrap();
        let mut viewer = hub.subscribe("42", Protocol::HttpFlv).unwrap();
        drop(publisher);
        assert!(hub.stream("42").is_none());
        assert!(hub.subscribe("42", Protocol::HttpFlv).is_none());
        assert!(matches!(
            viewer.rx.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
        ));
        assert!(matches!(
            events.try_recv(),
            Ok(MediaEvent::PublishStarted { resumed: false, .. })
        ));
        assert!(matches!(
            events.try_recv(),
            Ok(MediaEvent::PublisherLeft { .. })
        ));
        assert!(matches!(
            events.try_recv(),
            Ok(MediaEvent::StreamEnded { .. })
        ));
    }

    #[tokio::test]
    async fn the_grace_timer_of_a_publisher_that_came_back_ends_nothing() {
        let hub = hub(Duration::from_millis(50));
        let first = hub.publish("42").unwrap();
        let stream = first.stream().clone();
        drop(first);
        let second = hub.publish("42").unwrap();
        assert!(
            Arc::ptr_eq(second.stream(), &stream),
            "resumed, same stream"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(hub.stream("42").is_some());
        assert!(hub.subscribe("42", Protocol::Rtmp).is_some());
        drop(second);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(hub.stream("42").is_none(), "ended once nobody came back");
    }

    #[tokio::test]
    async fn a_keyframe_request_reaches_a_publisher_here_or_goes_to_the_origin_at_most_twice_a_second(
    ) {
        let hub = hub(Duration::from_secs(60));
        let wanted = |p: &Publisher| {
            let stream = p.stream().clone();
            async move {
                tokio::time::timeout(Duration::from_millis(200), stream.keyframe_wanted())
                    .await
                    .is_ok()
            }
        };
        let mut events = hub.events();
        // A publisher here is asked.
        let here = hub.publish("7").unwrap();
        assert!(!wanted(&here).await, "nobody asked yet");
        hub.want_keyframe("7");
        assert!(wanted(&here).await);
        hub.want_keyframe_here("7");
        assert!(wanted(&here).await, "asked from another node");
        let _ = events.try_recv(); // PublishStarted
        assert!(events.try_recv().is_err(), "nothing passed on");

        // A stream pulled from its origin passes the request on, once per gap.
        let pulled = hub.relay("8").unwrap();
        for _ in 0..100 {
            hub.want_keyframe("8");
        }
        assert!(matches!(
            events.try_recv(),
            Ok(MediaEvent::KeyframeWanted { key }) if key == "8"
        ));
        assert!(events.try_recv().is_err(), "a hundred asks, one request");
        assert!(!wanted(&pulled).await, "the pull cannot make keyframes");
        // One from another node is never passed on again (no request goes round).
        hub.want_keyframe_here("8");
        assert!(events.try_recv().is_err());
        tokio::time::sleep(KEYFRAME_REQUEST_GAP).await;
        hub.want_keyframe("8");
        assert!(matches!(
            events.try_recv(),
            Ok(MediaEvent::KeyframeWanted { .. })
        ));
        // Unknown streams are nobody's business.
        hub.want_keyframe("nobody");
        hub.want_keyframe_here("nobody");
        assert!(events.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_cut_stream_ends_at_once_and_its_publisher_is_told() {
        let hub = hub(Duration::from_secs(60));
        let mut events = hub.events();
        let publisher = hub.publish("42").unwrap();
        let mut viewer = hub.subscribe("42", Protocol::Rtmp).unwrap();
        assert!(hub.cut("42"));
        assert!(!hub.cut("42"), "only once");
        assert!(hub.stream("42").is_none());
        assert!(viewer.rx.recv().await.is_none(), "the viewer is let go");
        tokio::time::timeout(Duration::from_secs(1), publisher.stream().cut_requested())
            .await
            .expect("the publisher hears of the cut");
        let _ = events.try_recv(); // PublishStarted
        assert!(matches!(
            events.try_recv(),
            Ok(MediaEvent::StreamEnded { .. })
        ));
        drop(publisher);
        assert!(matches!(
            events.try_recv(),
            Ok(MediaEvent::PublisherLeft { .. })
        ));
        assert!(
            hub.publish("42").is_ok(),
            "the key may publish again if allowed"
        );
    }

    #[tokio::test]
    async fn a_new_publisher_takes_over_from_an_older_one_and_from_a_pull() {
        let hub = hub(Duration::from_secs(60));
        let mut events = hub.events();
        let pull = hub.relay("42").unwrap();
        let viewer = hub.subscribe("42", Protocol::Rtmp).unwrap();
        assert!(hub.stream("42").unwrap().is_relay());
        assert!(events.try_recv().is_err(), "a pull is not news");
        assert!(hub.relay("42").is_err(), "one pull per stream");

        let old = hub
            .publish("42")
            .expect("an encoder takes over from the pull");
        tokio::time::timeout(Duration::from_secs(1), pull.superseded())
            .await
            .expect("the pull is told");
        drop(pull);
        assert!(matches!(
            events.try_recv(),
            Ok(MediaEvent::PublishStarted { resumed: true, .. })
        ));
        assert!(
            hub.relay("42").is_err(),
            "no pull while an encoder publishes"
        );

        let new = hub
            .publish("42")
            .expect("a reconnect takes over from a half-open one");
        tokio::time::timeout(Duration::from_secs(1), old.superseded())
            .await
            .expect("the older publisher is told");
        drop(old);
        assert!(matches!(
            events.try_recv(),
            Ok(MediaEvent::PublishStarted { resumed: true, .. })
        ));
        assert!(
            events.try_recv().is_err(),
            "the older one's leaving is not news"
        );
        let stream = hub.stream("42").unwrap();
        assert!(stream.is_publishing() && !stream.is_relay());
        assert_eq!(stream.viewer_count(), 1, "the viewer stayed");
        drop((new, viewer));
    }
}
