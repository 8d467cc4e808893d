//! RFC 6455 frames, sans-IO: [`Decoder`] turns the bytes a client sends into whole
//! messages; [`encode`] builds the unmasked frames a server sends.
//!
//! A server frame does not depend on who receives it (servers never mask), so a room
//! message is framed once and the same bytes go to every member.
//!
//! What a client may cost is bounded: a message longer than the limit is refused as soon
//! as the frame header that would make it so arrives, before its payload is buffered.

use bytes::{Buf, Bytes, BytesMut};

const FIN: u8 = 0x80;
const RSV: u8 = 0x70;
const MASKED: u8 = 0x80;

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// Close codes the gateway sends.
pub const CLOSE_NORMAL: u16 = 1000;
pub const CLOSE_PROTOCOL: u16 = 1002;
pub const CLOSE_BAD_DATA: u16 = 1007;
pub const CLOSE_POLICY: u16 = 1008;
pub const CLOSE_TOO_BIG: u16 = 1009;
/// The server is restarting: connect again (RFC 6455's 1012, Service Restart).
pub const CLOSE_RESTART: u16 = 1012;

/// One whole message (or control frame) from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Valid UTF-8.
    Text(Bytes),
    Binary(Bytes),
    Ping(Bytes),
    Pong,
    /// The close code, when one was given.
    Close(Option<u16>),
}

/// Why a client's bytes are not a WebSocket stream the gateway accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("websocket protocol error: {0}")]
    Protocol(&'static str),
    #[error("message longer than {0} bytes")]
    TooBig(usize),
    #[error("text message is not UTF-8")]
    BadUtf8,
}

impl FrameError {
    /// The close code to answer with.
    pub fn close_code(&self) -> u16 {
        match self {
            FrameError::Protocol(_) => CLOSE_PROTOCOL,
            FrameError::TooBig(_) => CLOSE_TOO_BIG,
            FrameError::BadUtf8 => CLOSE_BAD_DATA,
        }
    }

    /// The code counted in metrics and logged.
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::Protocol(_) => "ws_protocol",
            FrameError::TooBig(_) => "frame_too_large",
            FrameError::BadUtf8 => "ws_bad_utf8",
        }
    }
}

/// Reassembles client frames into messages.
#[derive(Debug)]
pub struct Decoder {
    buf: BytesMut,
    max_message: usize,
    /// A fragmented data message being assembled: its opcode and what came so far.
    partial: Option<(u8, BytesMut)>,
}

/// Where the next frame's payload lies in the buffer.
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    header_len: usize,
    payload_len: usize,
}

impl Decoder {
    /// `max_message`: the longest message (all fragments together) accepted.
    pub fn new(max_message: usize) -> Decoder {
        Decoder {
            buf: BytesMut::new(),
            max_message,
            partial: None,
        }
    }

    /// Where bytes read from the socket go.
    pub fn buffer(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Lets go of a large buffer once it is empty, so that an idle connection holds
    /// little memory after one big message.
    pub fn shrink(&mut self, keep: usize) {
        if self.buf.is_empty() && self.buf.capacity() > keep {
            self.buf = BytesMut::new();
        }
    }

    /// The next whole message, `Ok(None)` when more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<Message>, FrameError> {
        loop {
            let Some(h) = self.header()? else {
                return Ok(None);
            };
            let total = h.header_len + h.payload_len;
            if self.buf.len() < total {
                self.buf.reserve(total - self.buf.len());
                return Ok(None);
            }
            self.buf.advance(h.header_len);
            let mut payload = self.buf.split_to(h.payload_len);
            unmask(&mut payload, h.mask);
            if let Some(m) = self.message(h.fin, h.opcode, payload)? {
                return Ok(Some(m));
            }
        }
    }

