//! What every viewer records, whatever its protocol, and the one read buffer they share.
//!
//! A viewer is a tokio task that writes its counters into a [`PlayerStats`] the step
//! reads from outside at the start and end of its window. Counters are relaxed atomics
//! that only their own task writes, so a frame costs one uncontended add and nobody
//! waits on a lock. The start of playback is judged by [`StartCheck`]: a viewer may only
//! begin with a keyframe, or with a sequence header and then a keyframe; anything else
//! is a start the viewer would see as a grey or broken picture.
//!
//! Frames a server drops are found from the video timestamps ([`GapCounter`]): a server
//! that lets a slow viewer skip to the next keyframe leaves a jump of many frame
//! intervals. Counting gaps needs nothing from the publisher and, unlike comparing
//! counts with what was sent, does not depend on how many frames were in flight at the
//! edges of the window.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use media::flv::{VideoFrameType, VideoPacket, VideoTag};
use media::frame::FrameKind;
use tokio::time::Instant;

/// Bytes one socket read may take. One buffer per runtime thread serves every viewer
/// on it (see [`with_read_buffer`]), so it can be large enough to drain a keyframe in
/// one read without costing memory per viewer.
const READ_BUFFER: usize = 256 * 1024;

thread_local! {
    static READ_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_BUFFER].into_boxed_slice());
}

/// Runs `f` with this thread's read buffer. Viewers read with `try_read` into it and
/// process the bytes before they next await, so no viewer keeps a buffer of its own
/// between reads: the kernel's socket buffer is the only per-viewer buffer.
pub fn with_read_buffer<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    READ_BUF.with(|b| f(&mut b.borrow_mut()))
}

/// Where a viewer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Connecting = 0,
    /// The server accepted the play (RTMP `NetStream.Play.Start`, HTTP 200).
    Playing = 1,
    /// Failed to connect or to play, or the connection broke.
    Failed = 2,
    /// The stream ended or the server closed the connection after playing.
    Ended = 3,
}

/// One viewer's counters, shared between its task and the step that reads them.
#[derive(Debug)]
pub struct PlayerStats {
    phase: AtomicU8,
    /// Microseconds from the start of the TCP connect to the first video frame and to
    /// the first keyframe (coded picture); 0 until then.
    first_video_us: AtomicU64,
    first_key_us: AtomicU64,
    /// Whether playback started well (see [`StartCheck`]); only meaningful once
    /// `first_key_us` is set or the start was judged bad.
    bad_start: AtomicBool,
    audio: AtomicU64,
    video: AtomicU64,
    script: AtomicU64,
    bytes: AtomicU64,
    /// Video frames missing in the gaps of the timestamps.
    video_missing: AtomicU64,
    /// Why the viewer failed, if it did.
    error: Mutex<Option<String>>,
}

/// A snapshot of the counters that move.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub audio: u64,
    pub video: u64,
    pub script: u64,
    pub bytes: u64,
    pub video_missing: u64,
}

impl Counts {
    /// Audio and video frames: the ones a publisher sends continuously.
    pub fn media(&self) -> u64 {
        self.audio + self.video
    }

    /// What was received between `earlier` and `self`.
    pub fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            audio: self.audio - earlier.audio,
            video: self.video - earlier.video,
            script: self.script - earlier.script,
            bytes: self.bytes - earlier.bytes,
            video_missing: self.video_missing - earlier.video_missing,
        }
    }
}

impl Default for PlayerStats {
    fn default() -> Self {
        PlayerStats {
            phase: AtomicU8::new(Phase::Connecting as u8),
            first_video_us: AtomicU64::new(0),
            first_key_us: AtomicU64::new(0),
            bad_start: AtomicBool::new(false),
            audio: AtomicU64::new(0),
            video: AtomicU64::new(0),
            script: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            video_missing: AtomicU64::new(0),
            error: Mutex::new(None),
        }
    }
}

impl PlayerStats {
    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            0 => Phase::Connecting,
            1 => Phase::Playing,
            2 => Phase::Failed,
            _ => Phase::Ended,
        }
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    /// Marks the viewer failed, with why.
    pub fn fail(&self, why: String) {
        if let Ok(mut e) = self.error.lock() {
            e.get_or_insert(why);
        }
        self.set_phase(Phase::Failed);
    }

    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    pub fn add_bytes(&self, n: usize) {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn counts(&self) -> Counts {
        Counts {
            audio: self.audio.load(Ordering::Relaxed),
            video: self.video.load(Ordering::Relaxed),
            script: self.script.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            video_missing: self.video_missing.load(Ordering::Relaxed),
        }
    }

    /// Time to the first video frame of any kind.
    pub fn first_video(&self) -> Option<Duration> {
        us(self.first_video_us.load(Ordering::Relaxed))
    }

    /// Time to the first keyframe: when a viewer can show a picture.
    pub fn first_key(&self) -> Option<Duration> {
        us(self.first_key_us.load(Ordering::Relaxed))
    }

    pub fn bad_start(&self) -> bool {
        self.bad_start.load(Ordering::Relaxed)
    }
}

