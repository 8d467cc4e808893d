//! goim's subscriptions: op 14 adds operations to those the connection accepts from the
//! server's pushes, op 16 removes them; the reply (op 15, 17) holds the set now in force
//! (empty: everything).

use serde_json::json;

use super::{Answer, Ask, Pending, Session, UnexpectedAnswer};
use crate::proto::{self, op, Packet};

impl Session {
    /// Op 14 or 16: `{"ops": [..]}`.
    pub(super) fn subscribe(&mut self, p: Packet) {
        let ops = match proto::OpsBody::parse(&p.body) {
            Ok(body) => body.ops,
            Err(e) => return self.refuse(p.seq, p.op, e.code(), &e.to_string()),
        };
        let add = p.op == op::SUB;
        let pending = Pending::Subscribe {
            seq: p.seq,
            op: p.op,
        };
        self.ask(Ask::UpdateAccepts { ops, add }, pending);
    }

    pub(super) fn resume_subscribe(
        &mut self,
        seq: u32,
        asked: u32,
        answer: Answer,
    ) -> Result<(), UnexpectedAnswer> {
        let Answer::Accepts(accepts) = answer else {
            return self.unexpected(Pending::Subscribe { seq, op: asked });
        };
        let reply = if asked == op::SUB {
            op::SUB_REPLY
        } else {
            op::UNSUB_REPLY
        };
        self.reply_json(reply, seq, json!({"ops": accepts}));
        Ok(())
    }
}
