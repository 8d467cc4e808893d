//! The few lines of NATS's text protocol a subscriber reads, as a sans-IO parser: bytes
//! in (from however many WebSocket frames they came in), events out.
//!
//! ```text
//! INFO {...}\r\n                      the server introduces itself
//! MSG <subject> <sid> [reply-to] <n>\r\n<n bytes>\r\n
//! PING\r\n  PONG\r\n  +OK\r\n  -ERR '...'\r\n
//! ```
//!
//! A message may be cut anywhere between frames, so the parser keeps what it has not
//! used yet and waits for the rest; a payload is copied out only once it is whole.

use bytes::{Buf, Bytes, BytesMut};

/// One thing the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Info,
    Msg { subject: String, payload: Bytes },
    Ping,
    Pong,
    Ok,
    Err(String),
}

/// Why the input cannot be NATS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NatsError {
    #[error("unreadable MSG line: {0:?}")]
    BadMsg(String),
    #[error("unknown protocol line: {0:?}")]
    Unknown(String),
    #[error("a line of more than {0} bytes without CRLF")]
    LineTooLong(usize),
}

/// Longest control line accepted (INFO lines are a few hundred bytes).
const MAX_LINE: usize = 64 * 1024;

/// Buffers input and hands out events.
#[derive(Debug, Default)]
pub struct Parser {
    buf: BytesMut,
}

impl Parser {
    /// Adds bytes as they arrived.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole event, `Ok(None)` when more input is needed.
    pub fn next_event(&mut self) -> Result<Option<Event>, NatsError> {
        let Some(eol) = find_crlf(&self.buf) else {
            if self.buf.len() > MAX_LINE {
                return Err(NatsError::LineTooLong(MAX_LINE));
            }
            return Ok(None);
        };
        let line = &self.buf[..eol];
        if let Some(args) = strip_op(line, b"MSG ") {
            let (subject, len) = msg_args(args)
                .ok_or_else(|| NatsError::BadMsg(String::from_utf8_lossy(line).into_owned()))?;
            let need = eol + 2 + len + 2;
            if self.buf.len() < need {
                return Ok(None);
            }
            self.buf.advance(eol + 2);
            let payload = self.buf.split_to(len).freeze();
            self.buf.advance(2);
            return Ok(Some(Event::Msg { subject, payload }));
        }
        let event = if strip_op(line, b"INFO").is_some() {
            Event::Info
        } else if line.eq_ignore_ascii_case(b"PING") {
            Event::Ping
        } else if line.eq_ignore_ascii_case(b"PONG") {
            Event::Pong
        } else if line.eq_ignore_ascii_case(b"+OK") {
            Event::Ok
        } else if let Some(why) = strip_op(line, b"-ERR") {
            Event::Err(String::from_utf8_lossy(why).trim().to_string())
        } else {
            return Err(NatsError::Unknown(
                String::from_utf8_lossy(line).into_owned(),
            ));
        };
        self.buf.advance(eol + 2);
        Ok(Some(event))
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

/// The rest of `line` after the operation `op` (case-insensitive, as NATS allows).
fn strip_op<'a>(line: &'a [u8], op: &[u8]) -> Option<&'a [u8]> {
    (line.len() >= op.len() && line[..op.len()].eq_ignore_ascii_case(op)).then(|| &line[op.len()..])
}

/// `<subject> <sid> [reply-to] <#bytes>` → subject and length.
fn msg_args(args: &[u8]) -> Option<(String, usize)> {
    let text = std::str::from_utf8(args).ok()?;
    let parts: Vec<&str> = text.split_ascii_whitespace().collect();
    if !(3..=4).contains(&parts.len()) {
        return None;
    }
    let len = parts.last()?.parse().ok()?;
    Some((parts[0].to_string(), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(p: &mut Parser) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(e) = p.next_event().unwrap() {
            out.push(e);
        }
        out
    }

    #[test]
    fn reads_info_msg_ping_in_one_go() {
        let mut p = Parser::default();
        p.feed(b"INFO {\"server_id\":\"x\"}\r\nMSG room.1 1 5\r\nhello\r\nPING\r\n+OK\r\n");
        assert_eq!(
            all(&mut p),
            vec![
                Event::Info,
                Event::Msg {
                    subject: "room.1".into(),
                    payload: Bytes::from_static(b"hello")
                },
                Event::Ping,
                Event::Ok,
            ]
        );
    }

    #[test]
    fn a_message_cut_anywhere_comes_out_whole() {
        let wire = b"MSG room.1 1 reply.x 12\r\nhello\r\nworld\r\nPONG\r\n";
        for cut in 1..wire.len() {
            let mut p = Parser::default();
            p.feed(&wire[..cut]);
            let mut events = all(&mut p);
            p.feed(&wire[cut..]);
            events.extend(all(&mut p));
            assert_eq!(
                events,
                vec![
                    Event::Msg {
                        subject: "room.1".into(),
                        payload: Bytes::from_static(b"hello\r\nworld")
                    },
                    Event::Pong
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn an_empty_payload_is_a_message() {
        let mut p = Parser::default();
        p.feed(b"msg a 1 0\r\n\r\n");
        assert_eq!(
            all(&mut p),
            vec![Event::Msg {
                subject: "a".into(),
                payload: Bytes::new()
            }]
        );
    }

    #[test]
    fn errors_and_garbage() {
        let mut p = Parser::default();
        p.feed(b"-ERR 'Slow Consumer'\r\n");
        assert_eq!(
            p.next_event().unwrap(),
            Some(Event::Err("'Slow Consumer'".into()))
        );
        let mut p = Parser::default();
        p.feed(b"MSG a 1 x\r\n");
        assert!(matches!(p.next_event(), Err(NatsError::BadMsg(_))));
        let mut p = Parser::default();
        p.feed(b"HELLO\r\n");
        assert!(matches!(p.next_event(), Err(NatsError::Unknown(_))));
        let mut p = Parser::default();
        p.feed(&vec![b'x'; MAX_LINE + 1]);
        assert!(matches!(p.next_event(), Err(NatsError::LineTooLong(_))));
    }
}
