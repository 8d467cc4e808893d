//! The notifications inbox over the socket, served by the app's inbox: sync (op 26 → 27)
//! what was missed and read (op 28 → 29) up to a number. Without an inbox each answers
//! `unavailable`.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::{Answer, Ask, Pending, Session, UnexpectedAnswer};
use crate::proto::{op, Packet};

/// Most notifications one sync answers with.
const SYNC_LIMIT: usize = 200;

#[derive(Deserialize)]
struct NotifySyncBody {
    #[serde(default)]
    after_seq: i64,
}

#[derive(Deserialize)]
struct NotifyReadBody {
    seq: i64,
}

/// What an inbox request waits for.
#[derive(Debug)]
pub(super) enum Step {
    Sync { seq: u32 },
    Read { seq: u32 },
}

impl Session {
    /// `p`'s body as `T`, or `None` after refusing (as for conversations); an empty body
    /// is an empty object.
    fn inbox_request<T: DeserializeOwned>(&mut self, p: &Packet, expected: &str) -> Option<T> {
        if !self.config.inbox {
            self.refuse(
                p.seq,
                p.op,
                "unavailable",
                "notifications are not served here",
            );
            return None;
        }
        // An empty body is an empty object: sync from the start.
        let raw: &[u8] = if p.body.is_empty() { b"{}" } else { &p.body };
        match serde_json::from_slice::<T>(raw) {
            Ok(body) => Some(body),
            Err(_) => {
                self.refuse(p.seq, p.op, "bad_body", expected);
                None
            }
        }
    }

    /// Op 26: `{"after_seq": n}` → op 27 with the notifications after `n`, in order.
    pub(super) fn notify_sync(&mut self, p: Packet) {
        let expected = "expected {\"after_seq\": n} with n >= 0";
        let Some(body) = self.inbox_request::<NotifySyncBody>(&p, expected) else {
            return;
        };
        if body.after_seq < 0 {
            return self.refuse(p.seq, p.op, "bad_body", expected);
        }
        let ask = Ask::InboxSync {
            user: self.user(),
            after_seq: body.after_seq,
            limit: SYNC_LIMIT,
        };
        self.ask(ask, Pending::Inbox(Step::Sync { seq: p.seq }));
    }

    /// Op 28: `{"seq": n}` → op 29 with the read position and the unread count.
    pub(super) fn notify_read(&mut self, p: Packet) {
        let expected = "expected {\"seq\": n}";
        let Some(body) = self.inbox_request::<NotifyReadBody>(&p, expected) else {
            return;
        };
        let ask = Ask::InboxRead {
            user: self.user(),
            seq: body.seq,
        };
        self.ask(ask, Pending::Inbox(Step::Read { seq: p.seq }));
    }

    pub(super) fn resume_inbox(
        &mut self,
        step: Step,
        answer: Answer,
    ) -> Result<(), UnexpectedAnswer> {
        match (step, answer) {
            (Step::Sync { seq }, Answer::Inbox(Ok(page))) => {
                let body = json!({
                    "notifications": page.notifications,
                    "more": page.more,
                    "last_seq": page.last_seq,
                    "read_seq": page.read_seq,
                });
                self.reply_json(op::NOTIFY_SYNC_REPLY, seq, body);
            }
            (Step::Sync { seq }, Answer::Inbox(Err(e))) => {
                self.refuse(seq, op::NOTIFY_SYNC, e.code, &e.message)
            }
            (Step::Read { seq }, Answer::InboxRead(Ok(pos))) => {
                let body = json!({"read_seq": pos.read_seq, "unread": pos.unread});
                self.reply_json(op::NOTIFY_READ_REPLY, seq, body);
            }
            (Step::Read { seq }, Answer::InboxRead(Err(e))) => {
                self.refuse(seq, op::NOTIFY_READ, e.code, &e.message)
            }
            (step, _) => return self.unexpected(Pending::Inbox(step)),
        }
        Ok(())
    }
}
