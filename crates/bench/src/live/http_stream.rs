//! Reading an endless HTTP/1.1 response by hand: the head, then the body's bytes as
//! slices of whatever was read, in place.
//!
//! An HTTP-FLV viewer is one GET whose answer never ends. A client library would give
//! each body piece its own buffer; thousands of viewers in one process want less: the
//! head is parsed once, and afterwards [`Body::feed`] only walks the chunked framing
//! (momo answers with `Transfer-Encoding: chunked`) and hands the payload on as
//! sub-slices of the read buffer. Nothing is copied and nothing is kept between reads
//! but a few integers of state.

use anyhow::{bail, Result};

/// The largest response head accepted; a real one is a few hundred bytes.
pub const MAX_HEAD: usize = 16 * 1024;

/// What the head says about the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub framing: Framing,
}

/// How the body's end is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// `Content-Length: N`.
    Length(u64),
    /// Neither: the body runs until the server closes the connection.
    UntilClose,
}

/// Parses a response head from the start of `buf`: `Ok(None)` until the blank line
/// that ends it has arrived, then the head and its length in bytes (the body starts
/// right after).
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD {
            bail!("the response head is longer than {MAX_HEAD} bytes");
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end])
        .map_err(|_| anyhow::anyhow!("the response head is not text"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1.x response: {status_line:?}");
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("bad status line: {status_line:?}"))?;
    let mut framing = Framing::UntilClose;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            framing = Framing::Chunked;
        } else if name.eq_ignore_ascii_case("content-length") && framing != Framing::Chunked {
            let n = value
                .parse()
                .map_err(|_| anyhow::anyhow!("bad Content-Length: {value:?}"))?;
            framing = Framing::Length(n);
        }
    }
    Ok(Some((Head { status, framing }, end + 4)))
}

/// The body of a response, turned back into its payload bytes as they arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Chunked(Chunked),
    /// Payload bytes still to come.
    Length(u64),
    UntilClose,
}

impl Body {
    pub fn new(framing: Framing) -> Self {
        match framing {
            Framing::Chunked => Body::Chunked(Chunked::default()),
            Framing::Length(n) => Body::Length(n),
            Framing::UntilClose => Body::UntilClose,
        }
    }

    /// Takes the next bytes read from the socket and calls `payload` with each run of
    /// payload bytes among them. Returns whether the body has ended (the last chunk, or
    /// all of Content-Length); bytes after the end are ignored.
    pub fn feed(&mut self, data: &[u8], payload: impl FnMut(&[u8])) -> Result<bool> {
        match self {
            Body::Chunked(c) => c.feed(data, payload),
            Body::Length(left) => {
                let mut payload = payload;
                let n = data.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                if n > 0 {
                    payload(&data[..n]);
                }
                *left -= n as u64;
                Ok(*left == 0)
            }
            Body::UntilClose => {
                let mut payload = payload;
                if !data.is_empty() {
                    payload(data);
                }
                Ok(false)
            }
        }
    }
}

/// The chunked transfer coding (RFC 9112 §7.1) as a state machine over bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunked {
    state: ChunkState,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hex size; `ext` once a `;` started chunk extensions.
    #[default]
    SizeStart,
    Size {
        size: u64,
        ext: bool,
    },
    /// The `\n` after the size line's `\r`.
    SizeLf {
        size: u64,
    },
    Data {
        left: u64,
    },
    DataCr,
    DataLf,
    /// After the last (zero-size) chunk; trailers are not read.
    Done,
}

/// Chunks larger than this are refused: no server sends one, and it keeps the size
/// arithmetic far from overflow.
const MAX_CHUNK: u64 = 1 << 40;

