//! The live segmenter: frames in, a sliding window of TS segments and a playlist out.
//!
//! Cost: runs once per stream, not per viewer, on the publish path after the viewers
//! have the frame (under its own lock, not the stream's). Each frame is muxed once into
//! the open segment's buffer; closing a segment freezes that buffer into `Bytes` (no
//! copy) and renders the playlist text once, so HTTP requests only clone what is
//! already there.
//! Memory: up to twice `window` segments (the listed ones and as many recently removed),
//! plus the one being filled, which is capped at [`MAX_SEGMENT_BYTES`].

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::config::SegmenterConfig;
use super::playlist::{self, PlaylistHeader};
use super::segment::{self, Segment};
use crate::flv::{AudioCodec, AudioPacket, AudioTag, VideoCodec, VideoPacket, VideoTag};
use crate::frame::{Frame, FrameKind};
use crate::ts::TsMuxer;

/// A segment is cut at this size even without a keyframe, so a publisher that never
/// sends one cannot make momo buffer without bound.
pub const MAX_SEGMENT_BYTES: usize = 32 << 20;
/// Likewise a segment is cut after this many target durations (and at least 10 s)
/// whatever the keyframes, so players are not left waiting for a segment forever.
const FORCED_CUT_TARGETS: u64 = 5;
const FORCED_CUT_MIN_MS: u64 = 10_000;
/// Audio and video interleave loosely: a frame may come this far behind the latest
/// timestamp without meaning the timeline went backwards.
const MAX_BACKWARD_MS: i32 = 1_000;
/// A gap this long between consecutive frames is a jump in the timeline, not media.
const MAX_GAP_MS: i32 = 10_000;

/// What a frame is to the segmenter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    VideoKeyframe,
    Video,
    Audio,
    /// Metadata, sequence headers, codecs HLS-TS cannot carry, unparseable frames.
    Other,
}

/// The segment being filled.
#[derive(Debug)]
struct OpenSegment {
    start_ts: u32,
    last_ts: u32,
    discontinuity: bool,
    buf: BytesMut,
}

/// Live HLS for one stream: push frames, read the playlist and segments.
///
/// With video, segments start at keyframes: the first segment waits for the first
/// keyframe (frames before it are dropped), and each later one starts at the first
/// keyframe after `target_duration_ms`. Without video (no AVC sequence header yet),
/// segments are cut on audio timestamps alone.
#[derive(Debug)]
pub struct Segmenter {
    config: SegmenterConfig,
    muxer: TsMuxer,
    open: Option<OpenSegment>,
    /// Listed segments last; the ones before them have left the playlist but are
    /// still served.
    segments: VecDeque<Segment>,
    next_sequence: u64,
    discontinuity_sequence: u64,
    pending_discontinuity: bool,
    ended: bool,
    playlist: Option<String>,
    skipped_frames: u64,
    /// The AVC sequence header in use: another one (new resolution) starts a
    /// discontinuity.
    video_header: Option<Bytes>,
}

impl Segmenter {
    pub fn new(config: SegmenterConfig) -> Self {
        Segmenter {
            config: SegmenterConfig {
                target_duration_ms: config.target_duration_ms.max(1),
                window: config.window.max(1),
            },
            muxer: TsMuxer::new(),
            open: None,
            segments: VecDeque::new(),
            next_sequence: 0,
            discontinuity_sequence: 0,
            pending_discontinuity: false,
            ended: false,
            playlist: None,
            skipped_frames: 0,
            video_header: None,
        }
    }

