//! Turning received bytes into whole RTMP messages.
//!
//! Cost: input is copied once into the decoder's buffer. A message that fits in one
//! chunk (most audio, and most video at the 4096-byte chunk size encoders pick) is then
//! split off that buffer without another copy; a longer message is copied once more as
//! its chunks are joined.
//!
//! Memory is bounded by [`ChunkLimits`]: the decoder never allocates for a message
//! length it has only been told about, only for bytes that actually arrived, and it
//! refuses input once unparsed bytes plus partial messages exceed `max_buffered`.

use bytes::{Buf, BytesMut};

use super::{ChunkError, ChunkLimits, Message, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE};

/// The timestamp field value that means "the real value follows in 4 more bytes".
const EXTENDED: u32 = 0xFF_FFFF;

/// First allocation for a message split over chunks, in chunks; it grows (doubling) with
/// what arrives.
const PARTIAL_START_CHUNKS: usize = 8;

/// What the decoder remembers per chunk stream id.
#[derive(Debug)]
struct ChunkStream {
    csid: u32,
    /// Absolute timestamp of the current (or last) message.
    timestamp: u32,
    /// Added to `timestamp` when a type 3 header starts a new message. Zero after a
    /// type 0 header: the spec leaves that case open, and repeating the timestamp is
    /// the reading that cannot make time jump.
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    /// The last type 0/1/2 header used an extended timestamp, so type 3 headers on this
    /// chunk stream carry one too.
    extended: bool,
    /// The message being put together, while some of its chunks are still to come.
    partial: Option<BytesMut>,
}

/// A chunk header that is complete in the input buffer, not yet applied.
#[derive(Debug)]
struct Header {
    fmt: u8,
    csid: u32,
    /// Basic header + message header + extended timestamp.
    len: usize,
    /// Timestamp (type 0) or delta (types 1, 2), extended value already substituted.
    timestamp: u32,
    extended: bool,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

/// Reassembles RTMP messages from chunk bytes: [`push`](Self::push) what the socket
/// gave, then [`poll`](Self::poll) until it returns `None`.
///
/// Protocol control messages that change decoding (Set Chunk Size, Abort) are returned
/// like any other message; the caller applies them with
/// [`set_chunk_size`](Self::set_chunk_size) and [`abort`](Self::abort) before polling
/// again, since the new chunk size applies from the very next chunk.
#[derive(Debug)]
pub struct ChunkDecoder {
    limits: ChunkLimits,
    chunk_size: u32,
    input: BytesMut,
    streams: Vec<ChunkStream>,
    /// Sum of the partial messages' lengths, for the buffering limit.
    partial_bytes: usize,
}

impl Default for ChunkDecoder {
    fn default() -> Self {
        Self::new(ChunkLimits::default())
    }
}

impl ChunkDecoder {
    /// A decoder at the protocol's initial chunk size of 128.
    pub fn new(limits: ChunkLimits) -> Self {
        ChunkDecoder {
            limits,
            chunk_size: DEFAULT_CHUNK_SIZE,
            input: BytesMut::new(),
            streams: Vec::new(),
            partial_bytes: 0,
        }
    }

    /// The chunk size the peer currently sends with.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Applies the peer's Set Chunk Size. Refuses 0 and anything above the limit, which
    /// includes every value with the top bit set.
    pub fn set_chunk_size(&mut self, size: u32) -> Result<(), ChunkError> {
        if size == 0 || size > self.limits.max_chunk_size.min(MAX_CHUNK_SIZE) {
            return Err(ChunkError::InvalidChunkSize(size));
        }
        self.chunk_size = size;
        Ok(())
    }

    /// Applies the peer's Abort message: the partial message on `csid`, if any, is
    /// dropped.
    pub fn abort(&mut self, csid: u32) {
        if let Some(stream) = self.streams.iter_mut().find(|s| s.csid == csid) {
            if let Some(partial) = stream.partial.take() {
                self.partial_bytes -= partial.len();
            }
        }
    }

    /// Bytes held: unparsed input plus partial messages.
    pub fn buffered(&self) -> usize {
        self.input.len() + self.partial_bytes
    }

