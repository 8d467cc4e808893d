//! How a connection ends: the client leaves, sends bytes that cannot be understood, is
//! kicked, or goes quiet ([`super::heartbeat`]). Bytes that break a packet get an op 24
//! saying why before the close (code 1008); bytes that break the WebSocket framing get
//! the framing's close code. Before signing in, nothing is counted as a closed session.

use bytes::Bytes;

use super::reply::error_packet;
use super::{Close, Last, Now, Output, Phase, Session};
use crate::gateway::Wire;
use crate::proto::{self, op, ProtoError};
use crate::ws::frame::{self as wsf, FrameError};

impl Session {
    /// A packet (sent over `wire`) that cannot be decoded.
    pub fn handle_bad_packet(&mut self, e: ProtoError, wire: Wire, now: Now) {
        self.now = now;
        if self.phase == Phase::Closed {
            return;
        }
        metrics::counter!("im_errors_total", "code" => e.code()).increment(1);
        let (code, message) = (e.code(), e.to_string());
        if self.phase == Phase::Open {
            let packet = error_packet(self.ver, 0, code, &message);
            self.close(Close {
                code: wsf::CLOSE_POLICY,
                last: Some(Last {
                    packet,
                    wait: false,
                }),
                error: Some((code, message)),
            });
        } else {
            // Said in the wire the client used, in the protocol's first version.
            self.wire = wire;
            self.close(Close {
                code: wsf::CLOSE_POLICY,
                last: Some(Last {
                    packet: error_packet(proto::VERSION, 0, code, &message),
                    wait: false,
                }),
                error: None,
            });
        }
    }

    /// WebSocket framing that cannot be decoded: close with the framing's code.
    pub fn handle_bad_frame(&mut self, e: FrameError, now: Now) {
        self.now = now;
        if self.phase == Phase::Closed {
            return;
        }
        metrics::counter!("im_errors_total", "code" => e.code()).increment(1);
        let error = if self.phase == Phase::Open {
            Some((e.code(), e.to_string()))
        } else {
            tracing::debug!("chat connection closed: {e}");
            None
        };
        self.close(Close {
            code: e.close_code(),
            last: None,
            error,
        });
    }

    /// The client closed the connection (a close frame, or the end of the stream).
    pub fn handle_peer_closed(&mut self) {
        if self.phase != Phase::Closed {
            self.close(Close {
                code: wsf::CLOSE_NORMAL,
                last: None,
                error: None,
            });
        }
    }

    /// The server disconnects a signed-in connection (a ban, a kick): op 6, then close.
    pub fn handle_kick(&mut self) {
        if self.phase != Phase::Open {
            return;
        }
        let packet = self.packet(op::DISCONNECT_REPLY, 0, Bytes::new());
        self.close(Close {
            code: wsf::CLOSE_POLICY,
            last: Some(Last { packet, wait: true }),
            error: Some(("kicked", "disconnected by the server".into())),
        });
    }

    /// The node is stopping: op 6 with `{"code": "node_stopping", "reconnect_after_ms"}`
    /// (when to connect again, to another node behind the same address: spread over the
    /// connections so that they do not all come back in the same second), then a
    /// WebSocket close 1012 (service restart).
    pub fn handle_drain(&mut self, reconnect_after_ms: u64) {
        if self.phase != Phase::Open {
            return;
        }
        let body = serde_json::json!({
            "code": "node_stopping",
            "reconnect_after_ms": reconnect_after_ms,
        });
        let packet = self.packet(op::DISCONNECT_REPLY, 0, Bytes::from(body.to_string()));
        self.close(Close {
            code: wsf::CLOSE_RESTART,
            last: Some(Last { packet, wait: true }),
            error: Some((
                "node_stopping",
                "this node is stopping; connect again".into(),
            )),
        });
    }

    /// Ends the session: `close` is its last output; packets not served are dropped.
    pub(super) fn close(&mut self, close: Close) {
        self.phase = Phase::Closed;
        self.pending = None;
        self.queue.clear();
        self.deadline = None;
        self.outputs.push_back(Output::Close(close));
    }
}
