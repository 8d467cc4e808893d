//! A message on its way to many connections, encoded at most once per wire format
//! (binary goim packet, JSON text) and framed at most once per [`Wire`] by the first
//! connection that needs it, then shared.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::proto::{self, Packet};

/// How a connection's packets travel, which decides the bytes it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wire {
    /// Binary WebSocket frames of goim packets.
    WsBinary,
    /// Text WebSocket frames of JSON packets.
    WsText,
    /// goim packets straight on a TCP stream, as goim's comet serves native apps.
    Tcp,
}

impl Wire {
    /// Answers in JSON rather than goim's binary bodies (the heartbeat reply's count).
    pub fn is_text(self) -> bool {
        self == Wire::WsText
    }

    /// Speaks WebSocket (has close frames and pings).
    pub fn is_websocket(self) -> bool {
        self != Wire::Tcp
    }

    /// `p` as this wire's bytes: a whole WebSocket frame, or the bare packet over TCP.
    pub fn encode(self, p: &Packet) -> Bytes {
        use crate::ws::frame::{encode, OP_BINARY, OP_TEXT};
        match self {
            Wire::WsBinary => encode(OP_BINARY, &proto::encode_to_bytes(p)),
            Wire::WsText => encode(OP_TEXT, proto::encode_text(p).as_bytes()),
            Wire::Tcp => proto::encode_to_bytes(p),
        }
    }

    fn index(self) -> usize {
        match self {
            Wire::WsBinary => 0,
            Wire::WsText => 1,
            Wire::Tcp => 2,
        }
    }
}

/// One message for one or many connections.
#[derive(Debug)]
pub struct Outgoing {
    pub op: u32,
    /// JSON.
    pub body: Bytes,
    binary: OnceLock<Bytes>,
    text: OnceLock<String>,
    ws_binary: OnceLock<Bytes>,
    ws_text: OnceLock<Bytes>,
}

impl Outgoing {
    pub fn new(op: u32, body: Bytes) -> Outgoing {
        Outgoing {
            op,
            body,
            binary: OnceLock::new(),
            text: OnceLock::new(),
            ws_binary: OnceLock::new(),
            ws_text: OnceLock::new(),
        }
    }

    /// A new message with the same operation and a copy of the body, encoded afresh
    /// when asked: what [`super::Fanout::Naive`] gives each recipient.
    pub fn copy(&self) -> Outgoing {
        Outgoing::new(self.op, Bytes::copy_from_slice(&self.body))
    }

    fn packet(&self) -> Packet {
        Packet {
            ver: 1,
            op: self.op,
            seq: 0,
            body: self.body.clone(),
        }
    }

    /// The goim packet bytes.
    pub fn binary(&self) -> &Bytes {
        self.binary
            .get_or_init(|| proto::encode_to_bytes(&self.packet()))
    }

    /// The JSON text frame.
    pub fn text(&self) -> &str {
        self.text.get_or_init(|| proto::encode_text(&self.packet()))
    }

    /// What a connection on `wire` is sent: a binary WebSocket frame holding the goim
    /// packet, a text frame holding the JSON, or over TCP the packet itself.
    pub fn frame(&self, wire: Wire) -> &Bytes {
        use crate::ws::frame::{encode, OP_BINARY, OP_TEXT};
        match wire {
            Wire::WsText => self
                .ws_text
                .get_or_init(|| encode(OP_TEXT, self.text().as_bytes())),
            Wire::WsBinary => self
                .ws_binary
                .get_or_init(|| encode(OP_BINARY, self.binary())),
            Wire::Tcp => self.binary(),
        }
    }
}

/// Messages going out together to the same connections: a room lane's wave, or a single
/// push. A connection that wants every one of them gets their frames back to back in
/// one buffer, built once per frame type on first use, so its write is one contiguous
/// slice however many messages the wave holds (the kernel's cost of a vectored write
/// grows with its slices).
#[derive(Debug)]
pub struct Wave<'a> {
    msgs: &'a [std::sync::Arc<Outgoing>],
    joined: [OnceLock<Bytes>; 3],
}

impl<'a> Wave<'a> {
    pub fn new(msgs: &'a [std::sync::Arc<Outgoing>]) -> Wave<'a> {
        Wave {
            msgs,
            joined: [OnceLock::new(), OnceLock::new(), OnceLock::new()],
        }
    }

    pub fn msgs(&self) -> &'a [std::sync::Arc<Outgoing>] {
        self.msgs
    }

    /// Every message as `wire` sends it, in order, in one buffer.
    pub fn joined(&self, wire: Wire) -> &Bytes {
        self.joined[wire.index()].get_or_init(|| match self.msgs {
            [one] => one.frame(wire).clone(),
            many => {
                let mut all = Vec::with_capacity(many.iter().map(|m| m.frame(wire).len()).sum());
                for m in many {
                    all.extend_from_slice(m.frame(wire));
                }
                Bytes::from(all)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_wave_joins_its_frames_in_order_once_per_frame_type() {
        let msgs: Vec<Arc<Outgoing>> = (0..3u8)
            .map(|i| Arc::new(Outgoing::new(1000, Bytes::from(format!("{{\"n\":{i}}}")))))
            .collect();
        let wave = Wave::new(&msgs);
        for wire in [Wire::WsBinary, Wire::WsText, Wire::Tcp] {
            let want: Vec<u8> = msgs.iter().flat_map(|m| m.frame(wire).to_vec()).collect();
            assert_eq!(wave.joined(wire).as_ref(), &want[..]);
            // Built once: the same buffer again.
            assert_eq!(wave.joined(wire).as_ptr(), wave.joined(wire).as_ptr());
        }
        let one = Wave::new(&msgs[..1]);
        assert_eq!(
            one.joined(Wire::WsBinary).as_ptr(),
            msgs[0].frame(Wire::WsBinary).as_ptr()
        );
        // Over TCP a message is its bare packet.
        assert_eq!(msgs[0].frame(Wire::Tcp), msgs[0].binary());
    }
}
