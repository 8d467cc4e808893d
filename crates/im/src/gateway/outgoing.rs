//! A message on its way to many connections, encoded at most once per wire format
//! (binary goim packet, JSON text) by the first connection that needs it, then shared.

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
}

impl Outgoing {
    pub fn new(op: u32, body: Bytes) -> Outgoing {
        Outgoing {
            op,
            body,
            binary: OnceLock::new(),
            text: OnceLock::new(),
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
}
