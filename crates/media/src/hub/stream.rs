//! One live stream: what a new viewer needs to start at once (metadata, codec headers,
//! the current GOP from its keyframe), and the viewers' queues.
//!
//! Cost per frame: one classification, one `Arc<Packet>`, then for each viewer one
//! `try_send` of a pointer. Nothing is encoded for the viewers here; each output format
//! is encoded once per frame by the first viewer of that format (see [`Packet`]). HLS is
//! the exception: the frame is muxed into the open TS segment (a copy of its payload)
//! after the viewers have it, under the segmenter's own lock, so viewers joining,
//! leaving or being counted never wait for the muxing. The locks are never held across
//! an `.await`: publishing and joining are synchronous.
//!
//! A viewer whose queue is full is never waited for: it loses frames until the next
//! keyframe, and then gets the codec headers again and resumes there. The drops are
//! counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::packet::{Class, Packet};
use super::timestamps::Timeline;
use crate::frame::{Frame, FrameKind};
use crate::hls::Segmenter;

/// How a viewer watches; used for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Rtmp,
    HttpFlv,
    WsFlv,
    /// A recorder writing the stream to disk (not a viewer: not in viewer counts).
    Record,
    /// A WHEP (WebRTC) player.
    WebRtc,
    /// Another node pulling the stream for its own viewers (a player, but not in the
    /// audience: its viewers are counted where they watch).
    Relay,
    /// momo's own consumer of the stream (WebRTC's audio bridge): not a viewer.
    Bridge,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Rtmp => "rtmp",
            Protocol::HttpFlv => "http_flv",
            Protocol::WsFlv => "ws_flv",
            Protocol::Record => "record",
            Protocol::WebRtc => "webrtc",
            Protocol::Relay => "relay",
            Protocol::Bridge => "bridge",
        }
    }
}

/// Tunables of a stream.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Frames a viewer may have queued before it starts losing frames.
    pub viewer_queue: usize,
    /// Most frames kept in the GOP cache (a pathological GOP is cut, not kept whole).
    pub gop_max_frames: usize,
    /// HLS segment target duration in milliseconds, and playlist length.
    pub hls_target_ms: u64,
    pub hls_window: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            viewer_queue: 512,
            gop_max_frames: 2048,
            hls_target_ms: 2_000,
            hls_window: 6,
        }
    }
}

struct Viewer {
    id: u64,
    protocol: Protocol,
    /// The client's address, when the server knows it: viewers are counted once per
    /// address in [`Stream::audience`].
    addr: Option<std::net::IpAddr>,
    tx: mpsc::Sender<Arc<Packet>>,
    /// Lost a frame; skipping until the next keyframe.
    resyncing: bool,
}

struct State {
    metadata: Option<Arc<Packet>>,
    video_header: Option<Arc<Packet>>,
    audio_header: Option<Arc<Packet>>,
    /// From the latest keyframe on.
    gop: Vec<Arc<Packet>>,
    has_video: bool,
    viewers: Vec<Viewer>,
    next_viewer: u64,
    timeline: Timeline,
    /// The latest output timestamps of each track, which headers sent again to a viewer
    /// that lost frames carry so its timeline never goes back.
    last_video_ts: u32,
    last_audio_ts: u32,
    /// Whether a publisher is attached right now.
    publishing: bool,
    /// Whether the attached (or last) publisher is this node's pull of the stream from
    /// its origin on another node, rather than an encoder.
    relay: bool,
    /// When the attached publisher started.
    published_at: Option<std::time::Instant>,
    /// Bumped on every publish, so a late "unpublished" from an old session is ignored.
    session: u64,
    /// When a viewer's keyframe request was last passed on to the origin (a relay).
    keyframe_passed: Option<std::time::Instant>,
}

/// What [`Stream::attach_publisher`] took the stream over from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attached {
    /// Nobody was publishing (a new stream, or one in its grace period).
    Free,
    /// This node's pull from the origin, which stops.
    OverRelay,
    /// An older publisher, which is disconnected.
    OverPublisher,
}

/// Running totals of a stream.
#[derive(Debug, Default)]
pub struct StreamStats {
    pub frames_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub frames_dropped: AtomicU64,
    pub viewers_peak: AtomicU64,
}

