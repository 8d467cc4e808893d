//! goim's binary packet: encoding one, decoding a frame of several, and the RAW batch.
//!
//! Cost: [`encode_to_bytes`] makes one allocation, sized up front, per packet; a room
//! message is encoded once and its `Bytes` shared by every member. [`raw_batch`] makes one
//! more per batch, however many messages it holds. [`decode_frame_bytes`] allocates only
//! the `Vec` of packets: bodies are slices of the frame. [`decode_frame`] copies each body
//! out of the borrowed frame, so its memory is bounded by the frame's length.
//! [`walk_frame`], which both are built on, allocates nothing.

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use super::{op, Limits, Packet, ProtoError, HEADER_LEN};

/// Appends `p` as one binary packet: the 16-byte header, then the body.
///
/// # Panics
///
/// If the body is 4 GiB − 16 bytes or longer, which the packet-length field cannot
/// express. Bodies come from [`Limits`]-checked decoding or from the gateway's own
/// size-checked pushes, many orders of magnitude below that.
pub fn encode(p: &Packet, out: &mut BytesMut) {
    let packet_len = u32::try_from(p.encoded_len()).expect("a goim packet must be under 4 GiB");
    out.reserve(p.encoded_len());
    out.put_u32(packet_len);
    out.put_u16(HEADER_LEN as u16);
    out.put_u16(p.ver);
    out.put_u32(p.op);
    out.put_u32(p.seq);
    out.put_slice(&p.body);
}

/// `p` as one binary packet, in a buffer of exactly its size: what a room message is
/// encoded into once before it is offered to every member.
///
/// # Panics
///
/// As [`encode`], for a body of 4 GiB or more.
pub fn encode_to_bytes(p: &Packet) -> Bytes {
    let mut out = BytesMut::with_capacity(p.encoded_len());
    encode(p, &mut out);
    out.freeze()
}

/// The packets of a binary WebSocket frame, which holds one or more back to back.
///
/// All or nothing: a frame with any malformed packet is refused as a whole, because
/// a packet length that lies makes everything after it meaningless. Refused are a
/// header length other than 16, a packet length below 16 or past the end of the frame,
/// bytes after the last packet that do not make a whole header, a body over
/// `limits.max_body` and more than `limits.max_packets_per_frame` packets. The version
/// field is kept as sent and operations are not checked: both are the gateway's business.
pub fn decode_frame(frame: &[u8], limits: &Limits) -> Result<Vec<Packet>, ProtoError> {
    decode_with(frame, limits, |range| Bytes::copy_from_slice(&frame[range]))
}

/// [`decode_frame`] without copying: each body is a slice of `frame` (which axum hands
/// over as `Bytes`), so the frame's buffer lives as long as any of its bodies.
pub fn decode_frame_bytes(frame: &Bytes, limits: &Limits) -> Result<Vec<Packet>, ProtoError> {
    decode_with(frame, limits, |range| frame.slice(range))
}

/// Walks the packets of `frame`, checking every length before using it; `body` turns
/// the byte range of a body (already checked to be inside `frame`) into `Bytes`.
fn decode_with(
    frame: &[u8],
    limits: &Limits,
    mut body: impl FnMut(Range<usize>) -> Bytes,
) -> Result<Vec<Packet>, ProtoError> {
    let mut packets = Vec::new();
    walk_frame(frame, limits, |p| {
        packets.push(Packet {
            ver: p.ver,
            op: p.op,
            seq: p.seq,
            body: body(p.body),
        });
        Ok(())
    })?;
    Ok(packets)
}

/// A packet header's fields, read from its 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// The packet-length field as sent.
    pub packet_len: u32,
    /// The same, as a length: header and body.
    pub len: usize,
    pub ver: u16,
    pub op: u32,
    pub seq: u32,
}

impl Header {
    /// Reads a header, refusing a header length other than 16 and a packet length below 16.
    pub(crate) fn parse(header: &[u8; HEADER_LEN]) -> Result<Header, ProtoError> {
        let [p0, p1, p2, p3, h0, h1, v0, v1, o0, o1, o2, o3, s0, s1, s2, s3] = *header;
        let packet_len = u32::from_be_bytes([p0, p1, p2, p3]);
        let header_len = u16::from_be_bytes([h0, h1]);
        if usize::from(header_len) != HEADER_LEN {
            return Err(ProtoError::BadHeaderLen(header_len));
        }
        // A u32 widens losslessly on every target momo builds for.
        let len = packet_len as usize;
        if len < HEADER_LEN {
            return Err(ProtoError::BadPacketLen(packet_len));
        }
        Ok(Header {
            packet_len,
            len,
            ver: u16::from_be_bytes([v0, v1]),
            op: u32::from_be_bytes([o0, o1, o2, o3]),
            seq: u32::from_be_bytes([s0, s1, s2, s3]),
        })
    }