    /// Takes the stream's next frame. Sequence headers configure the muxer; coded
    /// H.264 and AAC frames go into the open segment, which is cut first when due.
    /// Frames that cannot go into HLS (other codecs, malformed data, anything before
    /// the first keyframe) are counted in [`Segmenter::skipped_frames`] and dropped:
    /// the other outputs still carry them.
    pub fn push(&mut self, frame: &Frame) {
        if self.ended {
            // Publishing again after the end: a new timeline in the same playlist.
            self.ended = false;
            self.pending_discontinuity = !self.segments.is_empty();
        }
        let role = self.classify(frame);
        if role == Role::Other {
            return;
        }
        let ts = frame.timestamp;

        if let Some(open) = &self.open {
            let gap = ts.wrapping_sub(open.last_ts) as i32;
            if !(-MAX_BACKWARD_MS..=MAX_GAP_MS).contains(&gap) {
                tracing::debug!(gap, "HLS timeline jump; starting a discontinuity");
                self.close(None);
                self.pending_discontinuity = true;
            }
        }

        let can_start = if self.muxer.has_video() {
            role == Role::VideoKeyframe
        } else {
            role == Role::Audio
        };
        let mut forced = false;
        if let Some(open) = &self.open {
            let elapsed = u64::try_from(ts.wrapping_sub(open.start_ts) as i32).unwrap_or(0);
            let forced_cut_ms =
                (self.config.target_duration_ms * FORCED_CUT_TARGETS).max(FORCED_CUT_MIN_MS);
            if can_start && elapsed >= self.config.target_duration_ms {
                self.close(Some(ts));
            } else if elapsed >= forced_cut_ms || open.buf.len() >= MAX_SEGMENT_BYTES {
                tracing::debug!(elapsed, "HLS segment cut without a keyframe");
                self.close(Some(ts));
                forced = true;
            }
        }

        match &mut self.open {
            Some(open) => {
                if let Err(e) = self.muxer.write_frame(frame, &mut open.buf) {
                    tracing::debug!(error = %e, "frame left out of HLS");
                    self.skipped_frames += 1;
                    return;
                }
                if ts.wrapping_sub(open.last_ts) as i32 > 0 {
                    open.last_ts = ts;
                }
            }
            None if can_start || forced => self.open_with(frame),
            None => self.skipped_frames += 1,
        }
    }

    /// The publisher went away and another took over (or the same one reconnected):
    /// closes the open segment, forgets the codec configuration, and marks the next
    /// segment with `#EXT-X-DISCONTINUITY` so players reset their decoders.
    pub fn discontinuity(&mut self) {
        self.close(None);
        self.muxer = TsMuxer::new();
        self.video_header = None;
        self.pending_discontinuity = !self.segments.is_empty();
    }

    /// The publisher stopped: the open segment is closed and the playlist ends with
    /// `#EXT-X-ENDLIST`. Pushing again later continues after a discontinuity.
    pub fn end_of_stream(&mut self) {
        self.close(None);
        self.muxer = TsMuxer::new();
        self.video_header = None;
        self.ended = true;
        self.render();
    }

    /// The `index.m3u8` text, once at least one segment is complete.
    pub fn playlist(&self) -> Option<String> {
        self.playlist.clone()
    }

    /// A segment by file name (`seg-12.ts`), while it is listed or shortly after.
    pub fn segment(&self, name: &str) -> Option<Bytes> {
        let sequence = segment::parse_name(name)?;
        let first = self.segments.front()?.sequence;
        let index = usize::try_from(sequence.checked_sub(first)?).ok()?;
        self.segments.get(index).map(|s| s.data.clone())
    }

    /// The segments the playlist lists, oldest first.
    pub fn segments(&self) -> impl Iterator<Item = &Segment> + Clone {
        let hidden = self.segments.len().saturating_sub(self.config.window);
        self.segments.iter().skip(hidden)
    }

    /// Frames dropped from HLS so far (see [`Segmenter::push`]).
    pub fn skipped_frames(&self) -> u64 {
        self.skipped_frames
    }

    fn classify(&mut self, frame: &Frame) -> Role {
        match frame.kind {
            FrameKind::Script => Role::Other,
            FrameKind::Video => match VideoTag::parse(&frame.payload) {
                Ok(tag) if tag.codec != VideoCodec::Avc => self.skip(),
                Ok(tag) if tag.is_sequence_header() => {
                    let changed = self
                        .video_header
                        .as_ref()
                        .is_some_and(|h| h[..] != frame.payload[..]);
                    if changed {
                        // New parameter sets (a publisher changing resolution): players
                        // must reset their decoders at the next segment.
                        self.close(None);
                        self.pending_discontinuity = !self.segments.is_empty();
                    }
                    self.video_header = Some(frame.payload.clone());
                    if let Err(e) = self.muxer.set_video_config(tag.data) {
                        tracing::debug!(error = %e, "bad AVC sequence header for HLS");
                    }
                    Role::Other
                }
                Ok(tag) if tag.is_keyframe() => Role::VideoKeyframe,
                Ok(tag) if tag.packet == VideoPacket::CodedFrames => Role::Video,
                Ok(_) => Role::Other,
                Err(_) => self.skip(),
            },
            FrameKind::Audio => match AudioTag::parse(&frame.payload) {
                Ok(tag) if tag.codec != AudioCodec::Aac => self.skip(),
                Ok(tag) if tag.is_sequence_header() => {
                    if let Err(e) = self.muxer.set_audio_config(tag.data) {
                        tracing::debug!(error = %e, "bad AAC sequence header for HLS");
                    }
                    Role::Other
                }
                Ok(tag) if tag.packet == AudioPacket::CodedFrames => Role::Audio,
                Ok(_) => Role::Other,
                Err(_) => self.skip(),
            },
        }
    }