/// A live stream; shared by its publisher, its viewers and the hub.
pub struct Stream {
    key: String,
    config: StreamConfig,
    state: Mutex<State>,
    /// Live HLS. Locked after `state` when both are held, never the other way round.
    hls: Mutex<Segmenter>,
    pub stats: StreamStats,
    /// Told when an operator cuts the stream, so its publisher hangs up.
    cut: tokio::sync::Notify,
    /// Whether the publisher's video was seen reordering pictures (B-frames).
    b_frames: std::sync::atomic::AtomicBool,
    /// Told when a viewer wants a keyframe, for a publisher that can make one (WHIP).
    keyframe: tokio::sync::Notify,
    /// The current publisher session, watched by publishers so that one that was
    /// taken over by a newer publisher hangs up.
    current: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// A viewer's end: frames arrive on `rx`; dropping it leaves the stream.
pub struct Subscription {
    pub rx: mpsc::Receiver<Arc<Packet>>,
    stream: Arc<Stream>,
    id: u64,
}

impl Subscription {
    pub fn stream(&self) -> &Arc<Stream> {
        &self.stream
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.stream.leave(self.id);
    }
}

impl Stream {
    pub(crate) fn new(key: String, config: StreamConfig) -> Stream {
        let hls = Segmenter::new(crate::hls::SegmenterConfig {
            target_duration_ms: config.hls_target_ms,
            window: config.hls_window,
        });
        Stream {
            key,
            state: Mutex::new(State {
                metadata: None,
                video_header: None,
                audio_header: None,
                gop: Vec::new(),
                has_video: false,
                viewers: Vec::new(),
                next_viewer: 1,
                timeline: Timeline::new(),
                last_video_ts: 0,
                last_audio_ts: 0,
                publishing: false,
                relay: false,
                published_at: None,
                session: 0,
                keyframe_passed: None,
            }),
            hls: Mutex::new(hls),
            config,
            stats: StreamStats::default(),
            cut: tokio::sync::Notify::new(),
            b_frames: std::sync::atomic::AtomicBool::new(false),
            keyframe: tokio::sync::Notify::new(),
            current: tokio::sync::watch::Sender::new(0),
        }
    }

