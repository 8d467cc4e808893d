//! Cutting RTMP messages into chunks.
//!
//! Two ways, for two kinds of traffic:
//!
//! * [`ChunkEncoder`] keeps per-chunk-stream state like the decoder at the other end and
//!   picks the smallest header (type 1, 2 or 3) each message allows. It suits one
//!   connection's own traffic: control messages, command replies.
//! * [`encode_standalone`] uses a type 0 header on the first chunk and type 3 on the
//!   rest, so its bytes depend on nothing the receiver saw before. That is what lets the
//!   hub encode a media frame **once** and hand the same `Bytes` to every player, whose
//!   connections have each seen different messages (a player that fell behind skipped
//!   some). The price is 7 to 10 header bytes per message over a type 1/2 header —
//!   about 0.1% of a typical video frame — against one encode per viewer otherwise.
//!
//! The two must not share a chunk stream id on one connection: a standalone type 0
//! resets the receiver's state for its csid behind the stateful encoder's back.
//!
//! Cost per message: one allocation of payload + headers, one copy of the payload.

use bytes::{BufMut, Bytes, BytesMut};

use super::{ChunkError, Message, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MAX_MESSAGE_LEN};

const EXTENDED: u32 = 0xFF_FFFF;

/// What the encoder last told the receiver about one chunk stream.
#[derive(Debug)]
struct SentStream {
    csid: u32,
    timestamp: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    /// The delta a type 3 header would repeat: `None` after a type 0 header, where
    /// receivers disagree on what a type 3 means, so one is never sent there.
    delta: Option<u32>,
}

/// Encodes messages for one connection, compressing headers against what it sent
/// before on each chunk stream.
#[derive(Debug)]
pub struct ChunkEncoder {
    chunk_size: u32,
    streams: Vec<SentStream>,
}

impl Default for ChunkEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkEncoder {
    /// An encoder at the initial chunk size of 128.
    pub fn new() -> Self {
        ChunkEncoder {
            chunk_size: DEFAULT_CHUNK_SIZE,
            streams: Vec::new(),
        }
    }

    /// The chunk size in use.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Changes the chunk size for the following messages. Send the Set Chunk Size
    /// message (encoded at the old size) first, then call this.
    pub fn set_chunk_size(&mut self, size: u32) -> Result<(), ChunkError> {
        if size == 0 || size > MAX_CHUNK_SIZE {
            return Err(ChunkError::InvalidChunkSize(size));
        }
        self.chunk_size = size;
        Ok(())
    }

    /// Appends `message`, cut into chunks, to `out`.
    pub fn encode(&mut self, message: &Message, out: &mut BytesMut) -> Result<(), ChunkError> {
        let length = check(message)?;
        let index = self.streams.iter().position(|s| s.csid == message.csid);
        let (fmt, field) = match index.map(|i| &self.streams[i]) {
            Some(prev)
                if prev.stream_id == message.stream_id && message.timestamp >= prev.timestamp =>
            {
                let delta = message.timestamp - prev.timestamp;
                if prev.length != length || prev.type_id != message.type_id {
                    (1, delta)
                } else if prev.delta == Some(delta) {
                    (3, delta)
                } else {
                    (2, delta)
                }
            }
            _ => (0, message.timestamp),
        };
        let state = SentStream {
            csid: message.csid,
            timestamp: message.timestamp,
            length,
            type_id: message.type_id,
            stream_id: message.stream_id,
            delta: (fmt != 0).then_some(field),
        };
        match index {
            Some(i) => self.streams[i] = state,
            None => self.streams.push(state),
        }
        write_chunks(message, fmt, field, self.chunk_size, out);
        Ok(())
    }
}

/// Encodes `message` with a type 0 header and type 3 continuations, independent of any
/// connection's state, so the result can be sent as is to every connection that uses
/// `chunk_size` and does not otherwise use `message.csid`.
pub fn encode_standalone(message: &Message, chunk_size: u32) -> Result<Bytes, ChunkError> {
    check(message)?;
    if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
        return Err(ChunkError::InvalidChunkSize(chunk_size));
    }
    let mut out = BytesMut::new();
    write_chunks(message, 0, message.timestamp, chunk_size, &mut out);
    Ok(out.freeze())
}