fn us(v: u64) -> Option<Duration> {
    (v > 0).then(|| Duration::from_micros(v))
}

/// A viewer's running tally: counts frames into its [`PlayerStats`] and judges the
/// start of playback.
#[derive(Debug)]
pub struct Tally<'a> {
    stats: &'a PlayerStats,
    connect_started: Instant,
    check: StartCheck,
    gaps: GapCounter,
}

impl<'a> Tally<'a> {
    pub fn new(stats: &'a PlayerStats, connect_started: Instant) -> Self {
        Tally {
            stats,
            connect_started,
            check: StartCheck::default(),
            gaps: GapCounter::default(),
        }
    }

    /// One frame of `kind` at `timestamp`; `head` is its body, or at least its first
    /// [`PEEK`](super::flv_scan::PEEK) bytes (only read for video).
    pub fn frame(&mut self, kind: FrameKind, timestamp: u32, head: &[u8]) {
        let counter = match kind {
            FrameKind::Audio => &self.stats.audio,
            FrameKind::Video => &self.stats.video,
            FrameKind::Script => &self.stats.script,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if kind != FrameKind::Video {
            return;
        }
        if self.check.is_done() {
            // Gaps are counted from the first keyframe on, between coded pictures:
            // sequence headers may carry any timestamp.
            if VideoKind::of(head) != VideoKind::SequenceHeader {
                let missing = self.gaps.video(timestamp);
                if missing > 0 {
                    self.stats
                        .video_missing
                        .fetch_add(missing, Ordering::Relaxed);
                }
            }
            return;
        }
        let since = || {
            let us = self.connect_started.elapsed().as_micros();
            u64::try_from(us).unwrap_or(u64::MAX).max(1)
        };
        if self.check == StartCheck::Nothing {
            self.stats.first_video_us.store(since(), Ordering::Relaxed);
        }
        let was = self.check;
        match self.check.video(VideoKind::of(head)) {
            StartCheck::Good | StartCheck::BadKey => {
                self.stats.first_key_us.store(since(), Ordering::Relaxed);
                self.gaps.video(timestamp);
            }
            StartCheck::BadUntilKey if was != StartCheck::BadUntilKey => {
                self.stats.bad_start.store(true, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// The shortest step taken for a frame interval (200 fps); shorter steps are jitter.
const MIN_INTERVAL_MS: u32 = 5;

/// Video frames missing from a viewer's stream, found from jumps in the timestamps.
///
/// The frame interval is learnt as the smallest step seen between two pictures (33 ms
/// at 30 fps); a step of more than 1.5 intervals counts the frames that would have
/// filled it. Made for constant-frame-rate streams such as the bench's own; a
/// variable frame rate would show up as small false gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapCounter {
    last: Option<u32>,
    interval: u32,
}

impl Default for GapCounter {
    fn default() -> Self {
        GapCounter {
            last: None,
            interval: u32::MAX,
        }
    }
}

impl GapCounter {
    /// Takes the next picture's timestamp; returns how many frames are missing
    /// before it.
    pub fn video(&mut self, timestamp: u32) -> u64 {
        let Some(last) = self.last.replace(timestamp) else {
            return 0;
        };
        // Wrapping difference as signed: a timestamp going back (a server rebasing
        // its clock) is a new start, not a gap.
        let step = timestamp.wrapping_sub(last) as i32;
        if step <= 0 {
            return 0;
        }
        let step = step as u32;
        if step < MIN_INTERVAL_MS {
            return 0;
        }
        if step < self.interval {
            self.interval = step;
            return 0;
        }
        if u64::from(step) * 2 <= u64::from(self.interval) * 3 {
            return 0;
        }
        let frames = (u64::from(step) + u64::from(self.interval) / 2) / u64::from(self.interval);
        frames - 1
    }
}

/// What matters about a video frame for the start of playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoKind {
    SequenceHeader,
    /// A coded keyframe.
    Key,
    /// Anything else (inter frames, end of sequence, commands, unreadable tags).
    Other,
}

impl VideoKind {
    /// Classifies a video body (or its first bytes).
    pub fn of(head: &[u8]) -> Self {
        match VideoTag::parse(head) {
            Ok(t) if t.packet == VideoPacket::SequenceHeader => VideoKind::SequenceHeader,
            Ok(t)
                if t.packet == VideoPacket::CodedFrames
                    && matches!(
                        t.frame_type,
                        VideoFrameType::Key | VideoFrameType::GeneratedKey
                    ) =>
            {
                VideoKind::Key
            }
            _ => VideoKind::Other,
        }
    }
}

/// Whether playback began as a decoder needs it: the first video frame is a keyframe,
/// or a sequence header (or several) followed by a keyframe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StartCheck {
    /// No video yet.
    #[default]
    Nothing,
    /// Sequence header(s) so far; the next picture must be a keyframe.
    HeaderSeen,
    /// Started on a keyframe: good (final).
    Good,
    /// Started on something a decoder cannot begin with; still waiting for the first
    /// keyframe, whose time is recorded all the same.
    BadUntilKey,
    /// A bad start whose first keyframe has come (final).
    BadKey,
}

impl StartCheck {
    pub fn is_done(self) -> bool {
        matches!(self, StartCheck::Good | StartCheck::BadKey)
    }

    /// Takes the next video frame and returns the new state.
    pub fn video(&mut self, kind: VideoKind) -> StartCheck {
        *self = match (*self, kind) {
            (StartCheck::Nothing | StartCheck::HeaderSeen, VideoKind::SequenceHeader) => {
                StartCheck::HeaderSeen
            }
            (StartCheck::Nothing | StartCheck::HeaderSeen, VideoKind::Key) => StartCheck::Good,
            (StartCheck::Nothing | StartCheck::HeaderSeen, VideoKind::Other) => {
                StartCheck::BadUntilKey
            }
            (StartCheck::BadUntilKey, VideoKind::Key) => StartCheck::BadKey,
            (state, _) => state,
        };
        *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQ: &[u8] = &[0x17, 0x00, 0, 0, 0, 1, 0x64];
    const KEY: &[u8] = &[0x17, 0x01, 0, 0, 0, 0, 0, 0];
    const INTER: &[u8] = &[0x27, 0x01, 0, 0, 0, 0, 0, 0];

    #[test]
    fn classifies_video_heads() {
        assert_eq!(VideoKind::of(SEQ), VideoKind::SequenceHeader);
        assert_eq!(VideoKind::of(KEY), VideoKind::Key);
        assert_eq!(VideoKind::of(INTER), VideoKind::Other);
        assert_eq!(VideoKind::of(&[]), VideoKind::Other);
        // Enhanced RTMP: keyframe, CodedFrames, hvc1, composition time.
        assert_eq!(VideoKind::of(b"\x91hvc1\0\0\0"), VideoKind::Key);
    }

    #[test]
    fn a_start_on_header_then_key_is_good() {
        let mut c = StartCheck::default();
        assert_eq!(c.video(VideoKind::SequenceHeader), StartCheck::HeaderSeen);
        assert_eq!(c.video(VideoKind::Key), StartCheck::Good);
        assert!(c.is_done());
        let mut c = StartCheck::default();
        assert_eq!(c.video(VideoKind::Key), StartCheck::Good);
    }

    #[test]
    fn a_start_on_an_inter_frame_is_bad_until_the_next_key() {
        let mut c = StartCheck::default();
        c.video(VideoKind::SequenceHeader);
        assert_eq!(c.video(VideoKind::Other), StartCheck::BadUntilKey);
        assert_eq!(c.video(VideoKind::Other), StartCheck::BadUntilKey);
        assert_eq!(c.video(VideoKind::Key), StartCheck::BadKey);
        assert!(c.is_done());
    }

    #[test]
    fn tally_records_times_and_counts() {
        let stats = PlayerStats::default();
        let mut t = Tally::new(&stats, Instant::now());
        t.frame(FrameKind::Script, 0, b"");
        t.frame(FrameKind::Video, 0, SEQ);
        t.frame(FrameKind::Audio, 0, &[0xAF, 0]);
        assert!(stats.first_video().is_some());
        assert!(stats.first_key().is_none());
        t.frame(FrameKind::Video, 1000, KEY);
        t.frame(FrameKind::Video, 1033, INTER);
        assert!(stats.first_key().is_some());
        assert!(!stats.bad_start());
        let c = stats.counts();
        assert_eq!((c.audio, c.video, c.script, c.media()), (1, 3, 1, 4));
        // Five pictures skipped, then a sequence header with an odd timestamp (not a gap).
        t.frame(FrameKind::Video, 1233, KEY);
        t.frame(FrameKind::Video, 0, SEQ);
        t.frame(FrameKind::Video, 1267, INTER);
        assert_eq!(stats.counts().video_missing, 5);

        let stats = PlayerStats::default();
        let mut t = Tally::new(&stats, Instant::now());
        t.frame(FrameKind::Video, 0, INTER);
        assert!(stats.bad_start());
        assert!(stats.first_key().is_none());
        t.frame(FrameKind::Video, 500, KEY);
        assert!(stats.first_key().is_some());
        assert_eq!(stats.counts().video_missing, 0);
    }

    #[test]
    fn gaps_are_counted_in_learnt_frame_intervals() {
        let mut g = GapCounter::default();
        let missing: Vec<u64> = [0, 33, 67, 100, 133, 167, 367, 400, 467, 500, 501, 501, 534]
            .into_iter()
            .map(|ts| g.video(ts))
            .collect();
        // 167 → 367 lacks 5 frames of 33 ms, 400 → 467 one; a step of a millisecond
        // is jitter, not the frame rate, and a repeated timestamp is no gap.
        assert_eq!(missing, vec![0, 0, 0, 0, 0, 0, 5, 0, 1, 0, 0, 0, 0]);
        // A clock going back starts afresh.
        assert_eq!(g.video(10), 0);
        assert_eq!(g.video(11), 0);
    }
}
