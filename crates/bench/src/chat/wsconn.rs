//! A WebSocket client connection kept as cheap as the bench can make it, so that ten
//! thousand of them on the server's machine measure the server rather than themselves:
//! the upgrade is written and read by hand, frames are parsed in place in one read
//! buffer per connection (no allocation per message), and the task reads with one
//! system call per wake-up.
//!
//! Only what the servers under test send is understood: unfragmented text and binary
//! frames, ping (answered), pong and close. Frames to the server are masked, as
//! RFC 6455 requires of a client.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::addrs::connect_from;

pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// The read buffer a connection starts with; it grows for a larger frame.
const READ_BUFFER: usize = 4096;
/// Largest frame accepted from a server.
const MAX_FRAME: usize = 1 << 20;
/// Longest upgrade response accepted.
const MAX_HEAD: usize = 8192;
/// The client key of every upgrade; the server's answer to it is checked.
const KEY: &str = "bW9tby1iZW5jaC1rZXkhIQ==";

/// One client's WebSocket.
#[derive(Debug)]
pub struct WsConn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf` read and not yet parsed start here ...
    start: usize,
    /// ... and end here.
    end: usize,
    mask: u32,
}

impl WsConn {
    /// Connects from `source` and upgrades `GET path`.
    pub async fn open(source: Ipv4Addr, server: SocketAddr, path: &str) -> Result<WsConn, String> {
        let mut stream = connect_from(source, server)
            .await
            .map_err(|e| format!("connect: {}", e.kind()))?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("websocket handshake: {e}"))?;
        let mut conn = WsConn {
            stream,
            buf: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
            mask: u32::from_be_bytes(source.octets()) ^ 0x9e37_79b9,
        };
        let head_end = loop {
            if let Some(at) = find(&conn.buf[..conn.end], b"\r\n\r\n") {
                break at + 4;
            }
            if conn.end >= MAX_HEAD.min(conn.buf.len()) {
                return Err("websocket handshake: response head too long".into());
            }
            conn.fill()
                .await
                .map_err(|e| format!("websocket handshake: {e}"))?;
        };
        check_upgrade(&conn.buf[..head_end])?;
        conn.start = head_end;
        Ok(conn)
    }

    /// Sends one masked frame.
    pub async fn send(&mut self, opcode: u8, payload: &[u8]) -> Result<(), String> {
        self.mask = self
            .mask
            .wrapping_mul(1_664_525)
            .wrapping_add(1_013_904_223);
        let frame = masked_frame(opcode, payload, self.mask.to_be_bytes());
        self.stream
            .write_all(&frame)
            .await
            .map_err(|e| format!("write: {e}"))
    }

    /// Reads what the socket has (waiting for at least one byte); an error when the
    /// connection ended.
    pub async fn fill(&mut self) -> Result<(), String> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.end == self.buf.len() {
                // One frame larger than the buffer: make room for it.
                if self.buf.len() >= MAX_FRAME + 14 {
                    return Err(format!("a frame of more than {MAX_FRAME} bytes"));
                }
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        match self.stream.read(&mut self.buf[self.end..]).await {
            Ok(0) => Err("closed by the server".into()),
            Ok(n) => {
                self.end += n;
                Ok(())
            }
            Err(e) => Err(format!("read: {e}")),
        }
    }

    /// Hands every whole text or binary frame read so far to `each` (opcode, payload)
    /// and keeps a partial one for the next read. Answers pings; a close frame or a
    /// frame the bench does not understand is an error.
    pub async fn frames(
        &mut self,
        mut each: impl FnMut(u8, &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut pings = Vec::new();
        while let Some((opcode, at, len)) = parse_header(&self.buf[self.start..self.end])? {
            let payload = &self.buf[self.start + at..self.start + at + len];
            match opcode {
                OP_TEXT | OP_BINARY => each(opcode, payload)?,
                OP_PING => pings.push(payload.to_vec()),
                OP_PONG => {}
                OP_CLOSE => {
                    let code = payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                    return Err(match code {
                        Some(code) => format!("closed by the server ({code})"),
                        None => "closed by the server".into(),
                    });
                }
                other => return Err(format!("unexpected frame opcode {other}")),
            }
            self.start += at + len;
        }
        for p in pings {
            self.send(OP_PONG, &p).await?;
        }
        Ok(())
    }
}

/// The opcode, payload offset and payload length of the whole frame at the start of
/// `buf`; `None` while it is incomplete.
fn parse_header(buf: &[u8]) -> Result<Option<(u8, usize, usize)>, String> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    if b0 & 0x80 == 0 {
        return Err("a fragmented frame (the bench reads whole frames only)".into());
    }
    if b1 & 0x80 != 0 {
        return Err("a masked frame from the server".into());
    }
    let (at, len) = match b1 & 0x7f {
        126 => match buf.get(2..4) {
            Some(l) => (4, usize::from(u16::from_be_bytes([l[0], l[1]]))),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(l) => {
                let len = u64::from_be_bytes(l.try_into().expect("eight bytes"));
                (10, usize::try_from(len).unwrap_or(usize::MAX))
            }
            None => return Ok(None),
        },
        n => (2, usize::from(n)),
    };
    if len > MAX_FRAME {
        return Err(format!("a frame of more than {MAX_FRAME} bytes"));
    }
    Ok((buf.len() >= at + len).then_some((b0 & 0x0f, at, len)))
}

/// A final frame of `opcode` with `payload`, masked with `key`.
fn masked_frame(opcode: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 14);
    f.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= usize::from(u16::MAX) => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// Checks a `101 Switching Protocols` answer and its `Sec-WebSocket-Accept`.
fn check_upgrade(head: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("101") {
        return Err(format!("websocket handshake: {status}"));
    }
    let want = im::ws::handshake::accept_key(KEY.as_bytes());
    let accepted = lines
        .filter_map(|l| l.split_once(':'))
        .any(|(k, v)| k.trim().eq_ignore_ascii_case("sec-websocket-accept") && v.trim() == want);
    if !accepted {
        return Err("websocket handshake: wrong or missing Sec-WebSocket-Accept".into());
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_whole_and_partial_frames() {
        assert_eq!(parse_header(&[]).unwrap(), None);
        assert_eq!(parse_header(&[0x82]).unwrap(), None);
        assert_eq!(parse_header(&[0x82, 3, 1, 2]).unwrap(), None);
        assert_eq!(parse_header(&[0x82, 3, 1, 2, 3]).unwrap(), Some((2, 2, 3)));
        let mut long = vec![0x81, 126, 0x01, 0x00];
        long.resize(4 + 256, b'x');
        assert_eq!(parse_header(&long).unwrap(), Some((1, 4, 256)));
        assert_eq!(parse_header(&long[..100]).unwrap(), None);
        assert_eq!(parse_header(&[0x82, 127, 0, 0]).unwrap(), None);
        assert!(parse_header(&[0x02, 1, 0]).is_err(), "fragment");
        assert!(
            parse_header(&[0x82, 0x81, 0, 0, 0, 0, 0]).is_err(),
            "masked"
        );
        let mut huge = vec![0x82, 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(parse_header(&huge).is_err(), "too long");
    }

    #[test]
    fn masked_frames_unmask_to_the_payload() {
        for len in [0usize, 5, 125, 126, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let f = masked_frame(OP_BINARY, &payload, [1, 2, 3, 4]);
            assert_eq!(f[0], 0x82);
            assert_ne!(f[1] & 0x80, 0);
            let at = f.len() - len;
            let key = &f[at - 4..at];
            let back: Vec<u8> = f[at..]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4])
                .collect();
            assert_eq!(back, payload);
        }
    }

    #[test]
    fn an_upgrade_needs_101_and_the_right_accept() {
        let ok = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            im::ws::handshake::accept_key(KEY.as_bytes())
        );
        assert!(check_upgrade(ok.as_bytes()).is_ok());
        assert!(check_upgrade(b"HTTP/1.1 400 Bad Request\r\n\r\n").is_err());
        assert!(check_upgrade(b"HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: x\r\n\r\n").is_err());
    }
}