    /// Adds received bytes. Fails, keeping nothing, if that would hold more than
    /// [`ChunkLimits::max_buffered`]; poll until `None` between pushes so that complete
    /// messages leave the buffer.
    pub fn push(&mut self, data: &[u8]) -> Result<(), ChunkError> {
        if self.buffered() + data.len() > self.limits.max_buffered {
            return Err(ChunkError::BufferFull(self.limits.max_buffered));
        }
        self.input.extend_from_slice(data);
        Ok(())
    }

    /// The next complete message, or `None` when more bytes are needed.
    pub fn poll(&mut self) -> Result<Option<Message>, ChunkError> {
        loop {
            let Some(header) = self.peek_header()? else {
                return Ok(None);
            };
            let index = self.streams.iter().position(|s| s.csid == header.csid);
            let existing = index.map(|i| &self.streams[i]);
            // Type 0/1/2 always start a message; type 3 continues one if one is open.
            let continues = header.fmt == 3 && existing.is_some_and(|s| s.partial.is_some());
            let length = match (header.fmt, existing) {
                (0 | 1, _) => header.length,
                (_, Some(s)) => s.length,
                (_, None) => return Err(ChunkError::NoPreviousHeader(header.csid)),
            };
            if length > self.limits.max_message_len {
                return Err(ChunkError::MessageTooLong(length));
            }
            let received = match existing {
                Some(s) if continues => s.partial.as_ref().map_or(0, BytesMut::len),
                _ => 0,
            };
            let body = (length as usize - received).min(self.chunk_size as usize);
            if self.input.len() < header.len + body {
                return Ok(None);
            }

            // The whole chunk is here: apply it.
            self.input.advance(header.len);
            let index = match index {
                Some(i) => i,
                None => {
                    self.streams.push(ChunkStream {
                        csid: header.csid,
                        timestamp: 0,
                        delta: 0,
                        length: 0,
                        type_id: 0,
                        stream_id: 0,
                        extended: false,
                        partial: None,
                    });
                    self.streams.len() - 1
                }
            };
            let stream = &mut self.streams[index];
            if !continues {
                start_message(stream, &header);
                if let Some(dropped) = stream.partial.take() {
                    // A new header in the middle of a message: the peer gave up on it.
                    tracing::debug!(csid = header.csid, "chunk stream restarted mid-message");
                    self.partial_bytes -= dropped.len();
                }
            }
            if !continues && body == length as usize {
                // Whole message in one chunk: hand out the input bytes without copying.
                let payload = self.input.split_to(body).freeze();
                return Ok(Some(message_of(stream, payload)));
            }
            // Room for a few chunks, not for the announced length: a peer that announces
            // 16 MiB on every chunk stream and sends one byte gets no 16 MiB buffers.
            let partial = stream.partial.get_or_insert_with(|| {
                BytesMut::with_capacity((length as usize).min(body * PARTIAL_START_CHUNKS))
            });
            partial.extend_from_slice(&self.input[..body]);
            self.input.advance(body);
            self.partial_bytes += body;
            if partial.len() == length as usize {
                let payload = stream.partial.take().unwrap_or_default().freeze();
                self.partial_bytes -= payload.len();
                return Ok(Some(message_of(stream, payload)));
            }
        }
    }