    fn skip(&mut self) -> Role {
        self.skipped_frames += 1;
        Role::Other
    }

    /// Starts a segment with `frame`, if the frame can be muxed; otherwise nothing
    /// is started and the next frame gets the chance.
    fn open_with(&mut self, frame: &Frame) {
        let capacity = self
            .segments
            .back()
            .map_or(64 << 10, |s| s.data.len() + (s.data.len() >> 3));
        let mut buf = BytesMut::with_capacity(capacity.min(MAX_SEGMENT_BYTES));
        self.muxer.write_tables(&mut buf);
        if let Err(e) = self.muxer.write_frame(frame, &mut buf) {
            tracing::debug!(error = %e, "frame left out of HLS");
            self.skipped_frames += 1;
            return;
        }
        self.open = Some(OpenSegment {
            start_ts: frame.timestamp,
            last_ts: frame.timestamp,
            discontinuity: std::mem::take(&mut self.pending_discontinuity),
            buf,
        });
    }

    /// Finishes the open segment. Its duration runs to `end_ts` (the frame that starts
    /// the next one) or, when the stream stops or jumps, to its own last frame.
    fn close(&mut self, end_ts: Option<u32>) {
        let Some(open) = self.open.take() else {
            return;
        };
        let end = end_ts.unwrap_or(open.last_ts);
        let duration_ms = u64::try_from(end.wrapping_sub(open.start_ts) as i32).unwrap_or(0);
        self.segments.push_back(Segment {
            sequence: self.next_sequence,
            duration_ms,
            discontinuity: open.discontinuity,
            data: open.buf.freeze(),
        });
        self.next_sequence += 1;

        let window = self.config.window;
        if self.segments.len() > window {
            // Exactly one segment left the playlist with this one's arrival.
            let left = &self.segments[self.segments.len() - 1 - window];
            if left.discontinuity {
                self.discontinuity_sequence += 1;
            }
        }
        while self.segments.len() > 2 * window {
            self.segments.pop_front();
        }
        self.render();
    }

