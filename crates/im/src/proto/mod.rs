//! The chat wire protocol: goim's packet, in binary and as JSON. Sans-IO: bytes in,
//! [`Packet`]s out, and back; no socket, no clock, no state between calls.
//!
//! A goim packet is a 16-byte big-endian header and a body:
//!
//! ```text
//! 0       4     6     8          12         16
//! +-------+-----+-----+----------+----------+--------------
//! | plen  | 16  | ver | op       | seq      | body (plen − 16 bytes)
//! | u32   | u16 | u16 | u32      | u32      |
//! +-------+-----+-----+----------+----------+--------------
//! ```
//!
//! `plen` counts the header and the body. A binary WebSocket frame holds one or more
//! packets back to back ([`binary`]). Simple clients send text frames instead, one packet
//! each as `{"op": 7, "seq": 1, "body": {...}}` ([`text`]). The operation numbers are in
//! [`op`]; the JSON bodies the gateway understands are in [`body`]. `docs/protocol.md` is
//! the page for client authors.
//!
//! Decoding is written for hostile input: every length is checked against what is left
//! of the frame before anything is read or allocated, a frame decodes completely or not
//! at all, and what a frame may cost is bounded by [`Limits`].

pub mod binary;
pub mod body;
pub mod error;
pub mod op;
pub mod stream;
pub mod text;

pub use binary::{
    decode_frame, decode_frame_bytes, encode, encode_to_bytes, heartbeat_reply_body, raw_batch,
    walk_frame, PacketAt,
};
pub use body::{parse_room, AuthBody, ChangeRoomBody, ErrorBody, OpsBody, SendMsgBody};
pub use error::ProtoError;
pub use stream::StreamDecoder;
pub use text::{decode_text, encode_text, heartbeat_reply_json};

use bytes::Bytes;

/// Length of a packet header, and the only value its header-length field may hold.
pub const HEADER_LEN: usize = 16;

/// The protocol version momo writes. goim clients send 1; decoding keeps whatever a
/// client sent, since goim never gave the field a meaning.
pub const VERSION: u16 = 1;

/// Room ids travel as `live://{id}`, as in goim's auth body.
pub const ROOM_PREFIX: &str = "live://";

/// One goim packet: an operation, the client's sequence number, and a body.
///
/// `seq` is chosen by the client and echoed in the reply, so a client can match replies
/// to requests; server pushes carry 0. The body is JSON for every operation except the
/// binary heartbeat reply (a 4-byte online count) and the RAW batch (packets back to
/// back). `Bytes`, so a body decoded from a frame or encoded once for a room is shared,
/// not copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Protocol version; [`VERSION`] in what momo sends.
    pub ver: u16,
    /// Operation, one of [`op`]'s numbers (or 1000 and above for pushed messages).
    pub op: u32,
    /// Sequence number: the client's, echoed in replies; 0 in pushes.
    pub seq: u32,
    /// The body, usually JSON.
    pub body: Bytes,
}

impl Packet {
    /// A packet of the current [`VERSION`].
    pub fn new(op: u32, seq: u32, body: impl Into<Bytes>) -> Packet {
        Packet {
            ver: VERSION,
            op,
            seq,
            body: body.into(),
        }
    }

    /// Its length on the wire in binary form: header plus body.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.body.len()
    }
}

/// What one client frame may cost the server.
///
/// The defaults suit chat: 4 KiB is several times the longest danmaku or auth body, and
/// 64 packets per frame is more than any client batches. The WebSocket layer should refuse
/// frames longer than [`Limits::max_binary_frame`] / [`Limits::max_text_frame`] before
/// they are even buffered; the decoders check again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest body of one packet, in bytes (for JSON, the body's text as sent).
    pub max_body: usize,
    /// Most packets one binary frame may hold.
    pub max_packets_per_frame: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 4096,
            max_packets_per_frame: 64,
        }
    }
}

/// Room a JSON text frame has beyond its body: `{"op":4294967295,"seq":4294967295,"body":}`
/// is 44 bytes; the rest is slack for whitespace and fields a client library adds.
pub const TEXT_ENVELOPE: usize = 256;

impl Limits {
    /// The longest binary frame that can decode: every packet at the largest body.
    pub fn max_binary_frame(&self) -> usize {
        self.max_packets_per_frame
            .saturating_mul(HEADER_LEN.saturating_add(self.max_body))
    }

    /// The longest text frame [`decode_text`] reads; longer ones are refused unparsed.
    pub fn max_text_frame(&self) -> usize {
        self.max_body.saturating_add(TEXT_ENVELOPE)
    }
}
