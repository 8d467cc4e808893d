//! Writing FLV: the file header once per viewer, then one tag per frame.
//!
//! Cost: [`encode_tag`] runs once per frame, whatever the number of viewers, and makes
//! exactly one allocation (header + body + trailing size, sized up front). The result is
//! shared `Bytes` that every HTTP-FLV and WebSocket-FLV viewer's queue clones by
//! reference count.

use bytes::{BufMut, Bytes, BytesMut};

use crate::frame::Frame;

/// Length of the FLV file header, which is also its DataOffset field.
pub const HEADER_LEN: usize = 9;
/// Length of an FLV tag header (type, data size, timestamp, stream id).
pub const TAG_HEADER_LEN: usize = 11;
/// Length of the PreviousTagSize field that follows every tag (and the header).
pub const PREVIOUS_TAG_SIZE_LEN: usize = 4;
/// The largest body a tag can carry: its DataSize field is 24 bits.
pub const MAX_TAG_BODY: usize = 0x00FF_FFFF;

/// The FLV file header: what a player reads before the first tag.
///
/// The audio and video flags are hints that players such as flv.js use to decide which
/// decoders to set up; say only what the stream really carries, or a player may wait
/// for a track that never comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlvHeader {
    pub has_audio: bool,
    pub has_video: bool,
}

impl FlvHeader {
    /// The 9-byte header followed by PreviousTagSize0 (always zero): the 13 bytes an
    /// HTTP-FLV response or a recording starts with.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(HEADER_LEN + PREVIOUS_TAG_SIZE_LEN);
        out.put_slice(b"FLV");
        out.put_u8(1);
        out.put_u8(u8::from(self.has_audio) << 2 | u8::from(self.has_video));
        out.put_u32(HEADER_LEN as u32);
        out.put_u32(0);
        out.freeze()
    }
}

/// One frame as an FLV tag: the 11-byte tag header, the body, and the PreviousTagSize
/// that closes it.
///
/// The timestamp is split as FLV wants it: the low 24 bits, then the high 8 bits in the
/// "extended" byte, so the full 32-bit RTMP timestamp survives. The stream id is always 0.
///
/// A body longer than the 24-bit DataSize can express cannot come from RTMP (whose
/// message length is 24-bit too) nor from [`FlvReader`](super::FlvReader); should one
/// appear anyway, the tag is dropped (empty `Bytes`, nothing to write) rather than
/// written with a wrong size that would desynchronise every viewer.
pub fn encode_tag(frame: &Frame) -> Bytes {
    let body = &frame.payload;
    if body.len() > MAX_TAG_BODY {
        tracing::warn!(size = body.len(), "frame too large for an FLV tag; dropped");
        return Bytes::new();
    }
    let tag_size = TAG_HEADER_LEN + body.len();
    let mut out = BytesMut::with_capacity(tag_size + PREVIOUS_TAG_SIZE_LEN);
    out.put_u8(frame.kind.type_id());
    put_u24(&mut out, body.len() as u32);
    put_u24(&mut out, frame.timestamp & 0x00FF_FFFF);
    out.put_u8((frame.timestamp >> 24) as u8);
    put_u24(&mut out, 0);
    out.put_slice(body);
    out.put_u32(tag_size as u32);
    out.freeze()
}

fn put_u24(out: &mut BytesMut, v: u32) {
    out.put_slice(&v.to_be_bytes()[1..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::FrameKind;

    #[test]
    fn header_announces_only_the_tracks_present() {
        let both = FlvHeader {
            has_audio: true,
            has_video: true,
        }
        .encode();
        assert_eq!(&both[..], b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00");
        let video = FlvHeader {
            has_audio: false,
            has_video: true,
        }
        .encode();
        assert_eq!(video[4], 0x01);
        let audio = FlvHeader {
            has_audio: true,
            has_video: false,
        }
        .encode();
        assert_eq!(audio[4], 0x04);
    }

    #[test]
    fn tag_carries_the_full_32_bit_timestamp_and_closing_size() {
        let frame = Frame {
            kind: FrameKind::Video,
            timestamp: 0x1234_5678,
            payload: Bytes::from_static(&[0x17, 0x01, 0, 0, 0, 0xAA]),
        };
        let tag = encode_tag(&frame);
        assert_eq!(tag.len(), 11 + 6 + 4);
        assert_eq!(tag[0], 9);
        assert_eq!(&tag[1..4], &[0, 0, 6]);
        assert_eq!(&tag[4..7], &[0x34, 0x56, 0x78]);
        assert_eq!(tag[7], 0x12);
        assert_eq!(&tag[8..11], &[0, 0, 0]);
        assert_eq!(&tag[11..17], &frame.payload[..]);
        assert_eq!(&tag[17..], &17u32.to_be_bytes());
    }

    #[test]
    fn oversized_frame_is_dropped_not_written_with_a_wrong_size() {
        let frame = Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::from(vec![0; MAX_TAG_BODY + 1]),
        };
        assert!(encode_tag(&frame).is_empty());
    }
}
