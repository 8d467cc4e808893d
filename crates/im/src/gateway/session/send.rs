//! A danmaku to the connection's room (op 4, `{"text": "..."}`): checked (in a room, 1
//! to `max_text` characters), then asked of the room's rules (mutes), the user's rate
//! and the sensitive-word filter, in that order; broadcast to the room as op 1000
//! `{"type": "danmaku", ...}` and answered with op 5.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use super::{Answer, Ask, Output, Pending, Session, UnexpectedAnswer};
use crate::proto::{self, op, Packet};

#[derive(Deserialize)]
struct SendBody {
    text: String,
}

/// Where a room message stands.
#[derive(Debug)]
pub(super) enum Step {
    /// The connection's room is asked; `body` is the packet's.
    Room { seq: u32, body: Bytes },
    /// The room's rules are asked whether the user may speak.
    Policy {
        seq: u32,
        room: String,
        text: String,
    },
    /// The user's rate is asked.
    Rate {
        seq: u32,
        room: String,
        text: String,
    },
    /// The word filter is asked.
    Filter { seq: u32, room: String },
}

impl Session {
    /// Op 4.
    pub(super) fn send_to_room(&mut self, p: Packet) {
        let step = Step::Room {
            seq: p.seq,
            body: p.body,
        };
        self.ask(Ask::Room, Pending::Send(step));
    }

    pub(super) fn resume_send(
        &mut self,
        step: Step,
        answer: Answer,
    ) -> Result<(), UnexpectedAnswer> {
        let user = self.user();
        match (step, answer) {
            (Step::Room { seq, .. }, Answer::Room(None)) => self.refuse(
                seq,
                op::SEND_MSG,
                "not_in_room",
                "join a room first (op 12)",
            ),
            (Step::Room { seq, body }, Answer::Room(Some(room))) => {
                if let Some(text) = self.checked_text(seq, &body) {
                    let ask = Ask::MaySpeak {
                        room: room.clone(),
                        user,
                    };
                    self.ask(ask, Pending::Send(Step::Policy { seq, room, text }));
                }
            }
            (Step::Policy { seq, .. }, Answer::Policy(Err(no))) => {
                self.refuse_policy(seq, op::SEND_MSG, &no)
            }
            (Step::Policy { seq, room, text }, Answer::Policy(Ok(()))) => {
                let next = Pending::Send(Step::Rate { seq, room, text });
                self.ask(Ask::MaySend { user }, next);
            }
            (Step::Rate { seq, .. }, Answer::MaySend(false)) => {
                self.refuse(seq, op::SEND_MSG, "rate_limited", "slow down")
            }
            (Step::Rate { seq, room, text }, Answer::MaySend(true)) => self.ask(
                Ask::Filter { text },
                Pending::Send(Step::Filter { seq, room }),
            ),
            (Step::Filter { seq, .. }, Answer::Filtered(None)) => {
                let why = "the message contains words that are not allowed";
                self.refuse(seq, op::SEND_MSG, "sensitive_words", why)
            }
            (Step::Filter { seq, room }, Answer::Filtered(Some(text))) => {
                self.broadcast(room, &text);
                self.reply_json(op::SEND_MSG_REPLY, seq, json!({"ok": true}));
            }
            (step, _) => return self.unexpected(Pending::Send(step)),
        }
        Ok(())
    }

    /// The body's text, trimmed, or `None` after refusing it.
    fn checked_text(&mut self, seq: u32, body: &[u8]) -> Option<String> {
        let Ok(body) = serde_json::from_slice::<SendBody>(body) else {
            self.refuse(
                seq,
                op::SEND_MSG,
                "bad_body",
                "expected {\"text\": \"...\"}",
            );
            return None;
        };
        let text = body.text.trim();
        let max = self.config.max_text;
        if text.is_empty() || text.chars().count() > max {
            let why = format!("text must be 1 to {max} characters");
            self.refuse(seq, op::SEND_MSG, "bad_text", &why);
            return None;
        }
        Some(text.to_string())
    }

    /// The danmaku to everyone in `room`, stamped with the time of the last input.
    fn broadcast(&mut self, room: String, text: &str) {
        let (id, name) = match &self.who {
            Some(who) => (who.user_id, who.name.as_str()),
            None => (0, ""),
        };
        let body = json!({
            "type": "danmaku",
            "room_id": format!("{}{room}", proto::ROOM_PREFIX),
            "user": {"id": id, "name": name},
            "text": text,
            "ts": self.now.unix_ms,
        });
        let body = Bytes::from(body.to_string());
        self.outputs.push_back(Output::PushRoom {
            room,
            op: op::MESSAGE,
            body,
        });
    }
}