fn check(message: &Message) -> Result<u32, ChunkError> {
    if !(2..=65599).contains(&message.csid) {
        return Err(ChunkError::InvalidChunkStreamId(message.csid));
    }
    match u32::try_from(message.payload.len()) {
        Ok(len) if len <= MAX_MESSAGE_LEN => Ok(len),
        _ => Err(ChunkError::MessageTooLong(
            u32::try_from(message.payload.len()).unwrap_or(u32::MAX),
        )),
    }
}

/// Writes the first chunk with a `fmt` header carrying `field` (timestamp or delta),
/// then type 3 chunks for the rest, repeating the extended timestamp when there is one.
fn write_chunks(message: &Message, fmt: u8, field: u32, chunk_size: u32, out: &mut BytesMut) {
    let payload = &message.payload[..];
    let chunk_size = chunk_size as usize;
    let extended = field >= EXTENDED;
    let chunks = payload.len().div_ceil(chunk_size).max(1);
    let ext_len = if extended { 4 } else { 0 };
    out.reserve(payload.len() + 18 + (chunks - 1) * (3 + ext_len));

    put_basic_header(fmt, message.csid, out);
    if fmt <= 2 {
        put_u24(field.min(EXTENDED), out);
    }
    if fmt <= 1 {
        put_u24(payload.len() as u32, out);
        out.put_u8(message.type_id);
    }
    if fmt == 0 {
        out.put_u32_le(message.stream_id);
    }
    if extended {
        out.put_u32(field);
    }
    let mut pieces = payload.chunks(chunk_size);
    out.put_slice(pieces.next().unwrap_or_default());
    for piece in pieces {
        put_basic_header(3, message.csid, out);
        if extended {
            out.put_u32(field);
        }
        out.put_slice(piece);
    }
}

fn put_basic_header(fmt: u8, csid: u32, out: &mut BytesMut) {
    let fmt = fmt << 6;
    match csid {
        2..=63 => out.put_u8(fmt | csid as u8),
        64..=319 => out.put_slice(&[fmt, (csid - 64) as u8]),
        _ => {
            let id = csid - 64;
            out.put_slice(&[fmt | 1, id as u8, (id >> 8) as u8]);
        }
    }
}

fn put_u24(v: u32, out: &mut BytesMut) {
    out.put_slice(&v.to_be_bytes()[1..]);
}

#[cfg(test)]
mod tests {
    use super::super::{ChunkDecoder, ChunkLimits};
    use super::*;

    fn msg(csid: u32, timestamp: u32, type_id: u8, stream_id: u32, len: usize) -> Message {
        Message {
            csid,
            timestamp,
            type_id,
            stream_id,
            payload: (0..len).map(|i| (i * 31 + csid as usize) as u8).collect(),
        }
    }

    fn sample_messages() -> Vec<Message> {
        vec![
            msg(2, 0, 1, 0, 4),
            msg(3, 0, 20, 0, 180),
            msg(6, 0, 8, 1, 7),
            msg(6, 23, 8, 1, 7),            // type 2
            msg(6, 46, 8, 1, 7),            // type 3
            msg(6, 69, 8, 1, 9),            // type 1
            msg(7, 0, 9, 1, 5000),          // many chunks
            msg(7, 40, 9, 1, 0),            // empty
            msg(7, 30, 9, 1, 10),           // backwards: type 0
            msg(7, 0x0100_0000, 9, 1, 300), // extended absolute
            msg(7, 0x0200_0000, 9, 1, 300), // extended delta on type 2
            msg(7, 0x0300_0000, 9, 1, 300), // type 3 with extended delta
            msg(64, 5, 18, 1, 3),
            msg(320, 5, 18, 1, 3),
            msg(65599, 5, 18, 2, 200),
            msg(6, 100, 8, 2, 7), // other stream id: type 0
        ]
    }

    fn round_trip(messages: &[Message], chunk_size: u32, split: usize) -> Vec<Message> {
        let mut encoder = ChunkEncoder::new();
        encoder.set_chunk_size(chunk_size).unwrap();
        let mut wire = BytesMut::new();
        for m in messages {
            encoder.encode(m, &mut wire).unwrap();
        }
        let mut decoder = ChunkDecoder::new(ChunkLimits::default());
        decoder.set_chunk_size(chunk_size).unwrap();
        let mut out = Vec::new();
        for piece in wire.chunks(split) {
            decoder.push(piece).unwrap();
            while let Some(m) = decoder.poll().unwrap() {
                out.push(m);
            }
        }
        out
    }

