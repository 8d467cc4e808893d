//! The packets a session answers with: replies of the client's version, and op 24
//! refusals that leave the connection open.

use bytes::Bytes;
use serde_json::json;

use super::{Output, Session};
use crate::gateway::policy::Refusal;
use crate::proto::{op, Packet};

impl Session {
    /// A reply packet, of the client's version.
    pub(super) fn packet(&self, op: u32, seq: u32, body: Bytes) -> Packet {
        Packet {
            ver: self.ver,
            op,
            seq,
            body,
        }
    }

    /// Writes a packet to the client.
    pub(super) fn send(&mut self, p: Packet) {
        self.outputs.push_back(Output::Send(p));
    }

    /// Writes a reply with a JSON body.
    pub(super) fn reply_json(&mut self, op: u32, seq: u32, body: serde_json::Value) {
        let p = self.packet(op, seq, Bytes::from(body.to_string()));
        self.send(p);
    }

    /// An error reply about operation `about` that leaves the connection open.
    pub(super) fn refuse(&mut self, seq: u32, about: u32, code: &'static str, message: &str) {
        metrics::counter!("im_errors_total", "code" => code).increment(1);
        let body = json!({"code": code, "message": message, "op": about});
        self.reply_json(op::ERROR, seq, body);
    }

    /// A refusal by the room policy (or the app): an op 24 with the time it ends, when
    /// it does.
    pub(super) fn refuse_policy(&mut self, seq: u32, about: u32, no: &Refusal) {
        metrics::counter!("im_errors_total", "code" => no.code).increment(1);
        let mut body = json!({"code": no.code, "message": no.message, "op": about});
        if let Some(until) = no.until {
            body["until"] = json!(until);
        }
        self.reply_json(op::ERROR, seq, body);
    }
}

/// The op 24 that says why the connection ends.
pub(super) fn error_packet(ver: u16, seq: u32, code: &str, message: &str) -> Packet {
    let body = json!({"code": code, "message": message}).to_string();
    Packet {
        ver,
        op: op::ERROR,
        seq,
        body: Bytes::from(body),
    }
}