    /// The stream's key (the room id it plays as).
    pub fn key(&self) -> &str {
        &self.key
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Poisoning means a panic mid-update elsewhere; the state is still coherent
        // enough to serve or tear down.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hls(&self) -> MutexGuard<'_, Segmenter> {
        // As for `lock`: a segmenter left mid-push still serves what it has.
        self.hls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Attaches a publisher; returns its session number and what it took the stream
    /// over from, or `None` if a publisher is attached that may not be taken over.
    ///
    /// An encoder (`relay` false) takes over from any attached publisher: a pull from
    /// the origin (this node becomes the origin), or an older connection of its own
    /// that has not noticed yet that it is gone (half-open). A pull takes a stream only
    /// when nobody publishes it.
    pub(crate) fn attach_publisher(&self, relay: bool) -> Option<(u64, Attached)> {
        let mut s = self.lock();
        let ousted = match (s.publishing, s.relay) {
            (false, _) => Attached::Free,
            (true, _) if relay => return None,
            (true, true) => Attached::OverRelay,
            (true, false) => Attached::OverPublisher,
        };
        s.publishing = true;
        s.relay = relay;
        s.published_at = Some(std::time::Instant::now());
        s.session += 1;
        if s.session > 1 {
            // A reconnect within the grace period: continue the same timeline.
            s.timeline.restart();
            self.hls().discontinuity();
        }
        let session = s.session;
        drop(s);
        self.current.send_replace(session);
        Some((session, ousted))
    }

    /// Detaches publisher `session`; returns whether it was the current one.
    pub(crate) fn detach_publisher(&self, session: u64) -> bool {
        let mut s = self.lock();
        if s.session == session && s.publishing {
            s.publishing = false;
            true
        } else {
            false
        }
    }

    /// Resolves when publisher `session` is no longer the stream's publisher: a newer
    /// one took over.
    pub async fn superseded(&self, session: u64) {
        let mut rx = self.current.subscribe();
        let _ = rx.wait_for(|current| *current != session).await;
    }

    /// How long the attached publisher has been publishing; `None` when none is.
    pub fn publishing_for(&self) -> Option<std::time::Duration> {
        let s = self.lock();
        s.published_at
            .filter(|_| s.publishing)
            .map(|at| at.elapsed())
    }

    /// Whether the stream is this node's pull of another node's stream.
    pub fn is_relay(&self) -> bool {
        self.lock().relay
    }

    /// Whether a publisher is attached now.
    pub fn is_publishing(&self) -> bool {
        self.lock().publishing
    }

    /// The current publisher session number.
    pub(crate) fn session(&self) -> u64 {
        self.lock().session
    }

    /// Takes one frame from the publisher and hands it to every viewer.
    pub fn publish(&self, frame: Frame) {
        self.stats.frames_in.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes_in
            .fetch_add(frame.payload.len() as u64, Ordering::Relaxed);
        metrics::counter!("media_bytes_in_total").increment(frame.payload.len() as u64);
        let mut s = self.lock();
        let out_ts = s.timeline.map(frame.kind, frame.timestamp);
        let frame = Frame {
            timestamp: out_ts as u32,
            ..frame
        };
        let packet = Arc::new(Packet::new(frame));
        match packet.frame.kind {
            FrameKind::Video => {
                s.has_video = true;
                s.last_video_ts = packet.frame.timestamp;
            }
            FrameKind::Audio => s.last_audio_ts = packet.frame.timestamp,
            FrameKind::Script => {}
        }
        match packet.class {
            Class::VideoHeader => {
                // A different configuration (a publisher that came back may have
                // restarted its encoder) makes the cached frames undecodable with it: a
                // viewer joining now waits for a keyframe that goes with it. Encoders
                // that repeat the same header mid-GOP leave the cache alone.
                let changed = s
                    .video_header
                    .as_ref()
                    .is_none_or(|h| h.frame.payload != packet.frame.payload);
                if changed {
                    s.gop.clear();
                }
                s.video_header = Some(packet.clone());
            }
            Class::AudioHeader => s.audio_header = Some(packet.clone()),
            Class::Metadata => s.metadata = Some(packet.clone()),
            Class::Keyframe => {
                s.gop.clear();
                s.gop.push(packet.clone());
            }
            Class::Video | Class::Audio => {
                if !s.gop.is_empty() && s.gop.len() < self.config.gop_max_frames {
                    s.gop.push(packet.clone());
                }
            }
        }
        let mut dropped = 0;
        let state = &mut *s;
        let mut restart = Restart {
            video_header: &state.video_header,
            audio_header: &state.audio_header,
            video_ts: state.last_video_ts,
            audio_ts: state.last_audio_ts,
            headers: None,
        };
        state.viewers.retain_mut(
            |v| match deliver(v, &packet, state.has_video, &mut restart) {
                Delivery::Sent => true,
                Delivery::Dropped => {
                    dropped += 1;
                    true
                }
                Delivery::Gone => false,
            },
        );
        // The segmenter's lock is taken before the stream's is let go, so segments
        // keep the order in which frames went out.
        let mut hls = self.hls();
        drop(s);
        hls.push(&packet.frame);
        drop(hls);
        if dropped > 0 {
            self.stats
                .frames_dropped
                .fetch_add(dropped, Ordering::Relaxed);
            metrics::counter!("media_frames_dropped_total").increment(dropped);
        }
    }

    /// Adds a viewer, primed with metadata, codec headers and the current GOP so that its
    /// first video frame is a keyframe, sent at once.
    pub fn subscribe(self: &Arc<Self>, protocol: Protocol) -> Subscription {
        self.subscribe_from(protocol, None)
    }

    /// [`Stream::subscribe`] for a viewer at client address `addr`.
    pub fn subscribe_from(
        self: &Arc<Self>,
        protocol: Protocol,
        addr: Option<std::net::IpAddr>,
    ) -> Subscription {
        let mut s = self.lock();
        let primer: Vec<Arc<Packet>> = s
            .metadata
            .iter()
            .chain(s.video_header.iter())
            .chain(s.audio_header.iter())
            .chain(s.gop.iter())
            .cloned()
            .collect();
        let (tx, rx) = mpsc::channel(self.config.viewer_queue.max(primer.len() + 8));
        for p in primer {
            // Capacity was sized for the primer above.
            let _ = tx.try_send(p);
        }
        let id = s.next_viewer;
        s.next_viewer += 1;
        s.viewers.push(Viewer {
            id,
            protocol,
            addr: addr.map(|a| a.to_canonical()),
            tx,
            resyncing: false,
        });
        let count = s
            .viewers
            .iter()
            .filter(|v| !matches!(v.protocol, Protocol::Record | Protocol::Bridge))
            .count() as u64;
        self.stats.viewers_peak.fetch_max(count, Ordering::Relaxed);
        metrics::gauge!("media_viewers", "protocol" => protocol.name()).increment(1.0);
        drop(s);
        Subscription {
            rx,
            stream: self.clone(),
            id,
        }
    }

    fn leave(&self, id: u64) {
        let mut s = self.lock();
        if let Some(i) = s.viewers.iter().position(|v| v.id == id) {
            let v = s.viewers.swap_remove(i);
            metrics::gauge!("media_viewers", "protocol" => v.protocol.name()).decrement(1.0);
        }
    }

    /// Disconnects every viewer (their queues close once drained of nothing more).
    /// Tells the publisher to hang up (the permit is kept if it is not waiting yet).
    pub(crate) fn cut(&self) {
        self.cut.notify_one();
    }

    /// Marks the stream as carrying B-frames; true the first time.
    pub fn saw_b_frames(&self) -> bool {
        !self
            .b_frames
            .swap(true, std::sync::atomic::Ordering::Relaxed)
    }

    /// A viewer wants a keyframe: the publisher is asked, if it can be
    /// ([`Stream::keyframe_wanted`]; an RTMP encoder cannot, its viewers wait for the
    /// next keyframe).
    pub fn want_keyframe(&self) {
        self.keyframe.notify_one();
    }

    /// Resolves when a viewer wants a keyframe.
    pub async fn keyframe_wanted(&self) {
        self.keyframe.notified().await
    }

    /// Whether a keyframe request may be passed on to the origin now: at most one per
    /// `gap`, however many viewers ask.
    pub(crate) fn may_pass_keyframe_request(&self, gap: std::time::Duration) -> bool {
        let mut s = self.lock();
        let now = std::time::Instant::now();
        if s.keyframe_passed
            .is_some_and(|last| now.duration_since(last) < gap)
        {
            return false;
        }
        s.keyframe_passed = Some(now);
        true
    }

    /// Resolves when the stream is cut.
    pub async fn cut_requested(&self) {
        self.cut.notified().await
    }

    pub(crate) fn close_viewers(&self) {
        let mut s = self.lock();
        for v in s.viewers.drain(..) {
            metrics::gauge!("media_viewers", "protocol" => v.protocol.name()).decrement(1.0);
        }
    }

    /// Viewers now.
    pub fn viewer_count(&self) -> usize {
        let s = self.lock();
        s.viewers
            .iter()
            .filter(|v| !matches!(v.protocol, Protocol::Record | Protocol::Bridge))
            .count()
    }

    /// The audience: viewers counted once per client address (a viewer whose address is
    /// unknown counts alone), so a script opening hundreds of players from one machine
    /// counts as one viewer in the room's figures and the hot ranking. O(viewers), like
    /// [`Stream::viewer_count`].
    pub fn audience(&self) -> usize {
        let s = self.lock();
        let mut addrs = std::collections::HashSet::with_capacity(s.viewers.len());
        let mut unknown = 0;
        for v in s.viewers.iter().filter(|v| {
            !matches!(
                v.protocol,
                Protocol::Record | Protocol::Relay | Protocol::Bridge
            )
        }) {
            match v.addr {
                Some(a) => {
                    addrs.insert(a);
                }
                None => unknown += 1,
            }
        }
        addrs.len() + unknown
    }

    /// Whether a recorder is writing this stream to disk.
    pub fn is_recorded(&self) -> bool {
        let s = self.lock();
        s.viewers.iter().any(|v| v.protocol == Protocol::Record)
    }

    /// The HLS playlist text, if at least one segment is complete.
    pub fn hls_playlist(&self) -> Option<String> {
        self.hls().playlist()
    }

    /// One HLS segment by file name (`seg-12.ts`).
    pub fn hls_segment(&self, name: &str) -> Option<bytes::Bytes> {
        self.hls().segment(name)
    }
}

enum Delivery {
    Sent,
    Dropped,
    Gone,
}

/// The codec headers a viewer that lost frames gets again before the frame it resumes
/// on. They are stamped with their track's latest timestamp, not their original one,
/// so the viewer's timeline never goes back; the re-stamped copies are made once per
/// resume point, by the first viewer that needs them, and shared with the others.
struct Restart<'a> {
    video_header: &'a Option<Arc<Packet>>,
    audio_header: &'a Option<Arc<Packet>>,
    video_ts: u32,
    audio_ts: u32,
    headers: Option<Vec<Arc<Packet>>>,
}

impl Restart<'_> {
    fn headers(&mut self) -> &[Arc<Packet>] {
        let (video, audio) = (self.video_header, self.audio_header);
        let (video_ts, audio_ts) = (self.video_ts, self.audio_ts);
        self.headers.get_or_insert_with(|| {
            video
                .iter()
                .map(|h| restamped(h, video_ts))
                .chain(audio.iter().map(|h| restamped(h, audio_ts)))
                .collect()
        })
    }

