//! Turns the client's bytes into packets: WebSocket frames, or goim's TCP stream.

use bytes::{Bytes, BytesMut};

use super::{Sink, Transport};
use crate::gateway::Wire;
use crate::proto::{self, Packet, ProtoError, StreamDecoder};
use crate::ws::frame::{FrameError, Message};
use crate::ws::Decoder;

/// An idle connection keeps a read buffer no larger than this.
const READ_KEEP: usize = 4096;

/// What the client sent next.
pub(super) enum In {
    /// Packets, and the wire they came over (a WebSocket frame's type says which).
    Packets(Wire, Vec<Packet>),
    Ping(Bytes),
    Pong,
    Close,
}

/// Bytes from the client that end the connection.
pub(super) enum Bad {
    /// The WebSocket framing broke: close with its code.
    Frame(FrameError),
    /// A packet that cannot be understood: an op 24 over `Wire`, then close.
    Packet(ProtoError, Wire),
}

/// The decoder of one connection's bytes.
pub(super) enum Reader {
    Ws(Decoder),
    Tcp(StreamDecoder),
}

impl Reader {
    pub(super) fn new(transport: &Transport, limits: proto::Limits) -> Reader {
        match transport {
            Transport::WebSocket { .. } => Reader::Ws(Decoder::new(
                limits.max_binary_frame().max(limits.max_text_frame()),
            )),
            Transport::Tcp => Reader::Tcp(StreamDecoder::new(limits)),
        }
    }

    pub(super) fn buffer(&mut self) -> &mut BytesMut {
        match self {
            Reader::Ws(d) => d.buffer(),
            Reader::Tcp(d) => d.buffer(),
        }
    }

    pub(super) fn shrink(&mut self) {
        match self {
            Reader::Ws(d) => d.shrink(READ_KEEP),
            Reader::Tcp(d) => d.shrink(READ_KEEP),
        }
    }

    /// The next thing the buffer holds whole, `Ok(None)` while more bytes are needed.
    pub(super) fn next(&mut self, limits: &proto::Limits) -> Result<Option<In>, Bad> {
        match self {
            Reader::Tcp(d) => d
                .next_packet()
                .map(|p| p.map(|p| In::Packets(Wire::Tcp, vec![p])))
                .map_err(|e| Bad::Packet(e, Wire::Tcp)),
            Reader::Ws(d) => Ok(match d.next_message().map_err(Bad::Frame)? {
                None => None,
                Some(Message::Ping(data)) => Some(In::Ping(data)),
                Some(Message::Pong) => Some(In::Pong),
                Some(Message::Close(_)) => Some(In::Close),
                Some(Message::Text(t)) => {
                    // The frame decoder let only UTF-8 through.
                    let text = std::str::from_utf8(&t).unwrap_or_default();
                    let p = proto::decode_text(text, limits)
                        .map_err(|e| Bad::Packet(e, Wire::WsText))?;
                    Some(In::Packets(Wire::WsText, vec![p]))
                }
                Some(Message::Binary(b)) => {
                    let ps = proto::decode_frame_bytes(&b, limits)
                        .map_err(|e| Bad::Packet(e, Wire::WsBinary))?;
                    Some(In::Packets(Wire::WsBinary, ps))
                }
            }),
        }
    }
}

/// Reads from the socket into `reader` once it is readable; `false` at the end of the
/// stream or on an error.
pub(super) async fn read_more(sink: &Sink, reader: &mut Reader) -> bool {
    loop {
        if sink.socket().readable().await.is_err() {
            return false;
        }
        match try_read(sink, reader) {
            Ok(n) => return n > 0,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return false,
        }
    }
}

fn try_read(sink: &Sink, reader: &mut Reader) -> std::io::Result<usize> {
    let buf = reader.buffer();
    if buf.capacity() - buf.len() < 512 {
        buf.reserve(1024);
    }
    sink.socket().try_read_buf(buf)
}
