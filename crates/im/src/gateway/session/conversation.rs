//! Stored conversations over the socket, served by the app's history: sync (op 20 → 21)
//! what was missed, ack (op 18 → 19) what was received, read (op 22 → 23) what was
//! read, and send (op 30 → 31) a message, stored and delivered as the REST send does.
//! Without a history each answers `unavailable`; refusals carry the app's codes.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::{Answer, Ask, Pending, Session, UnexpectedAnswer};
use crate::gateway::policy::Refusal;
use crate::proto::{op, Packet};

/// Most messages one sync answers with.
const SYNC_LIMIT: usize = 200;
/// Most conversations one sync asks about.
const MAX_POSITIONS: usize = 100;

#[derive(Deserialize)]
struct SyncBody {
    positions: HashMap<String, i64>,
}

#[derive(Deserialize)]
struct ReadBody {
    conversation_id: i64,
    seq: i64,
}

#[derive(Deserialize)]
struct ConvSendBody {
    conversation_id: i64,
    /// The rest (`kind`, `content`, `client_id`), checked by the app as the REST send is.
    #[serde(flatten)]
    message: serde_json::Map<String, serde_json::Value>,
}

/// What a conversation request waits for.
#[derive(Debug)]
pub(super) enum Step {
    Sync {
        seq: u32,
    },
    /// An ack (`ack`) or a read of `conversation_id`.
    Position {
        seq: u32,
        conversation_id: i64,
        ack: bool,
    },
    Send {
        seq: u32,
    },
}

impl Session {
    /// `p`'s body as `T`, or `None` after refusing: `unavailable` without a history,
    /// `bad_body` (with `expected`) for a body that is not a `T`.
    fn history_request<T: DeserializeOwned>(&mut self, p: &Packet, expected: &str) -> Option<T> {
        if !self.config.history {
            self.refuse(
                p.seq,
                p.op,
                "unavailable",
                "conversations are not served here",
            );
            return None;
        }
        match serde_json::from_slice::<T>(&p.body) {
            Ok(body) => Some(body),
            Err(_) => {
                self.refuse(p.seq, p.op, "bad_body", expected);
                None
            }
        }
    }

    /// Op 20: `{"positions": {"<conversation_id>": last_seq, ...}}` → op 21 with every
    /// message after each position, in order.
    pub(super) fn sync(&mut self, p: Packet) {
        let expected = "expected {\"positions\": {\"<id>\": seq}}";
        let Some(body) = self.history_request::<SyncBody>(&p, expected) else {
            return;
        };
        let mut positions = Vec::with_capacity(body.positions.len());
        for (id, seq) in body.positions {
            match id.parse::<i64>() {
                Ok(id) if seq >= 0 && positions.len() < MAX_POSITIONS => positions.push((id, seq)),
                _ => {
                    let why = "positions: up to 100 ids with seq >= 0";
                    return self.refuse(p.seq, p.op, "bad_body", why);
                }
            }
        }
        let ask = Ask::Sync {
            user: self.user(),
            positions,
            limit: SYNC_LIMIT,
        };
        self.ask(ask, Pending::Conversation(Step::Sync { seq: p.seq }));
    }

    /// Op 22 (read) or op 18 (ack, `ack` true): `{"conversation_id": id, "seq": n}` → op
    /// 23 with the read position, or op 19 with the delivered position.
    pub(super) fn position(&mut self, p: Packet, ack: bool) {
        let expected = "expected {\"conversation_id\": id, \"seq\": n}";
        let Some(body) = self.history_request::<ReadBody>(&p, expected) else {
            return;
        };
        let (user, conversation_id, seq) = (self.user(), body.conversation_id, body.seq);
        let ask = if ack {
            Ask::Ack {
                user,
                conversation_id,
                seq,
            }
        } else {
            Ask::Read {
                user,
                conversation_id,
                seq,
            }
        };
        let step = Step::Position {
            seq: p.seq,
            conversation_id,
            ack,
        };
        self.ask(ask, Pending::Conversation(step));
    }

    /// Op 30: `{"conversation_id", "kind", "content", "client_id"}` → op 31 with the
    /// message as stored (with its seq), after it is stored; the members' connections
    /// get it pushed as op 1000, as with the REST send. Refusals carry the REST codes.
    pub(super) fn send_to_conversation(&mut self, p: Packet) {
        let expected = "expected {\"conversation_id\": id, \"kind\", \"content\", \"client_id\"}";
        let Some(body) = self.history_request::<ConvSendBody>(&p, expected) else {
            return;
        };
        let ask = Ask::SendMessage {
            user: self.user(),
            conversation_id: body.conversation_id,
            message: serde_json::Value::Object(body.message),
        };
        self.ask(ask, Pending::Conversation(Step::Send { seq: p.seq }));
    }

    pub(super) fn resume_conversation(
        &mut self,
        step: Step,
        answer: Answer,
    ) -> Result<(), UnexpectedAnswer> {
        match (step, answer) {
            (Step::Sync { seq }, Answer::Synced(Ok(page))) => {
                let body = json!({"messages": page.messages, "more": page.more});
                self.reply_json(op::SYNC_REPLY, seq, body);
            }
            (Step::Sync { seq }, Answer::Synced(Err(e))) => {
                self.refuse(seq, op::SYNC, e.code, &e.message)
            }
            (
                Step::Position {
                    seq,
                    conversation_id,
                    ack,
                },
                Answer::Position(moved),
            ) => {
                let (asked, reply, field) = if ack {
                    (op::ACK, op::ACK_REPLY, "delivered_seq")
                } else {
                    (op::READ, op::READ_REPLY, "read_seq")
                };
                match moved {
                    Ok(position) => {
                        let body = json!({"conversation_id": conversation_id, field: position});
                        self.reply_json(reply, seq, body);
                    }
                    Err(e) => self.refuse(seq, asked, e.code, &e.message),
                }
            }
            (Step::Send { seq }, Answer::Stored(Ok(stored))) => {
                self.reply_json(op::CONV_SEND_REPLY, seq, stored)
            }
            (Step::Send { seq }, Answer::Stored(Err(e))) => {
                let no = Refusal {
                    code: e.code,
                    message: e.message,
                    until: e.until,
                };
                self.refuse_policy(seq, op::CONV_SEND, &no);
            }
            (step, _) => return self.unexpected(Pending::Conversation(step)),
        }
        Ok(())
    }
}