    #[test]
    fn encoded_messages_decode_to_the_same_messages_at_any_chunk_size() {
        let messages = sample_messages();
        for chunk_size in [1, 2, 7, 128, 4096, 65536, MAX_CHUNK_SIZE] {
            for split in [1, 13, 1 << 20] {
                if chunk_size == 1 && split == 1 {
                    continue; // slow and adds nothing
                }
                assert_eq!(
                    round_trip(&messages, chunk_size, split),
                    messages,
                    "chunk size {chunk_size}, split {split}"
                );
            }
        }
    }

    #[test]
    fn headers_shrink_when_only_the_timestamp_moves() {
        let mut encoder = ChunkEncoder::new();
        let mut out = BytesMut::new();
        encoder.encode(&msg(6, 0, 8, 1, 4), &mut out).unwrap();
        assert_eq!(out.len(), 12 + 4);
        assert_eq!(out[0] >> 6, 0);
        out.clear();
        encoder.encode(&msg(6, 23, 8, 1, 4), &mut out).unwrap();
        assert_eq!((out[0] >> 6, out.len()), (2, 4 + 4));
        out.clear();
        encoder.encode(&msg(6, 46, 8, 1, 4), &mut out).unwrap();
        assert_eq!((out[0] >> 6, out.len()), (3, 1 + 4));
        out.clear();
        encoder.encode(&msg(6, 50, 8, 1, 5), &mut out).unwrap();
        assert_eq!((out[0] >> 6, out.len()), (1, 8 + 5));
    }

    #[test]
    fn type3_never_follows_type0_for_a_new_message() {
        let mut encoder = ChunkEncoder::new();
        let mut out = BytesMut::new();
        encoder.encode(&msg(6, 10, 8, 1, 4), &mut out).unwrap();
        out.clear();
        encoder.encode(&msg(6, 10, 8, 1, 4), &mut out).unwrap();
        assert_eq!(out[0] >> 6, 2);
    }

    #[test]
    fn continuation_chunks_repeat_the_extended_timestamp() {
        let m = msg(6, 0x0123_4567, 8, 1, 200);
        let bytes = encode_standalone(&m, 128).unwrap();
        assert_eq!(&bytes[1..4], &[0xFF, 0xFF, 0xFF]);
        assert_eq!(&bytes[12..16], &0x0123_4567u32.to_be_bytes());
        let second = 16 + 128;
        assert_eq!(bytes[second], 0xC6);
        assert_eq!(
            &bytes[second + 1..second + 5],
            &0x0123_4567u32.to_be_bytes()
        );
        assert_eq!(bytes.len(), 16 + 128 + 5 + 72);
    }

    #[test]
    fn standalone_bytes_decode_the_same_whatever_came_before() {
        let frames = [msg(6, 1000, 8, 1, 300), msg(6, 1023, 8, 1, 300)];
        let shared: Vec<Bytes> = frames
            .iter()
            .map(|m| encode_standalone(m, 128).unwrap())
            .collect();
        // One viewer got both, another only the second: both decode what was sent.
        for start in 0..2 {
            let mut decoder = ChunkDecoder::default();
            for bytes in &shared[start..] {
                decoder.push(bytes).unwrap();
            }
            let mut got = Vec::new();
            while let Some(m) = decoder.poll().unwrap() {
                got.push(m);
            }
            assert_eq!(got, frames[start..]);
        }
    }

    #[test]
    fn unusable_csids_and_oversized_messages_are_refused() {
        let mut encoder = ChunkEncoder::new();
        let mut out = BytesMut::new();
        for csid in [0, 1, 65600] {
            assert_eq!(
                encoder.encode(&msg(csid, 0, 8, 1, 1), &mut out),
                Err(ChunkError::InvalidChunkStreamId(csid))
            );
        }
        let big = msg(6, 0, 9, 1, MAX_MESSAGE_LEN as usize + 1);
        assert_eq!(
            encode_standalone(&big, 4096),
            Err(ChunkError::MessageTooLong(MAX_MESSAGE_LEN + 1))
        );
        assert_eq!(
            encoder.set_chunk_size(0),
            Err(ChunkError::InvalidChunkSize(0))
        );
    }
}