    /// Refuses a body over `limits.max_body`.
    pub(crate) fn check_body(&self, limits: &Limits) -> Result<(), ProtoError> {
        let body_len = self.len - HEADER_LEN;
        if body_len > limits.max_body {
            return Err(ProtoError::BodyTooLarge(body_len));
        }
        Ok(())
    }
}

/// A packet where it lies in its frame: the header's fields and its body's byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketAt {
    pub ver: u16,
    pub op: u32,
    pub seq: u32,
    pub body: Range<usize>,
}

/// The packets of `frame` in place, by the rules of [`decode_frame`], handed to `each`
/// in order, without allocating; stops at the first error, from the frame or from
/// `each` (packets before a malformed one have been handed over by then).
pub fn walk_frame(
    frame: &[u8],
    limits: &Limits,
    mut each: impl FnMut(PacketAt) -> Result<(), ProtoError>,
) -> Result<(), ProtoError> {
    let mut count = 0;
    let mut at = 0;
    loop {
        let rest = &frame[at..];
        let Some(header) = rest.first_chunk::<HEADER_LEN>() else {
            return Err(ProtoError::Truncated);
        };
        if count >= limits.max_packets_per_frame {
            return Err(ProtoError::TooManyPackets);
        }
        let h = Header::parse(header)?;
        if h.len > rest.len() {
            return Err(ProtoError::BadPacketLen(h.packet_len));
        }
        h.check_body(limits)?;
        let len = h.len;
        count += 1;
        each(PacketAt {
            ver: h.ver,
            op: h.op,
            seq: h.seq,
            body: at + HEADER_LEN..at + len,
        })?;
        at += len;
        if at == frame.len() {
            return Ok(());
        }
    }
}

/// goim's batch: one RAW (op 9) packet whose body is `packets`, already encoded, back to
/// back, so that many messages waiting for one connection go out in one frame.
///
/// Each element must be a whole encoded packet (from [`encode_to_bytes`]); they are
/// copied once into the batch, whatever their number. A client reads the body with
/// [`decode_frame`] (with limits as large as the server's pushes), exactly as a frame.
pub fn raw_batch(packets: &[Bytes]) -> Packet {
    let len = packets.iter().map(Bytes::len).sum();
    let mut body = BytesMut::with_capacity(len);
    for p in packets {
        body.put_slice(p);
    }
    Packet::new(op::RAW, 0, body.freeze())
}