    /// Parses the header at the front of the buffer and checks it.
    fn header(&self) -> Result<Option<Header>, FrameError> {
        let b = &self.buf[..];
        if b.len() < 2 {
            return Ok(None);
        }
        if b[0] & RSV != 0 {
            return Err(FrameError::Protocol("reserved bits set"));
        }
        if b[1] & MASKED == 0 {
            return Err(FrameError::Protocol("client frames must be masked"));
        }
        let fin = b[0] & FIN != 0;
        let opcode = b[0] & 0x0F;
        let (len, len_bytes) = match b[1] & 0x7F {
            126 => match b.get(2..4) {
                Some(x) => (u64::from(u16::from_be_bytes([x[0], x[1]])), 2),
                None => return Ok(None),
            },
            127 => match b.get(2..10) {
                Some(x) => {
                    let mut n = [0u8; 8];
                    n.copy_from_slice(x);
                    (u64::from_be_bytes(n), 8)
                }
                None => return Ok(None),
            },
            n => (u64::from(n), 0),
        };
        let control = opcode & 0x8 != 0;
        match opcode {
            OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG => {}
            _ => return Err(FrameError::Protocol("unknown opcode")),
        }
        if control && (!fin || len > 125) {
            return Err(FrameError::Protocol("control frames are short and whole"));
        }
        match (opcode, &self.partial) {
            (OP_CONTINUATION, None) => {
                return Err(FrameError::Protocol("continuation without a message"))
            }
            (OP_TEXT | OP_BINARY, Some(_)) => {
                return Err(FrameError::Protocol("new message inside a fragmented one"))
            }
            _ => {}
        }
        let so_far = self.partial.as_ref().map_or(0, |(_, p)| p.len());
        if !control && len.saturating_add(so_far as u64) > self.max_message as u64 {
            return Err(FrameError::TooBig(self.max_message));
        }
        let header_len = 2 + len_bytes + 4;
        let Some(m) = b.get(header_len - 4..header_len) else {
            return Ok(None);
        };
        Ok(Some(Header {
            fin,
            opcode,
            mask: [m[0], m[1], m[2], m[3]],
            header_len,
            payload_len: len as usize,
        }))
    }

    /// A frame's payload, unmasked: a message when it completes one.
    fn message(
        &mut self,
        fin: bool,
        opcode: u8,
        payload: BytesMut,
    ) -> Result<Option<Message>, FrameError> {
        let (opcode, data) = match opcode {
            OP_CLOSE => {
                let code = match payload.len() {
                    0 => None,
                    1 => return Err(FrameError::Protocol("close payload of one byte")),
                    _ => Some(u16::from_be_bytes([payload[0], payload[1]])),
                };
                return Ok(Some(Message::Close(code)));
            }
            OP_PING => return Ok(Some(Message::Ping(payload.freeze()))),
            OP_PONG => return Ok(Some(Message::Pong)),
            OP_CONTINUATION => {
                let Some((op, mut so_far)) = self.partial.take() else {
                    return Err(FrameError::Protocol("continuation without a message"));
                };
                so_far.extend_from_slice(&payload);
                if !fin {
                    self.partial = Some((op, so_far));
                    return Ok(None);
                }
                (op, so_far)
            }
            op if !fin => {
                self.partial = Some((op, payload));
                return Ok(None);
            }
            op => (op, payload),
        };
        let data = data.freeze();
        if opcode == OP_TEXT {
            if std::str::from_utf8(&data).is_err() {
                return Err(FrameError::BadUtf8);
            }
            Ok(Some(Message::Text(data)))
        } else {
            Ok(Some(Message::Binary(data)))
        }
    }
}

fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

