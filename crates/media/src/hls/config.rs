//! The knobs of a live HLS stream.

/// How a [`Segmenter`](super::Segmenter) cuts and how many segments it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmenterConfig {
    /// Shortest segment, in milliseconds: a new segment starts at the first keyframe
    /// after this much media. Players start about three segments behind live, so this is
    /// the main latency knob; it cannot be shorter than the publisher's keyframe
    /// interval. Default 2000.
    pub target_duration_ms: u64,
    /// Segments listed in the playlist. Default 6 (12 s at the default target, above the
    /// three target durations RFC 8216 asks a live playlist to span). As many again are
    /// kept after they leave the playlist, for players still reading an older one.
    pub window: usize,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        SegmenterConfig {
            target_duration_ms: 2_000,
            window: 6,
        }
    }
}