    fn count(&self) -> usize {
        self.video_header.is_some() as usize + self.audio_header.is_some() as usize
    }
}

/// `header` carrying `timestamp`: the same packet if it already does.
fn restamped(header: &Arc<Packet>, timestamp: u32) -> Arc<Packet> {
    if header.frame.timestamp == timestamp {
        return header.clone();
    }
    Arc::new(Packet::new(Frame {
        timestamp,
        ..header.frame.clone()
    }))
}

fn deliver(
    v: &mut Viewer,
    p: &Arc<Packet>,
    has_video: bool,
    restart: &mut Restart<'_>,
) -> Delivery {
    use mpsc::error::TrySendError;
    if v.resyncing {
        let restart_point = p.class == Class::Keyframe || (!has_video && p.class == Class::Audio);
        if p.class.is_header() {
            // Headers are re-sent at the restart point anyway.
            return Delivery::Dropped;
        }
        if !restart_point {
            return Delivery::Dropped;
        }
        let needed = 1 + restart.count();
        if v.tx.capacity() < needed {
            return if v.tx.is_closed() {
                Delivery::Gone
            } else {
                Delivery::Dropped
            };
        }
        for h in restart.headers() {
            let _ = v.tx.try_send(h.clone());
        }
        v.resyncing = false;
    }
    match v.tx.try_send(p.clone()) {
        Ok(()) => Delivery::Sent,
        Err(TrySendError::Full(_)) => {
            v.resyncing = true;
            Delivery::Dropped
        }
        Err(TrySendError::Closed(_)) => Delivery::Gone,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn frame(kind: FrameKind, timestamp: u32, payload: &'static [u8]) -> Frame {
        Frame {
            kind,
            timestamp,
            payload: Bytes::from_static(payload),
        }
    }

    const VIDEO_HEADER: &[u8] = &[0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1F];
    const OTHER_VIDEO_HEADER: &[u8] = &[0x17, 0, 0, 0, 0, 1, 0x4D, 0, 0x1F];
    const KEYFRAME: &[u8] = &[0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65];
    const INTER: &[u8] = &[0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41];
    const AUDIO_HEADER: &[u8] = &[0xAF, 0, 0x12, 0x10];
    const AUDIO: &[u8] = &[0xAF, 1, 0x21];

    fn stream(viewer_queue: usize) -> Arc<Stream> {
        Arc::new(Stream::new(
            "room".into(),
            StreamConfig {
                viewer_queue,
                ..StreamConfig::default()
            },
        ))
    }

    fn drain(sub: &mut Subscription) -> Vec<Arc<Packet>> {
        std::iter::from_fn(|| sub.rx.try_recv().ok()).collect()
    }

    /// Video and audio every 40 ms from `from` (exclusive) to `to` (inclusive).
    fn publish_inter(stream: &Stream, from: u32, to: u32) {
        for ts in (from + 40..=to).step_by(40) {
            stream.publish(frame(FrameKind::Video, ts, INTER));
            stream.publish(frame(FrameKind::Audio, ts + 3, AUDIO));
        }
    }

    #[test]
    fn a_viewer_that_lost_frames_resumes_on_a_keyframe_with_headers_at_the_current_time() {
        let stream = stream(8);
        let mut slow = stream.subscribe(Protocol::Rtmp);
        let mut slower = stream.subscribe(Protocol::HttpFlv);
        stream.publish(frame(FrameKind::Video, 0, VIDEO_HEADER));
        stream.publish(frame(FrameKind::Audio, 0, AUDIO_HEADER));
        stream.publish(frame(FrameKind::Video, 0, KEYFRAME));
        publish_inter(&stream, 0, 960);
        assert!(stream.stats.frames_dropped.load(Ordering::Relaxed) > 0);

        let mut received = drain(&mut slow);
        drain(&mut slower);
        publish_inter(&stream, 960, 990);
        stream.publish(frame(FrameKind::Video, 1000, KEYFRAME));
        stream.publish(frame(FrameKind::Audio, 1003, AUDIO));
        let resumed = drain(&mut slow);
        let classes: Vec<(Class, u32)> = resumed
            .iter()
            .map(|p| (p.class, p.frame.timestamp))
            .collect();
        assert_eq!(
            classes,
            vec![
                (Class::VideoHeader, 1000),
                (Class::AudioHeader, 963),
                (Class::Keyframe, 1000),
                (Class::Audio, 1003)
            ]
        );
        // Made once for every viewer resuming at this keyframe.
        let other = drain(&mut slower);
        assert!(Arc::ptr_eq(&resumed[0], &other[0]));
        assert!(Arc::ptr_eq(&resumed[1], &other[1]));

        received.extend(resumed);
        for kind in [FrameKind::Video, FrameKind::Audio] {
            let ts: Vec<u32> = received
                .iter()
                .filter(|p| p.frame.kind == kind)
                .map(|p| p.frame.timestamp)
                .collect();
            assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{kind:?}: {ts:?}");
        }
    }

    #[test]
    fn a_changed_video_header_empties_the_gop_cache() {
        let stream = stream(512);
        stream.publish(frame(FrameKind::Video, 0, VIDEO_HEADER));
        stream.publish(frame(FrameKind::Video, 0, KEYFRAME));
        publish_inter(&stream, 0, 120);
        // The same header repeated mid-GOP, as some encoders do, changes nothing.
        stream.publish(frame(FrameKind::Video, 120, VIDEO_HEADER));
        let mut early = stream.subscribe(Protocol::Rtmp);
        assert_eq!(drain(&mut early)[1].class, Class::Keyframe);
        publish_inter(&stream, 120, 200);
        // The publisher came back with an encoder configured otherwise.
        stream.publish(frame(FrameKind::Video, 240, OTHER_VIDEO_HEADER));

        let mut viewer = stream.subscribe(Protocol::HttpFlv);
        let primer = drain(&mut viewer);
        assert_eq!(primer.len(), 1, "only the new header");
        assert_eq!(&primer[0].frame.payload[..], OTHER_VIDEO_HEADER);
        stream.publish(frame(FrameKind::Video, 240, KEYFRAME));
        assert_eq!(drain(&mut viewer)[0].class, Class::Keyframe);
    }

    #[test]
    fn viewers_join_and_are_counted_while_the_segmenter_is_busy() {
        let stream = stream(64);
        stream.publish(frame(FrameKind::Video, 0, VIDEO_HEADER));
        stream.publish(frame(FrameKind::Video, 0, KEYFRAME));
        // As a publisher muxing a large keyframe into HLS holds it.
        let busy = stream.hls();
        let mut viewer = stream.subscribe(Protocol::HttpFlv);
        assert_eq!(stream.viewer_count(), 1);
        let primer: Vec<Class> = drain(&mut viewer).iter().map(|p| p.class).collect();
        assert_eq!(primer, vec![Class::VideoHeader, Class::Keyframe]);
        drop(busy);
        stream.publish(frame(FrameKind::Video, 40, INTER));
        assert_eq!(drain(&mut viewer)[0].class, Class::Video);
    }

    #[test]
    fn the_audience_counts_an_address_once() {
        let stream = stream(64);
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
        let script: Vec<Subscription> = (0..50)
            .map(|_| stream.subscribe_from(Protocol::HttpFlv, ip("203.0.113.7")))
            .collect();
        let _other = stream.subscribe_from(Protocol::Rtmp, ip("198.51.100.1"));
        let _unknown = stream.subscribe(Protocol::WsFlv);
        let _recorder = stream.subscribe(Protocol::Record);
        assert_eq!(stream.viewer_count(), 52);
        assert_eq!(stream.audience(), 3);
        drop(script);
        assert_eq!(stream.audience(), 2);
    }
}