impl Chunked {
    /// See [`Body::feed`].
    pub fn feed(&mut self, mut data: &[u8], mut payload: impl FnMut(&[u8])) -> Result<bool> {
        while !data.is_empty() {
            match self.state {
                ChunkState::Done => return Ok(true),
                ChunkState::Data { left } => {
                    let n = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    payload(&data[..n]);
                    data = &data[n..];
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        ChunkState::DataCr
                    } else {
                        ChunkState::Data { left }
                    };
                }
                _ => {
                    self.state = self.step(data[0])?;
                    data = &data[1..];
                }
            }
        }
        Ok(self.state == ChunkState::Done)
    }

    /// One byte of framing (anything but chunk data).
    fn step(&self, b: u8) -> Result<ChunkState> {
        let next = match self.state {
            ChunkState::SizeStart => match hex(b) {
                Some(d) => ChunkState::Size {
                    size: d,
                    ext: false,
                },
                None => bail!("chunked body: expected a chunk size, got byte {b:#04x}"),
            },
            ChunkState::Size { size, ext } => match (b, hex(b)) {
                (b'\r', _) => ChunkState::SizeLf { size },
                (_, _) if ext => ChunkState::Size { size, ext },
                (b';', _) => ChunkState::Size { size, ext: true },
                (_, Some(d)) => {
                    let size = size * 16 + d;
                    if size > MAX_CHUNK {
                        bail!("chunked body: chunk larger than {MAX_CHUNK} bytes");
                    }
                    ChunkState::Size { size, ext }
                }
                (b' ' | b'\t', None) => ChunkState::Size { size, ext: true },
                _ => bail!("chunked body: bad byte {b:#04x} in a chunk size"),
            },
            ChunkState::SizeLf { size } => match b {
                b'\n' if size == 0 => ChunkState::Done,
                b'\n' => ChunkState::Data { left: size },
                _ => bail!("chunked body: expected LF after a chunk size"),
            },
            ChunkState::DataCr => match b {
                b'\r' => ChunkState::DataLf,
                _ => bail!("chunked body: expected CRLF after chunk data"),
            },
            ChunkState::DataLf => match b {
                b'\n' => ChunkState::SizeStart,
                _ => bail!("chunked body: expected CRLF after chunk data"),
            },
            // Handled by the caller.
            ChunkState::Data { .. } | ChunkState::Done => self.state,
        };
        Ok(next)
    }
}

fn hex(b: u8) -> Option<u64> {
    char::from(b).to_digit(16).map(u64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` cut into pieces of `step` bytes; returns the payload and whether
    /// the body ended.
    fn decode(body: &mut Body, input: &[u8], step: usize) -> Result<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        let mut done = false;
        for piece in input.chunks(step) {
            done = body.feed(piece, |p| out.extend_from_slice(p))?;
        }
        Ok((out, done))
    }

    #[test]
    fn parses_a_chunked_head_and_finds_the_body() {
        let resp = b"HTTP/1.1 200 OK\r\ncontent-type: video/x-flv\r\nTransfer-Encoding: chunked\r\n\r\nd\r\nFLV";
        assert_eq!(parse_head(&resp[..20]).unwrap(), None);
        let (head, len) = parse_head(resp).unwrap().unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.framing, Framing::Chunked);
        assert_eq!(&resp[len..], b"d\r\nFLV");
    }

    #[test]
    fn parses_length_and_close_framing_and_refuses_junk() {
        let (h, _) = parse_head(b"HTTP/1.1 404 Not Found\r\nContent-Length: 12\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((h.status, h.framing), (404, Framing::Length(12)));
        let (h, _) = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.framing, Framing::UntilClose);
        assert!(parse_head(b"RTSP/1.0 200 OK\r\n\r\n").is_err());
        assert!(parse_head(&vec![b'a'; MAX_HEAD + 1]).is_err());
    }

    #[test]
    fn chunked_payload_survives_any_slicing() {
        let input = b"3\r\nabc\r\n10;name=value\r\n0123456789abcdef\r\n1\r\nz\r\n0\r\n\r\n";
        for step in 1..=input.len() {
            let (out, done) = decode(&mut Body::new(Framing::Chunked), input, step).unwrap();
            assert_eq!(out, b"abc0123456789abcdefz", "step {step}");
            assert!(done, "step {step}");
        }
    }

    #[test]
    fn an_endless_chunked_body_is_not_done() {
        let (out, done) =
            decode(&mut Body::new(Framing::Chunked), b"2\r\nhi\r\n4\r\nth", 3).unwrap();
        assert_eq!(out, b"hith");
        assert!(!done);
    }

    #[test]
    fn broken_chunked_framing_is_an_error() {
        assert!(decode(&mut Body::new(Framing::Chunked), b"x\r\n", 8).is_err());
        assert!(decode(&mut Body::new(Framing::Chunked), b"2\r\nabc\r\n", 8).is_err());
        assert!(decode(&mut Body::new(Framing::Chunked), b"2\rX", 8).is_err());
        assert!(decode(&mut Body::new(Framing::Chunked), b"fffffffffffff\r\n", 8).is_err());
    }

    #[test]
    fn content_length_stops_at_the_length() {
        let (out, done) = decode(&mut Body::new(Framing::Length(5)), b"helloworld", 3).unwrap();
        assert_eq!(out, b"hello");
        assert!(done);
        let (out, done) = decode(&mut Body::new(Framing::UntilClose), b"abc", 2).unwrap();
        assert_eq!(out, b"abc");
        assert!(!done);
    }
}
