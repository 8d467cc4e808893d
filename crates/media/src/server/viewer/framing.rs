//! How a frame looks on a viewer's wire: an FLV tag, or RTMP chunks on the stream the
//! player plays. Either way the bytes are the frame's shared encoding, made once for
//! every viewer of that framing ([`Packet`]); a viewer costs a reference count.

use bytes::Bytes;

use crate::hub::Packet;
use crate::rtmp::play::{encode_frame_for, PLAY_STREAM_ID};

/// Turns the hub's packets into a viewer's bytes.
pub(crate) trait Framing {
    fn frame(&self, packet: &Packet) -> Bytes;
}

/// FLV tags, for HTTP-FLV and WebSocket-FLV.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlvTags;

impl Framing for FlvTags {
    fn frame(&self, packet: &Packet) -> Bytes {
        packet.flv_tag().clone()
    }
}

/// RTMP chunks on message stream `stream_id`. On [`PLAY_STREAM_ID`] (nearly every
/// player) the shared encoding; on another id the player's own, made per frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RtmpChunks {
    pub stream_id: u32,
}

impl Framing for RtmpChunks {
    fn frame(&self, packet: &Packet) -> Bytes {
        if self.stream_id == PLAY_STREAM_ID {
            packet.rtmp_chunks().clone()
        } else {
            encode_frame_for(&packet.frame, self.stream_id).unwrap_or_default()
        }
    }
}