    /// Parses the chunk header at the front of the input without consuming it, or
    /// `None` if it is not all there yet.
    fn peek_header(&self) -> Result<Option<Header>, ChunkError> {
        let buf = &self.input[..];
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        let fmt = first >> 6;
        let (csid, basic_len) = match first & 0x3F {
            0 => match buf.get(1) {
                Some(&b1) => (64 + u32::from(b1), 2),
                None => return Ok(None),
            },
            1 => match (buf.get(1), buf.get(2)) {
                (Some(&b1), Some(&b2)) => (64 + u32::from(b1) + (u32::from(b2) << 8), 3),
                _ => return Ok(None),
            },
            n => (u32::from(n), 1),
        };
        let stream = self.streams.iter().find(|s| s.csid == csid);
        match (fmt, stream) {
            (0, None) if self.streams.len() >= self.limits.max_chunk_streams => {
                return Err(ChunkError::TooManyChunkStreams(
                    self.limits.max_chunk_streams,
                ))
            }
            (1..=3, None) => return Err(ChunkError::NoPreviousHeader(csid)),
            _ => {}
        }
        let message_header_len = [11, 7, 3, 0][usize::from(fmt)];
        let fixed_len = basic_len + message_header_len;
        if buf.len() < fixed_len {
            return Ok(None);
        }
        let h = &buf[basic_len..fixed_len];
        let mut header = Header {
            fmt,
            csid,
            len: fixed_len,
            timestamp: 0,
            extended: false,
            length: 0,
            type_id: 0,
            stream_id: 0,
        };
        if fmt <= 2 {
            header.timestamp = u24(&h[0..3]);
            header.extended = header.timestamp == EXTENDED;
        } else {
            // Type 3 repeats the extended timestamp of the header it inherits from.
            header.extended = stream.is_some_and(|s| s.extended);
        }
        if fmt <= 1 {
            header.length = u24(&h[3..6]);
            header.type_id = h[6];
        }
        if fmt == 0 {
            header.stream_id = u32::from_le_bytes([h[7], h[8], h[9], h[10]]);
        }
        if header.extended {
            let Some(ext) = buf.get(fixed_len..fixed_len + 4) else {
                return Ok(None);
            };
            header.len += 4;
            if fmt <= 2 {
                header.timestamp = u32::from_be_bytes([ext[0], ext[1], ext[2], ext[3]]);
            }
        }
        Ok(Some(header))
    }
}

/// Applies the header of a chunk that starts a new message.
fn start_message(stream: &mut ChunkStream, header: &Header) {
    match header.fmt {
        0 => {
            stream.timestamp = header.timestamp;
            stream.delta = 0;
            stream.stream_id = header.stream_id;
        }
        1 | 2 => {
            stream.delta = header.timestamp;
            stream.timestamp = stream.timestamp.wrapping_add(header.timestamp);
        }
        _ => stream.timestamp = stream.timestamp.wrapping_add(stream.delta),
    }
    if header.fmt <= 1 {
        stream.length = header.length;
        stream.type_id = header.type_id;
    }
    if header.fmt <= 2 {
        stream.extended = header.extended;
    }
}

fn message_of(stream: &ChunkStream, payload: bytes::Bytes) -> Message {
    Message {
        csid: stream.csid,
        timestamp: stream.timestamp,
        type_id: stream.type_id,
        stream_id: stream.stream_id,
        payload,
    }
}

fn u24(b: &[u8]) -> u32 {
    u32::from_be_bytes([0, b[0], b[1], b[2]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(decoder: &mut ChunkDecoder) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some(m) = decoder.poll().unwrap() {
            out.push(m);
        }
        out
    }

    /// A type 0 header on a one-byte basic header.
    fn type0(csid: u8, ts: u32, len: u32, type_id: u8, stream_id: u32) -> Vec<u8> {
        let mut h = vec![csid];
        h.extend_from_slice(&ts.min(EXTENDED).to_be_bytes()[1..]);
        h.extend_from_slice(&len.to_be_bytes()[1..]);
        h.push(type_id);
        h.extend_from_slice(&stream_id.to_le_bytes());
        if ts >= EXTENDED {
            h.extend_from_slice(&ts.to_be_bytes());
        }
        h
    }

    #[test]
    fn single_chunk_message_comes_out_whole() {
        let mut bytes = type0(3, 1000, 3, 20, 0);
        bytes.extend_from_slice(b"abc");
        let mut d = ChunkDecoder::default();
        d.push(&bytes).unwrap();
        let m = d.poll().unwrap().unwrap();
        assert_eq!(
            m,
            Message {
                csid: 3,
                timestamp: 1000,
                type_id: 20,
                stream_id: 0,
                payload: bytes::Bytes::from_static(b"abc")
            }
        );
        assert_eq!(d.poll().unwrap(), None);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn stream_id_is_little_endian() {
        let mut bytes = type0(4, 0, 0, 9, 1);
        assert_eq!(&bytes[8..12], &[1, 0, 0, 0]);
        bytes.clear();
        bytes.extend_from_slice(&type0(4, 0, 0, 9, 0x0102_0304));
        let mut d = ChunkDecoder::default();
        d.push(&bytes).unwrap();
        assert_eq!(d.poll().unwrap().unwrap().stream_id, 0x0102_0304);
    }

    #[test]
    fn message_split_over_chunks_is_reassembled() {
        let payload: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        let mut bytes = type0(6, 5, 300, 8, 1);
        bytes.extend_from_slice(&payload[..128]);
        bytes.push(0xC6);
        bytes.extend_from_slice(&payload[128..256]);
        bytes.push(0xC6);
        bytes.extend_from_slice(&payload[256..]);
        let mut d = ChunkDecoder::default();
        // One byte at a time: the decoder must wait, not fail, at every cut.
        let mut got = Vec::new();
        for b in &bytes {
            d.push(&[*b]).unwrap();
            got.extend(decode_all(&mut d));
        }
        assert_eq!(got.len(), 1);
        assert_eq!(&got[0].payload[..], &payload[..]);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn compressed_headers_add_deltas_to_the_timestamp() {
        let mut bytes = type0(4, 1000, 1, 9, 1);
        bytes.push(b'a');
        // Type 1: delta 40, new length 2, same type.
        bytes.extend_from_slice(&[0x44, 0, 0, 40, 0, 0, 2, 9, b'b', b'b']);
        // Type 2: delta 20.
        bytes.extend_from_slice(&[0x84, 0, 0, 20, b'c', b'c']);
        // Type 3 starting a message: the last delta (20) again.
        bytes.extend_from_slice(&[0xC4, b'd', b'd']);
        let mut d = ChunkDecoder::default();
        d.push(&bytes).unwrap();
        let got: Vec<(u32, u32)> = decode_all(&mut d)
            .iter()
            .map(|m| (m.timestamp, m.stream_id))
            .collect();
        assert_eq!(got, vec![(1000, 1), (1040, 1), (1060, 1), (1080, 1)]);
    }

    #[test]
    fn type3_after_type0_repeats_the_timestamp() {
        let mut bytes = type0(4, 500, 1, 9, 1);
        bytes.extend_from_slice(&[b'a', 0xC4, b'b']);
        let mut d = ChunkDecoder::default();
        d.push(&bytes).unwrap();
        let ts: Vec<u32> = decode_all(&mut d).iter().map(|m| m.timestamp).collect();
        assert_eq!(ts, vec![500, 500]);
    }

    #[test]
    fn extended_timestamp_is_read_on_type0_and_repeated_on_type3_continuations() {
        let ts = 0x0100_0000;
        let payload = [7u8; 200];
        let mut bytes = type0(6, ts, 200, 8, 1);
        bytes.extend_from_slice(&payload[..128]);
        bytes.push(0xC6);
        bytes.extend_from_slice(&ts.to_be_bytes());
        bytes.extend_from_slice(&payload[128..]);
        let mut d = ChunkDecoder::default();
        d.push(&bytes).unwrap();
        let got = decode_all(&mut d);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].timestamp, ts);
        assert_eq!(&got[0].payload[..], &payload[..]);
    }

    #[test]
    fn extended_delta_on_type2_applies() {
        let mut bytes = type0(4, 10, 0, 9, 1);
        bytes.extend_from_slice(&[0x84, 0xFF, 0xFF, 0xFF]);
        bytes.extend_from_slice(&0x0100_0000u32.to_be_bytes());
        let mut d = ChunkDecoder::default();
        d.push(&bytes).unwrap();
        let ts: Vec<u32> = decode_all(&mut d).iter().map(|m| m.timestamp).collect();
        assert_eq!(ts, vec![10, 10 + 0x0100_0000]);
    }

    #[test]
    fn two_and_three_byte_basic_headers_reach_high_csids() {
        let mut bytes = vec![0x00, 0x00]; // csid 64
        bytes.extend_from_slice(&type0(0, 1, 1, 8, 1)[1..]);
        bytes.push(1);
        bytes.extend_from_slice(&[0x01, 0xFF, 0xFF]); // csid 65599
        bytes.extend_from_slice(&type0(0, 2, 1, 8, 1)[1..]);
        bytes.push(2);
        let mut d = ChunkDecoder::default();
        d.push(&bytes).unwrap();
        let csids: Vec<u32> = decode_all(&mut d).iter().map(|m| m.csid).collect();
        assert_eq!(csids, vec![64, 65599]);
    }

    #[test]
    fn interleaved_chunk_streams_keep_their_own_messages() {
        let mut bytes = type0(6, 0, 200, 8, 1);
        bytes.extend_from_slice(&[1; 128]);
        bytes.extend_from_slice(&type0(7, 0, 10, 9, 1));
        bytes.extend_from_slice(&[2; 10]);
        bytes.push(0xC6);
        bytes.extend_from_slice(&[1; 72]);
        let mut d = ChunkDecoder::default();
        d.push(&bytes).unwrap();
        let got = decode_all(&mut d);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].csid, got[0].payload.len()), (7, 10));
        assert_eq!((got[1].csid, got[1].payload.len()), (6, 200));
    }

    #[test]
    fn larger_chunk_size_applies_to_following_chunks() {
        let mut d = ChunkDecoder::default();
        d.set_chunk_size(4096).unwrap();
        let mut bytes = type0(6, 0, 3000, 9, 1);
        bytes.extend_from_slice(&[9; 3000]);
        d.push(&bytes).unwrap();
        assert_eq!(decode_all(&mut d)[0].payload.len(), 3000);
    }

    #[test]
    fn chunk_size_zero_and_top_bit_are_refused() {
        let mut d = ChunkDecoder::default();
        assert_eq!(d.set_chunk_size(0), Err(ChunkError::InvalidChunkSize(0)));
        assert_eq!(
            d.set_chunk_size(1 << 31),
            Err(ChunkError::InvalidChunkSize(1 << 31))
        );
        assert_eq!(
            d.set_chunk_size(MAX_CHUNK_SIZE + 1),
            Err(ChunkError::InvalidChunkSize(MAX_CHUNK_SIZE + 1))
        );
        assert_eq!(d.chunk_size(), DEFAULT_CHUNK_SIZE);
        d.set_chunk_size(1).unwrap();
        d.set_chunk_size(MAX_CHUNK_SIZE).unwrap();
    }

    #[test]
    fn message_that_never_arrives_waits_with_bounded_buffering() {
        let limits = ChunkLimits {
            max_buffered: 10_000,
            ..ChunkLimits::default()
        };
        let mut d = ChunkDecoder::new(limits);
        d.set_chunk_size(65536).unwrap();
        d.push(&type0(6, 0, 1_000_000, 9, 1)).unwrap();
        assert_eq!(d.poll().unwrap(), None);
        d.push(&[0; 9_000]).unwrap();
        assert_eq!(d.poll().unwrap(), None);
        assert_eq!(d.push(&[0; 2_000]), Err(ChunkError::BufferFull(10_000)));
    }

    #[test]
    fn partial_messages_count_against_the_buffer_limit() {
        let limits = ChunkLimits {
            max_buffered: 1_000,
            ..ChunkLimits::default()
        };
        let mut d = ChunkDecoder::new(limits);
        for csid in 3..20u8 {
            let mut bytes = type0(csid, 0, 1_000, 9, 1);
            bytes.extend_from_slice(&[0; 128]);
            if d.push(&bytes).is_err() {
                assert!(d.buffered() > 800);
                return;
            }
            assert_eq!(d.poll().unwrap(), None);
        }
        panic!("partial messages were not counted");
    }

    #[test]
    fn announced_length_over_the_limit_is_refused_before_buffering() {
        let limits = ChunkLimits {
            max_message_len: 1_000,
            ..ChunkLimits::default()
        };
        let mut d = ChunkDecoder::new(limits);
        d.push(&type0(6, 0, 1_001, 9, 1)).unwrap();
        assert_eq!(d.poll(), Err(ChunkError::MessageTooLong(1_001)));
    }

    #[test]
    fn csid_explosion_is_an_error() {
        let mut d = ChunkDecoder::default();
        let mut bytes = Vec::new();
        for csid in 2..63u8 {
            bytes.extend_from_slice(&type0(csid, 0, 0, 9, 1));
        }
        for hi in 0..=255u8 {
            bytes.extend_from_slice(&[0x01, 0x00, hi]);
            bytes.extend_from_slice(&type0(0, 0, 0, 9, 1)[1..]);
        }
        d.push(&bytes).unwrap();
        let mut count = 0;
        loop {
            match d.poll() {
                Ok(Some(_)) => count += 1,
                Ok(None) => panic!("explosion accepted"),
                Err(e) => {
                    assert_eq!(e, ChunkError::TooManyChunkStreams(64));
                    break;
                }
            }
        }
        assert_eq!(count, 64);
    }

    #[test]
    fn compressed_header_on_a_new_csid_is_an_error() {
        for first in [0x43u8, 0x83, 0xC3] {
            let mut d = ChunkDecoder::default();
            d.push(&[first, 0, 0, 0, 0, 0, 0, 0]).unwrap();
            assert_eq!(d.poll(), Err(ChunkError::NoPreviousHeader(3)));
        }
    }

    #[test]
    fn truncated_type3_chunk_waits_for_the_rest() {
        let mut bytes = type0(6, 0, 200, 8, 1);
        bytes.extend_from_slice(&[1; 128]);
        bytes.push(0xC6);
        bytes.extend_from_slice(&[1; 30]); // 42 bytes short
        let mut d = ChunkDecoder::default();
        d.push(&bytes).unwrap();
        assert_eq!(d.poll().unwrap(), None);
        d.push(&[1; 42]).unwrap();
        assert_eq!(d.poll().unwrap().unwrap().payload.len(), 200);
    }

    #[test]
    fn truncated_extended_timestamp_waits() {
        let mut bytes = type0(6, 0x0100_0000, 1, 8, 1);
        bytes.push(5);
        let mut d = ChunkDecoder::default();
        d.push(&bytes[..13]).unwrap();
        assert_eq!(d.poll().unwrap(), None);
        d.push(&bytes[13..]).unwrap();
        assert_eq!(d.poll().unwrap().unwrap().timestamp, 0x0100_0000);
    }

    #[test]
    fn abort_drops_the_partial_message() {
        let mut bytes = type0(6, 0, 200, 8, 1);
        bytes.extend_from_slice(&[1; 128]);
        let mut d = ChunkDecoder::default();
        d.push(&bytes).unwrap();
        assert_eq!(d.poll().unwrap(), None);
        assert_eq!(d.buffered(), 128);
        d.abort(6);
        assert_eq!(d.buffered(), 0);
        // The next type 3 chunk now starts a fresh message of the same length.
        let mut rest = vec![0xC6];
        rest.extend_from_slice(&[2; 128]);
        rest.push(0xC6);
        rest.extend_from_slice(&[2; 72]);
        d.push(&rest).unwrap();
        let m = d.poll().unwrap().unwrap();
        assert_eq!(&m.payload[..], &[2; 200][..]);
    }

    #[test]
    fn new_full_header_mid_message_drops_the_old_one() {
        let mut bytes = type0(6, 0, 200, 8, 1);
        bytes.extend_from_slice(&[1; 128]);
        bytes.extend_from_slice(&type0(6, 10, 2, 8, 1));
        bytes.extend_from_slice(&[3, 3]);
        let mut d = ChunkDecoder::default();
        d.push(&bytes).unwrap();
        let got = decode_all(&mut d);
        assert_eq!(got.len(), 1);
        assert_eq!(&got[0].payload[..], &[3, 3]);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn zero_length_message_is_delivered_empty() {
        let mut d = ChunkDecoder::default();
        d.push(&type0(3, 0, 0, 20, 0)).unwrap();
        assert!(d.poll().unwrap().unwrap().payload.is_empty());
    }
}
