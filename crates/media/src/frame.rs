//! A media frame: the unit that flows from a publisher to every viewer.

use bytes::Bytes;

/// What a frame carries; the values are the RTMP message type ids, which are also the
/// FLV tag types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// RTMP message type 8 / FLV tag type 8.
    Audio,
    /// RTMP message type 9 / FLV tag type 9.
    Video,
    /// AMF0 data (`onMetaData`): RTMP message type 18 / FLV tag type 18.
    Script,
}

impl FrameKind {
    /// The RTMP message type id / FLV tag type.
    pub fn type_id(self) -> u8 {
        match self {
            FrameKind::Audio => 8,
            FrameKind::Video => 9,
            FrameKind::Script => 18,
        }
    }

    pub fn from_type_id(id: u8) -> Option<FrameKind> {
        match id {
            8 => Some(FrameKind::Audio),
            9 => Some(FrameKind::Video),
            18 => Some(FrameKind::Script),
            _ => None,
        }
    }
}

/// One frame, as an RTMP message body or FLV tag body (the same bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: FrameKind,
    /// Milliseconds on the stream's timeline (RTMP timestamps are 32-bit and wrap).
    pub timestamp: u32,
    /// The body: for video, the FLV VIDEODATA (frame type and codec id first, or the
    /// Enhanced RTMP header); for audio, AUDIODATA; for script, AMF0 values.
    pub payload: Bytes,
}
