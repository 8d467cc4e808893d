//! goim over plain TCP, as its comet serves native apps: packets back to back on the byte
//! stream, with no WebSocket framing. Sans-IO: bytes go into [`StreamDecoder::buffer`],
//! whole packets come out of [`StreamDecoder::next_packet`].
//!
//! A packet's header is checked as soon as its 16 bytes are in, before its body is
//! awaited: a header length other than 16, a packet length below 16 or a body over
//! [`Limits::max_body`] is refused at once, so a client that lies about a length can
//! make the server neither wait nor buffer more than one packet's worth.

use bytes::{Buf, BytesMut};

use super::binary::Header;
use super::{Limits, Packet, ProtoError, HEADER_LEN};

/// Cuts a TCP stream into goim packets.
#[derive(Debug)]
pub struct StreamDecoder {
    buf: BytesMut,
    limits: Limits,
}

impl StreamDecoder {
    pub fn new(limits: Limits) -> StreamDecoder {
        StreamDecoder {
            buf: BytesMut::new(),
            limits,
        }
    }

    /// Where bytes read from the socket go.
    pub fn buffer(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Lets go of a large buffer once it is empty (see [`crate::ws::Decoder::shrink`]).
    pub fn shrink(&mut self, keep: usize) {
        if self.buf.is_empty() && self.buf.capacity() > keep {
            self.buf = BytesMut::new();
        }
    }

    /// The next whole packet, `Ok(None)` while more bytes are needed. After an error the
    /// stream cannot be resynchronised: the connection should end.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, ProtoError> {
        let Some(header) = self.buf.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let h = Header::parse(header)?;
        h.check_body(&self.limits)?;
        let len = h.len;
        if self.buf.len() < len {
            self.buf.reserve(len - self.buf.len());
            return Ok(None);
        }
        let mut packet = self.buf.split_to(len);
        packet.advance(HEADER_LEN);
        Ok(Some(Packet {
            ver: h.ver,
            op: h.op,
            seq: h.seq,
            body: packet.freeze(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{encode_to_bytes, op};

    fn decoder() -> StreamDecoder {
        StreamDecoder::new(Limits {
            max_body: 64,
            ..Limits::default()
        })
    }

    #[test]
    fn packets_come_out_whole_however_the_stream_is_cut() {
        let packets = [
            Packet::new(op::AUTH, 1, &b"{\"token\":\"t\"}"[..]),
            Packet::new(op::HEARTBEAT, 2, &b""[..]),
            Packet {
                ver: 7,
                ..Packet::new(op::SEND_MSG, 3, &b"{\"text\":\"hi\"}"[..])
            },
        ];
        let stream: Vec<u8> = packets.iter().flat_map(encode_to_bytes).collect();
        for cut in 1..=stream.len() {
            let mut d = decoder();
            let mut got = Vec::new();
            for piece in stream.chunks(cut) {
                d.buffer().extend_from_slice(piece);
                while let Some(p) = d.next_packet().unwrap() {
                    got.push(p);
                }
            }
            assert_eq!(got, packets, "cut every {cut} bytes");
            assert!(d.buffer().is_empty());
        }
    }

    #[test]
    fn a_lying_header_is_refused_before_its_body_is_awaited() {
        let header = |plen: u32, hlen: u16| {
            let mut h = plen.to_be_bytes().to_vec();
            h.extend_from_slice(&hlen.to_be_bytes());
            h.extend_from_slice(&[0, 1, 0, 0, 0, 2, 0, 0, 0, 1]);
            h
        };
        let cases = [
            (header(16, 20), "bad_header_len"),
            (header(15, 16), "bad_packet_len"),
            (header(0, 16), "bad_packet_len"),
            (header(16 + 65, 16), "body_too_large"),
            (header(u32::MAX, 16), "body_too_large"),
        ];
        for (bytes, code) in cases {
            let mut d = decoder();
            d.buffer().extend_from_slice(&bytes);
            assert_eq!(d.next_packet().unwrap_err().code(), code);
        }
        // Fewer than 16 bytes: just wait.
        let mut d = decoder();
        d.buffer().extend_from_slice(&header(16, 16)[..15]);
        assert_eq!(d.next_packet(), Ok(None));
    }
}
