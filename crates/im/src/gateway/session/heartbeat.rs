//! Staying alive: a heartbeat (op 2) is answered with op 3 and the room's online count
//! (goim's binary count, or JSON over text frames). A signed-in connection from which
//! nothing at all arrives for `heartbeat_timeout` is closed; one that sends no packet
//! within `auth_timeout` of connecting is closed before signing in.

use super::{Answer, Ask, Close, Now, Pending, Phase, Session, UnexpectedAnswer};
use crate::proto::{self, op, Packet};
use crate::ws::frame as wsf;

impl Session {
    /// Bytes arrived from the client: it is alive.
    pub fn handle_read(&mut self, now: Now) {
        self.now = now;
        if self.phase == Phase::Open {
            self.deadline = Some(now.instant + self.config.heartbeat_timeout);
        }
    }

    /// Time passed; at or after [`Session::poll_timeout`] the connection ends.
    pub fn handle_timeout(&mut self, now: Now) {
        self.now = now;
        if self.deadline.is_none_or(|d| now.instant < d) {
            return;
        }
        match self.phase {
            Phase::Waiting => {
                metrics::counter!("im_errors_total", "code" => "auth_timeout").increment(1);
                self.close(Close {
                    code: wsf::CLOSE_POLICY,
                    last: None,
                    error: None,
                });
            }
            Phase::Open => self.close(Close {
                code: wsf::CLOSE_NORMAL,
                last: None,
                error: Some(("heartbeat_timeout", "no heartbeat".into())),
            }),
            Phase::SigningIn | Phase::Closed => {}
        }
    }

    /// Op 2: asks the room's count, answers op 3.
    pub(super) fn heartbeat(&mut self, p: Packet) {
        self.ask(Ask::Online, Pending::Heartbeat { seq: p.seq });
    }

    pub(super) fn resume_heartbeat(
        &mut self,
        seq: u32,
        answer: Answer,
    ) -> Result<(), UnexpectedAnswer> {
        let Answer::Online(online) = answer else {
            return self.unexpected(Pending::Heartbeat { seq });
        };
        let body = if self.wire.is_text() {
            proto::heartbeat_reply_json(online)
        } else {
            proto::heartbeat_reply_body(online)
        };
        let reply = self.packet(op::HEARTBEAT_REPLY, seq, body);
        self.send(reply);
        Ok(())
    }
}
