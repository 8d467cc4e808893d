//! A message on its way to many connections, encoded at most once per wire format
//! (binary goim packet, JSON text) and framed at most once per WebSocket frame type by
//! the first connection that needs it, then shared.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::proto::{self, Packet};

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

    /// The whole WebSocket frame: a binary frame holding the goim packet, or a text
    /// frame holding the JSON.
    pub fn frame(&self, text: bool) -> &Bytes {
        use crate::ws::frame::{encode, OP_BINARY, OP_TEXT};
        if text {
            self.ws_text
                .get_or_init(|| encode(OP_TEXT, self.text().as_bytes()))
        } else {
            self.ws_binary
                .get_or_init(|| encode(OP_BINARY, self.binary()))
        }
    }
}
