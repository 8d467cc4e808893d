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

/// Messages going out together to the same connections: a room lane's wave, or a single
/// push. A connection that wants every one of them gets their frames back to back in
/// one buffer, built once per frame type on first use, so its write is one contiguous
/// slice however many messages the wave holds (the kernel's cost of a vectored write
/// grows with its slices).
#[derive(Debug)]
pub struct Wave<'a> {
    msgs: &'a [std::sync::Arc<Outgoing>],
    joined: [OnceLock<Bytes>; 2],
}

impl<'a> Wave<'a> {
    pub fn new(msgs: &'a [std::sync::Arc<Outgoing>]) -> Wave<'a> {
        Wave {
            msgs,
            joined: [OnceLock::new(), OnceLock::new()],
        }
    }

    pub fn msgs(&self) -> &'a [std::sync::Arc<Outgoing>] {
        self.msgs
    }

    /// Every message's WebSocket frame (text or binary), in order, in one buffer.
    pub fn joined(&self, text: bool) -> &Bytes {
        self.joined[usize::from(text)].get_or_init(|| match self.msgs {
            [one] => one.frame(text).clone(),
            many => {
                let mut all = Vec::with_capacity(many.iter().map(|m| m.frame(text).len()).sum());
                for m in many {
                    all.extend_from_slice(m.frame(text));
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
        for text in [false, true] {
            let want: Vec<u8> = msgs.iter().flat_map(|m| m.frame(text).to_vec()).collect();
            assert_eq!(wave.joined(text).as_ref(), &want[..]);
            // Built once: the same buffer again.
            assert_eq!(wave.joined(text).as_ptr(), wave.joined(text).as_ptr());
        }
        let one = Wave::new(&msgs[..1]);
        assert_eq!(one.joined(false).as_ptr(), msgs[0].frame(false).as_ptr());
    }
}