/// The body of a binary heartbeat reply (op 3): the room's online count as a 4-byte
/// big-endian integer, as goim sends it. JSON clients get
/// [`heartbeat_reply_json`](super::heartbeat_reply_json) instead.
pub fn heartbeat_reply_body(online: u32) -> Bytes {
    Bytes::copy_from_slice(&online.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes from a hex dump as protocol descriptions print them: `"00 00 00 10 …"`.
    fn hex(dump: &str) -> Vec<u8> {
        dump.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("test hex"))
            .collect()
    }

    fn decode(frame: &[u8]) -> Result<Vec<Packet>, ProtoError> {
        decode_frame(frame, &Limits::default())
    }

    /// A heartbeat, version 1, sequence 1: goim's smallest packet.
    const HEARTBEAT: &str = "00 00 00 10  00 10  00 01  00 00 00 02  00 00 00 01";

    #[test]
    fn heartbeat_matches_goims_layout() {
        let p = Packet::new(op::HEARTBEAT, 1, Bytes::new());
        assert_eq!(encode_to_bytes(&p).to_vec(), hex(HEARTBEAT));
        assert_eq!(decode(&hex(HEARTBEAT)).unwrap(), vec![p]);
    }

    #[test]
    fn auth_packet_carries_its_json_body_after_the_header() {
        // 16 + 13 = 29 = 0x1d bytes; op 7; seq 1; body {"token":"t"}.
        let mut frame = hex("00 00 00 1d  00 10  00 01  00 00 00 07  00 00 00 01");
        frame.extend_from_slice(br#"{"token":"t"}"#);
        let p = Packet::new(op::AUTH, 1, &br#"{"token":"t"}"#[..]);
        assert_eq!(decode(&frame).unwrap(), vec![p.clone()]);
        assert_eq!(encode_to_bytes(&p).to_vec(), frame);
    }

    #[test]
    fn heartbeat_reply_carries_the_online_count_big_endian() {
        let p = Packet::new(op::HEARTBEAT_REPLY, 1, heartbeat_reply_body(0x0102_0304));
        let expected = hex("00 00 00 14  00 10  00 01  00 00 00 03  00 00 00 01  01 02 03 04");
        assert_eq!(encode_to_bytes(&p).to_vec(), expected);
    }

    #[test]
    fn pushed_message_uses_op_1000_and_seq_0() {
        let p = Packet::new(op::MESSAGE, 0, &b"{}"[..]);
        let expected = hex("00 00 00 12  00 10  00 01  00 00 03 e8  00 00 00 00  7b 7d");
        assert_eq!(encode_to_bytes(&p).to_vec(), expected);
    }

    #[test]
    fn version_and_all_fields_are_kept_as_sent() {
        let frame = hex("00 00 00 11  00 10  ff fe  ff ff ff ff  ff ff ff fd  2a");
        let p = &decode(&frame).unwrap()[0];
        assert_eq!((p.ver, p.op, p.seq), (0xfffe, u32::MAX, 0xffff_fffd));
        assert_eq!(&p.body[..], b"*");
        assert_eq!(encode_to_bytes(p).to_vec(), frame);
    }

    #[test]
    fn several_packets_in_one_frame_decode_in_order() {
        let mut frame = hex(HEARTBEAT);
        frame.extend(hex(
            "00 00 00 13  00 10  00 01  00 00 00 04  00 00 00 02  61 62 63",
        ));
        frame.extend(hex("00 00 00 10  00 10  00 01  00 00 00 0c  00 00 00 03"));
        let packets = decode(&frame).unwrap();
        assert_eq!(
            packets,
            vec![
                Packet::new(op::HEARTBEAT, 1, Bytes::new()),
                Packet::new(op::SEND_MSG, 2, &b"abc"[..]),
                Packet::new(op::CHANGE_ROOM, 3, Bytes::new()),
            ]
        );
        let mut again = BytesMut::new();
        for p in &packets {
            encode(p, &mut again);
        }
        assert_eq!(again.to_vec(), frame);
    }

    #[test]
    fn round_trips_keep_every_field_and_body_size() {
        let limits = Limits::default();
        for (ver, op, seq, len) in [
            (1, 0, 0, 0),
            (1, 7, 1, 1),
            (0, 1000, u32::MAX, 100),
            (u16::MAX, u32::MAX, 7, limits.max_body),
        ] {
            let p = Packet {
                ver,
                op,
                seq,
                body: Bytes::from(vec![0xa5; len]),
            };
            let bytes = encode_to_bytes(&p);
            assert_eq!(bytes.len(), p.encoded_len());
            assert_eq!(decode_frame(&bytes, &limits).unwrap(), vec![p.clone()]);
            assert_eq!(decode_frame_bytes(&bytes, &limits).unwrap(), vec![p]);
        }
    }

    #[test]
    fn zero_copy_decoding_slices_the_frame() {
        let mut frame = hex("00 00 00 13  00 10  00 01  00 00 00 04  00 00 00 02");
        frame.extend_from_slice(b"abc");
        let frame = Bytes::from(frame);
        let packets = decode_frame_bytes(&frame, &Limits::default()).unwrap();
        assert_eq!(packets[0].body.as_ptr(), frame[16..].as_ptr());
    }

    #[test]
    fn raw_batch_is_op_9_wrapping_whole_packets() {
        let a = encode_to_bytes(&Packet::new(op::MESSAGE, 0, &b"1"[..]));
        let b = encode_to_bytes(&Packet::new(op::MESSAGE, 0, &b"22"[..]));
        let batch = raw_batch(&[a, b]);
        assert_eq!((batch.ver, batch.op, batch.seq), (1, op::RAW, 0));
        // The RAW header (16 + 17 + 18 = 0x33 bytes), then the two packets untouched.
        let mut expected = hex("00 00 00 33  00 10  00 01  00 00 00 09  00 00 00 00");
        expected.extend(hex(
            "00 00 00 11  00 10  00 01  00 00 03 e8  00 00 00 00  31",
        ));
        expected.extend(hex(
            "00 00 00 12  00 10  00 01  00 00 03 e8  00 00 00 00  32 32",
        ));
        let frame = encode_to_bytes(&batch);
        assert_eq!(frame.to_vec(), expected);
        // A client unpacks the frame, then the batch's body, with the same decoder.
        let outer = decode(&frame).unwrap();
        let inner = decode(&outer[0].body).unwrap();
        assert_eq!(
            inner,
            vec![
                Packet::new(op::MESSAGE, 0, &b"1"[..]),
                Packet::new(op::MESSAGE, 0, &b"22"[..]),
            ]
        );
    }

    #[test]
    fn empty_and_short_frames_are_truncated() {
        assert_eq!(decode(&[]), Err(ProtoError::Truncated));
        assert_eq!(decode(&hex(HEARTBEAT)[..15]), Err(ProtoError::Truncated));
    }

    #[test]
    fn leftover_bytes_after_a_good_packet_refuse_the_whole_frame() {
        let mut frame = hex(HEARTBEAT);
        frame.extend_from_slice(&[0, 0, 0]);
        assert_eq!(decode(&frame), Err(ProtoError::Truncated));
    }

    #[test]
    fn packet_length_that_lies_short_leaves_garbage_that_is_refused() {
        // Claims 16 bytes but carries a 4-byte body: the body is read as the next header.
        let frame = hex("00 00 00 10  00 10  00 01  00 00 00 03  00 00 00 01  00 00 00 05");
        assert_eq!(decode(&frame), Err(ProtoError::Truncated));
        // Completed to a header, the body's bytes make a packet length of 5: below 16.
        let mut frame = frame;
        frame.extend(hex("00 10  00 01  00 00 00 03  00 00 00 01"));
        assert_eq!(decode(&frame), Err(ProtoError::BadPacketLen(5)));
    }

    #[test]
    fn header_length_other_than_16_is_refused() {
        for header_len in ["00 00", "00 0f", "00 11", "ff ff"] {
            let frame = hex(&format!(
                "00 00 00 10  {header_len}  00 01  00 00 00 02  00 00 00 01"
            ));
            let expected = u16::from_str_radix(&header_len.replace(' ', ""), 16).unwrap();
            assert_eq!(decode(&frame), Err(ProtoError::BadHeaderLen(expected)));
        }
    }

    #[test]
    fn packet_length_below_the_header_is_refused() {
        for len in [0u32, 1, 15] {
            let mut frame = hex(HEARTBEAT);
            frame[..4].copy_from_slice(&len.to_be_bytes());
            assert_eq!(decode(&frame), Err(ProtoError::BadPacketLen(len)));
        }
    }

    #[test]
    fn packet_length_past_the_frame_is_refused_without_allocating_it() {
        for len in [17u32, 4096 + 16, u32::MAX] {
            let mut frame = hex(HEARTBEAT);
            frame[..4].copy_from_slice(&len.to_be_bytes());
            assert_eq!(decode(&frame), Err(ProtoError::BadPacketLen(len)));
        }
        // The second packet of a frame lies too.
        let mut frame = hex(HEARTBEAT);
        frame.extend(hex(
            "00 00 00 20  00 10  00 01  00 00 00 02  00 00 00 02  01",
        ));
        assert_eq!(decode(&frame), Err(ProtoError::BadPacketLen(0x20)));
    }

    #[test]
    fn body_over_the_limit_is_refused_and_at_the_limit_accepted() {
        let limits = Limits {
            max_body: 10,
            ..Limits::default()
        };
        let at = encode_to_bytes(&Packet::new(op::SEND_MSG, 1, vec![b'x'; 10]));
        assert_eq!(decode_frame(&at, &limits).unwrap().len(), 1);
        let over = encode_to_bytes(&Packet::new(op::SEND_MSG, 1, vec![b'x'; 11]));
        assert_eq!(
            decode_frame(&over, &limits),
            Err(ProtoError::BodyTooLarge(11))
        );
        let default_over = encode_to_bytes(&Packet::new(op::SEND_MSG, 1, vec![b'x'; 4097]));
        assert_eq!(decode(&default_over), Err(ProtoError::BodyTooLarge(4097)));
    }

    #[test]
    fn more_packets_than_the_limit_are_refused() {
        let one = hex(HEARTBEAT);
        let frame = |n: usize| one.repeat(n);
        assert_eq!(decode(&frame(64)).unwrap().len(), 64);
        assert_eq!(decode(&frame(65)), Err(ProtoError::TooManyPackets));
        let two = Limits {
            max_packets_per_frame: 2,
            ..Limits::default()
        };
        assert_eq!(decode_frame(&frame(2), &two).unwrap().len(), 2);
        assert_eq!(
            decode_frame(&frame(3), &two),
            Err(ProtoError::TooManyPackets)
        );
    }

    #[test]
    fn largest_decodable_frame_is_what_limits_say() {
        let limits = Limits::default();
        let p = encode_to_bytes(&Packet::new(op::SEND_MSG, 1, vec![b'x'; limits.max_body]));
        let frame = p.repeat(limits.max_packets_per_frame);
        assert_eq!(frame.len(), limits.max_binary_frame());
        assert!(decode(&frame).is_ok());
    }
}