    fn render(&mut self) {
        if self.segments().next().is_none() {
            self.playlist = None;
            return;
        }
        let header = PlaylistHeader {
            target_duration_ms: self.config.target_duration_ms,
            discontinuity_sequence: self.discontinuity_sequence,
            ended: self.ended,
        };
        self.playlist = Some(playlist::render(&header, self.segments()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flv::testdata::*;
    use crate::ts::PACKET_SIZE;

    fn video_seq_header() -> Frame {
        let mut body = vec![0x17, 0, 0, 0, 0];
        body.extend_from_slice(&baseline_record());
        Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::from(body),
        }
    }

    fn audio_seq_header() -> Frame {
        let mut body = vec![0xAF, 0];
        body.extend_from_slice(&ASC_LC_44100_MONO);
        Frame {
            kind: FrameKind::Audio,
            timestamp: 0,
            payload: Bytes::from(body),
        }
    }

    fn video(timestamp: u32, key: bool) -> Frame {
        let nal: &[u8] = if key {
            &[0x65, 0x88, 0x84]
        } else {
            &[0x41, 0x9A]
        };
        let mut body = vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, 0];
        body.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        body.extend_from_slice(nal);
        Frame {
            kind: FrameKind::Video,
            timestamp,
            payload: Bytes::from(body),
        }
    }

    fn audio(timestamp: u32) -> Frame {
        Frame {
            kind: FrameKind::Audio,
            timestamp,
            payload: Bytes::from_static(&[0xAF, 1, 0x21, 0x10]),
        }
    }

    /// 25 fps video with a keyframe every `gop` frames, and audio every 23 ms.
    fn feed(s: &mut Segmenter, from_ms: u32, to_ms: u32, gop: u32) {
        let mut a = from_ms;
        let mut v = from_ms;
        while v < to_ms {
            while a <= v {
                s.push(&audio(a));
                a += 23;
            }
            s.push(&video(v, (v / 40).is_multiple_of(gop)));
            v += 40;
        }
    }

    fn av_segmenter(config: SegmenterConfig) -> Segmenter {
        let mut s = Segmenter::new(config);
        s.push(&video_seq_header());
        s.push(&audio_seq_header());
        s
    }

    #[test]
    fn segments_cut_at_the_first_keyframe_after_the_target() {
        let mut s = av_segmenter(SegmenterConfig::default());
        // Keyframes every 1.2 s: cuts land at 2.4 s, 4.8 s, 7.2 s.
        feed(&mut s, 0, 8000, 30);
        let durations: Vec<u64> = s.segments().map(|s| s.duration_ms).collect();
        assert_eq!(durations, vec![2400, 2400, 2400]);
        for seg in s.segments() {
            assert_eq!(seg.data.len() % PACKET_SIZE, 0);
            assert_eq!(seg.data[0], 0x47);
            // PAT first, then PMT.
            assert_eq!(&seg.data[1..3], &[0x40, 0x00]);
            assert_eq!(&seg.data[PACKET_SIZE + 1..PACKET_SIZE + 3], &[0x50, 0x00]);
        }
        let playlist = s.playlist().unwrap();
        assert!(playlist.contains("#EXT-X-TARGETDURATION:3\n"));
        assert!(playlist.contains("#EXT-X-MEDIA-SEQUENCE:0\n"));
        assert!(playlist.contains("#EXTINF:2.400,\nseg-2.ts\n"));
    }

    #[test]
    fn nothing_is_listed_until_a_segment_is_complete() {
        let mut s = av_segmenter(SegmenterConfig::default());
        assert_eq!(s.playlist(), None);
        feed(&mut s, 0, 1900, 25);
        assert_eq!(s.playlist(), None);
        assert_eq!(s.segment("seg-0.ts"), None);
    }

    #[test]
    fn frames_before_the_first_keyframe_are_dropped() {
        let mut s = av_segmenter(SegmenterConfig::default());
        s.push(&audio(0));
        s.push(&video(0, false));
        assert_eq!(s.skipped_frames(), 2);
        s.push(&video(40, true));
        feed(&mut s, 80, 2100, 50);
        s.push(&video(2100, true));
        let first = s.segments().next().unwrap();
        assert_eq!(first.duration_ms, 2060);
    }

    #[test]
    fn the_window_slides_and_the_media_sequence_follows() {
        let mut s = av_segmenter(SegmenterConfig {
            target_duration_ms: 1000,
            window: 3,
        });
        feed(&mut s, 0, 10_100, 25);
        let listed: Vec<u64> = s.segments().map(|s| s.sequence).collect();
        assert_eq!(listed, vec![7, 8, 9]);
        let playlist = s.playlist().unwrap();
        assert!(playlist.contains("#EXT-X-MEDIA-SEQUENCE:7\n"));
        assert!(!playlist.contains("seg-6.ts"));
        // Recently removed segments are still served, older ones are gone.
        assert!(s.segment("seg-6.ts").is_some());
        assert!(s.segment("seg-4.ts").is_some());
        assert!(s.segment("seg-3.ts").is_none());
        assert!(s.segment("seg-10.ts").is_none());
        assert!(s.segment("index.m3u8").is_none());
        assert_eq!(
            s.segment("seg-9.ts"),
            s.segments().last().map(|s| s.data.clone())
        );
    }

    #[test]
    fn audio_only_streams_cut_on_time() {
        let mut s = Segmenter::new(SegmenterConfig::default());
        s.push(&audio_seq_header());
        let mut t = 0;
        while t < 6100 {
            s.push(&audio(t));
            t += 23;
        }
        let durations: Vec<u64> = s.segments().map(|s| s.duration_ms).collect();
        assert_eq!(durations.len(), 3);
        assert!(
            durations.iter().all(|&d| (2000..2023).contains(&d)),
            "{durations:?}"
        );
    }

    #[test]
    fn reconnect_marks_a_discontinuity_and_needs_new_headers() {
        let mut s = av_segmenter(SegmenterConfig {
            target_duration_ms: 1000,
            window: 6,
        });
        feed(&mut s, 0, 2100, 25);
        s.discontinuity();
        // Without sequence headers the new publisher's frames cannot be muxed...
        s.push(&video(2200, true));
        s.push(&audio(2200));
        // ...so the segment starts only once they arrive.
        s.push(&video_seq_header());
        s.push(&audio_seq_header());
        feed(&mut s, 2200, 4300, 25);
        let playlist = s.playlist().unwrap();
        assert!(
            playlist.contains("#EXT-X-DISCONTINUITY\n#EXTINF:1.000,\nseg-3.ts\n"),
            "{playlist}"
        );
        assert_eq!(playlist.matches("#EXT-X-DISCONTINUITY\n").count(), 1);
        // The segment closed by the reconnect runs to its last frame (2000 to 2080 ms).
        let closed = s.segments().nth(2).unwrap();
        assert_eq!(closed.duration_ms, 80);
    }

    #[test]
    fn new_parameter_sets_mark_a_discontinuity_and_the_same_ones_do_not() {
        let mut s = av_segmenter(SegmenterConfig {
            target_duration_ms: 1000,
            window: 10,
        });
        feed(&mut s, 0, 2100, 25);
        // The same sequence header again (a keyframe's repeat): nothing changes.
        s.push(&video_seq_header());
        feed(&mut s, 2100, 4100, 25);
        assert!(!s.playlist().unwrap().contains("#EXT-X-DISCONTINUITY\n"));
        // Another resolution's (here another level): the next segment starts anew.
        let mut other = video_seq_header();
        let mut body = other.payload.to_vec();
        body[8] = 0x1F;
        other.payload = Bytes::from(body);
        s.push(&other);
        feed(&mut s, 4100, 6100, 25);
        let playlist = s.playlist().unwrap();
        assert_eq!(
            playlist.matches("#EXT-X-DISCONTINUITY\n").count(),
            1,
            "{playlist}"
        );
    }

    #[test]
    fn discontinuity_sequence_counts_discontinuities_that_left_the_playlist() {
        let mut s = av_segmenter(SegmenterConfig {
            target_duration_ms: 1000,
            window: 2,
        });
        feed(&mut s, 0, 1100, 25);
        s.discontinuity();
        s.push(&video_seq_header());
        s.push(&audio_seq_header());
        feed(&mut s, 1200, 5300, 25);
        let playlist = s.playlist().unwrap();
        assert!(
            playlist.contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n"),
            "{playlist}"
        );
        assert!(!playlist.contains("#EXT-X-DISCONTINUITY\n"));
    }

    #[test]
    fn timeline_jump_is_a_discontinuity() {
        let mut s = av_segmenter(SegmenterConfig {
            target_duration_ms: 1000,
            window: 6,
        });
        feed(&mut s, 0, 1100, 25);
        feed(&mut s, 60_000, 61_100, 25);
        s.push(&video(61_200, true));
        let segs: Vec<&Segment> = s.segments().collect();
        assert!(segs.iter().all(|s| s.duration_ms <= 1100), "{segs:?}");
        assert!(segs.iter().any(|s| s.discontinuity));
    }

    #[test]
    fn end_of_stream_closes_the_playlist() {
        let mut s = av_segmenter(SegmenterConfig::default());
        feed(&mut s, 0, 1000, 25);
        s.end_of_stream();
        let playlist = s.playlist().unwrap();
        assert!(playlist.ends_with("#EXT-X-ENDLIST\n"));
        assert!(playlist.contains("#EXTINF:0.960,\nseg-0.ts\n"));
        // Publishing again continues the playlist after a discontinuity.
        s.push(&video_seq_header());
        s.push(&audio_seq_header());
        feed(&mut s, 5000, 7100, 25);
        let playlist = s.playlist().unwrap();
        assert!(!playlist.contains("#EXT-X-ENDLIST"));
        assert!(
            playlist.contains("#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\nseg-1.ts\n"),
            "{playlist}"
        );
    }

    #[test]
    fn stream_without_keyframes_is_still_cut_eventually() {
        let mut s = av_segmenter(SegmenterConfig::default());
        s.push(&video(0, true));
        let mut t = 40;
        while t <= 10_040 {
            s.push(&video(t, false));
            t += 40;
        }
        assert_eq!(s.segments().count(), 1);
        assert_eq!(s.segments().next().unwrap().duration_ms, 10_000);
    }

    #[test]
    fn other_codecs_are_skipped_not_segmented() {
        let mut s = Segmenter::new(SegmenterConfig::default());
        let hevc = Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::from_static(&[0x1C, 1, 0, 0, 0]),
        };
        let mp3 = Frame {
            kind: FrameKind::Audio,
            timestamp: 0,
            payload: Bytes::from_static(&[0x2F, 0xFF]),
        };
        s.push(&hevc);
        s.push(&mp3);
        s.push(&Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::new(),
        });
        assert_eq!(s.skipped_frames(), 3);
        assert_eq!(s.playlist(), None);
    }
}
