//! Joining, changing and leaving a room (op 12): `{"room_id": "live://{id}"}` moves the
//! connection there (when the room's rules let it), a null room out of any; op 13 says
//! where it is now and how many are there. The room's recent messages come after op 13.

use serde_json::json;

use super::{Answer, Ask, Output, Pending, Session, UnexpectedAnswer};
use crate::proto::{self, op, Packet};

/// Where a room change stands.
#[derive(Debug)]
pub(super) enum Step {
    /// The room's rules are asked whether the user may join `room`.
    Policy { seq: u32, room: String },
    /// The connection is moving into `room` (out of any with `None`).
    Enter { seq: u32, room: Option<String> },
}

impl Session {
    /// Op 12.
    pub(super) fn change_room(&mut self, p: Packet) {
        let target = match proto::ChangeRoomBody::parse(&p.body) {
            Ok(body) => body.room,
            Err(e) => return self.refuse(p.seq, p.op, e.code(), &e.to_string()),
        };
        match target {
            Some(room) => {
                let ask = Ask::MayJoin {
                    room: room.clone(),
                    user: self.user(),
                };
                self.ask(ask, Pending::Room(Step::Policy { seq: p.seq, room }));
            }
            None => self.enter(p.seq, None),
        }
    }

    pub(super) fn resume_room(
        &mut self,
        step: Step,
        answer: Answer,
    ) -> Result<(), UnexpectedAnswer> {
        match (step, answer) {
            (Step::Policy { seq, room }, Answer::Policy(Ok(()))) => self.enter(seq, Some(room)),
            (Step::Policy { seq, .. }, Answer::Policy(Err(no))) => {
                self.refuse_policy(seq, op::CHANGE_ROOM, &no)
            }
            (Step::Enter { seq, room }, Answer::Online(online)) => {
                let room_id = room.map(|r| format!("{}{r}", proto::ROOM_PREFIX));
                let body = json!({"room_id": room_id, "online": online});
                self.reply_json(op::CHANGE_ROOM_REPLY, seq, body);
                self.outputs.push_back(Output::Release);
            }
            (step, _) => return self.unexpected(Pending::Room(step)),
        }
        Ok(())
    }

    /// Moves into `room`, holding what it sends until the reply is written.
    fn enter(&mut self, seq: u32, room: Option<String>) {
        self.outputs.push_back(Output::Hold);
        let ask = Ask::ChangeRoom { room: room.clone() };
        self.ask(ask, Pending::Room(Step::Enter { seq, room }));
    }
}