/// A whole, unmasked server frame carrying `payload`.
pub fn encode(opcode: u8, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(payload.len() + 10);
    out.extend_from_slice(&[FIN | opcode]);
    match payload.len() {
        n if n < 126 => out.extend_from_slice(&[n as u8]),
        n if n <= usize::from(u16::MAX) => {
            out.extend_from_slice(&[126]);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.extend_from_slice(&[127]);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out.freeze()
}

/// A close frame with `code`.
pub fn close(code: u16) -> Bytes {
    encode(OP_CLOSE, &code.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked with `mask`.
    fn client(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut out = vec![first];
        match payload.len() {
            n if n < 126 => out.push(MASKED | n as u8),
            n if n <= 0xFFFF => {
                out.push(MASKED | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(MASKED | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
        out
    }

    fn decode_all(bytes: &[u8], max: usize) -> Result<Vec<Message>, FrameError> {
        let mut d = Decoder::new(max);
        let mut out = Vec::new();
        // One byte at a time: every split point must work.
        for b in bytes {
            d.buffer().extend_from_slice(&[*b]);
            while let Some(m) = d.next_message()? {
                out.push(m);
            }
        }
        Ok(out)
    }

    #[test]
    fn rfc_6455_examples_decode() {
        // Section 5.7: a masked "Hello".
        let hello = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(
            decode_all(&hello, 100).unwrap(),
            [Message::Text(Bytes::from_static(b"Hello"))]
        );
        // Unmasked "Hello" as a server sends it.
        assert_eq!(
            &encode(OP_TEXT, b"Hello")[..],
            [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
        );
        // 256 bytes binary: 16-bit length; 65536: 64-bit length.
        assert_eq!(&encode(OP_BINARY, &[0; 256])[..4], [0x82, 0x7E, 0x01, 0x00]);
        assert_eq!(
            &encode(OP_BINARY, &[0; 65536])[..10],
            [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn fragments_and_interleaved_control_frames_assemble() {
        let mask = [1, 2, 3, 4];
        let mut bytes = client(OP_TEXT, b"Hel", mask);
        bytes.extend(client(FIN | OP_PING, b"p", mask));
        bytes.extend(client(OP_CONTINUATION, b"l", mask));
        bytes.extend(client(FIN | OP_CONTINUATION, b"o", mask));
        bytes.extend(client(FIN | OP_BINARY, &[0u8; 300], mask));
        bytes.extend(client(FIN | OP_BINARY, &[7u8; 70_000], mask));
        bytes.extend(client(FIN | OP_CLOSE, &1000u16.to_be_bytes(), mask));
        let got = decode_all(&bytes, 100_000).unwrap();
        assert_eq!(
            got,
            [
                Message::Ping(Bytes::from_static(b"p")),
                Message::Text(Bytes::from_static(b"Hello")),
                Message::Binary(Bytes::from(vec![0u8; 300])),
                Message::Binary(Bytes::from(vec![7u8; 70_000])),
                Message::Close(Some(1000)),
            ]
        );
    }

    #[test]
    fn malformed_frames_are_refused() {
        let mask = [9, 9, 9, 9];
        let cases: Vec<(Vec<u8>, FrameError)> = vec![
            // Not masked.
            (
                vec![0x81, 0x01, b'a'],
                FrameError::Protocol("client frames must be masked"),
            ),
            // Reserved bits (compression nobody negotiated).
            (
                client(FIN | 0x40 | OP_TEXT, b"a", mask),
                FrameError::Protocol("reserved bits set"),
            ),
            (
                client(FIN | 0x3, b"a", mask),
                FrameError::Protocol("unknown opcode"),
            ),
            (
                client(FIN | OP_CONTINUATION, b"a", mask),
                FrameError::Protocol("continuation without a message"),
            ),
            (
                [
                    client(OP_TEXT, b"a", mask),
                    client(FIN | OP_TEXT, b"b", mask),
                ]
                .concat(),
                FrameError::Protocol("new message inside a fragmented one"),
            ),
            (
                client(OP_PING, b"a", mask),
                FrameError::Protocol("control frames are short and whole"),
            ),
            (
                client(FIN | OP_PING, &[0; 126], mask),
                FrameError::Protocol("control frames are short and whole"),
            ),
            (
                client(FIN | OP_CLOSE, &[3], mask),
                FrameError::Protocol("close payload of one byte"),
            ),
            (
                client(FIN | OP_TEXT, &[0xff, 0xfe], mask),
                FrameError::BadUtf8,
            ),
            (
                client(FIN | OP_BINARY, &[0; 65], mask),
                FrameError::TooBig(64),
            ),
            // Fragments that together pass the limit.
            (
                [
                    client(OP_BINARY, &[0; 40], mask),
                    client(FIN | OP_CONTINUATION, &[0; 40], mask),
                ]
                .concat(),
                FrameError::TooBig(64),
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode_all(&bytes, 64), Err(want), "{bytes:02x?}");
        }
    }

    #[test]
    fn a_huge_length_is_refused_before_its_payload_is_awaited() {
        // 2^63 - 1 bytes announced; nothing else sent.
        let mut d = Decoder::new(4096);
        d.buffer()
            .extend_from_slice(&[0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(d.next_message(), Err(FrameError::TooBig(4096)));
        assert!(d.buffer().capacity() < 1024);
    }
}
