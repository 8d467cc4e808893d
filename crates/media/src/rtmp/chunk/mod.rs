//! The RTMP chunk stream: how messages are cut into chunks and interleaved on one
//! connection, and put back together.
//!
//! Each chunk starts with a basic header (format and chunk stream id) and a message
//! header whose size depends on the format: type 0 carries everything, type 1 drops the
//! stream id, type 2 keeps only the timestamp delta, type 3 nothing. What a header leaves
//! out is taken from the previous chunk on the same chunk stream, so both ends keep a
//! little state per chunk stream id (csid). [`ChunkDecoder`] turns bytes into
//! [`Message`]s; [`ChunkEncoder`] and [`encode_standalone`] do the reverse.

mod decoder;
mod encoder;

pub use decoder::ChunkDecoder;
pub use encoder::{encode_standalone, ChunkEncoder};

use bytes::Bytes;

/// Chunk size both ends start with, until a Set Chunk Size message changes it.
pub const DEFAULT_CHUNK_SIZE: u32 = 128;

/// The largest chunk size accepted from a peer or for our own output. The spec caps
/// messages at 2^24 - 1 bytes, so chunks larger than that buy nothing; the spec also says
/// the top bit must be 0, which this limit implies.
pub const MAX_CHUNK_SIZE: u32 = 1 << 24;

/// The largest payload a message header can describe (24-bit length field).
pub const MAX_MESSAGE_LEN: u32 = 0xFF_FFFF;

/// One RTMP message: what the chunk layer delivers up and takes down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The chunk stream it travelled on (2..=65599). Only the chunk layer cares, but
    /// keeping it lets a caller answer on the same one.
    pub csid: u32,
    /// Absolute timestamp in milliseconds; deltas in compressed headers are already
    /// added. 32 bits, wrapping.
    pub timestamp: u32,
    /// Message type id (see [`crate::rtmp::message::type_id`]).
    pub type_id: u8,
    /// Message stream id: 0 for the connection, else a stream made by `createStream`.
    pub stream_id: u32,
    /// The body.
    pub payload: Bytes,
}

/// Limits that keep one hostile or broken peer from using unbounded memory. The
/// defaults fit every encoder we know of with a wide margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// The largest chunk size a peer may set (default and hard cap [`MAX_CHUNK_SIZE`]).
    pub max_chunk_size: u32,
    /// The largest message a peer may announce (default 16 MiB; the wire format itself
    /// stops at 16 MiB - 1). Lower it to cap the memory of a partial message.
    pub max_message_len: u32,
    /// How many distinct chunk stream ids a peer may use (default 64). Encoders use
    /// three to six; the state kept per id makes an unbounded number a memory leak.
    pub max_chunk_streams: usize,
    /// Bytes held at once: unparsed input plus partial messages on every chunk stream
    /// (default 32 MiB). Past it the peer is sending faster than it finishes messages.
    pub max_buffered: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_chunk_size: MAX_CHUNK_SIZE,
            max_message_len: 16 << 20,
            max_chunk_streams: 64,
            max_buffered: 32 << 20,
        }
    }
}

/// Why the chunk stream cannot go on; the connection should be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// A Set Chunk Size of 0, or beyond the limit (including any value with the top bit
    /// set, which the spec forbids).
    #[error("chunk size {0} is out of range")]
    InvalidChunkSize(u32),
    /// A message announced a length beyond [`ChunkLimits::max_message_len`], or a
    /// message to encode is longer than the 24-bit length field.
    #[error("message of {0} bytes is longer than allowed")]
    MessageTooLong(u32),
    /// More chunk stream ids than [`ChunkLimits::max_chunk_streams`].
    #[error("more than {0} chunk streams in use")]
    TooManyChunkStreams(usize),
    /// More bytes held than [`ChunkLimits::max_buffered`].
    #[error("more than {0} bytes buffered")]
    BufferFull(usize),
    /// A type 1, 2 or 3 header on a chunk stream that has had no type 0 header, so
    /// there is nothing to take the missing fields from.
    #[error("compressed chunk header on chunk stream {0} without a previous full header")]
    NoPreviousHeader(u32),
    /// A chunk stream id outside 2..=65599 when encoding (0 and 1 select the longer
    /// basic header forms and cannot be used as ids).
    #[error("chunk stream id {0} is not usable")]
    InvalidChunkStreamId(u32),
}
