//! Any bytes as the frames of one chat connection, fed to its session (after a valid
//! auth packet, unless the first byte says not to), every question answered from the
//! bytes too: the session never panics, takes every answer it asked for, refuses any
//! other, and hands out at most one close, last.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;

use im::gateway::history::{HistoryError, SyncPage};
use im::gateway::inbox::{InboxPage, InboxPosition};
use im::gateway::policy::Refusal;
use im::gateway::session::{Answer, Ask, Now, Output, Session, SessionConfig};
use im::gateway::{AuthError, GatewayConfig, Identity, Wire};
use im::proto::{self, op, Limits, Packet};

/// Bytes that pick answers: yes or no, as they come, round and round.
struct Choices<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Choices<'_> {
    fn yes(&mut self) -> bool {
        let b = self.bytes.get(self.at % self.bytes.len().max(1)).copied();
        self.at += 1;
        b.is_none_or(|b| b & 1 == 0)
    }
}

fn refused() -> HistoryError {
    HistoryError {
        code: "refused",
        message: "no".into(),
        until: Some(1),
    }
}

fn answer(ask: &Ask, c: &mut Choices) -> Answer {
    let yes = c.yes();
    let no = Refusal {
        code: "muted",
        message: "no".into(),
        until: None,
    };
    match ask {
        Ask::Authenticate { .. } => Answer::Identity(if yes {
            Ok(Identity {
                user_id: if c.yes() { 7 } else { 0 },
                name: "fuzz".into(),
                is_admin: false,
            })
        } else {
            Err(AuthError::InvalidToken)
        }),
        Ask::Register { .. } => Answer::Registered { key: "k".into() },
        Ask::MayJoin { .. } | Ask::MaySpeak { .. } => {
            Answer::Policy(if yes { Ok(()) } else { Err(no) })
        }
        Ask::ChangeRoom { .. } | Ask::Online => Answer::Online(u32::from(yes)),
        Ask::Room => Answer::Room(yes.then(|| "1".to_string())),
        Ask::MaySend { .. } => Answer::MaySend(yes),
        Ask::Filter { text } => Answer::Filtered(yes.then(|| text.clone())),
        Ask::UpdateAccepts { ops, .. } => Answer::Accepts(ops.clone()),
        Ask::Sync { .. } => Answer::Synced(if yes {
            Ok(SyncPage::default())
        } else {
            Err(refused())
        }),
        Ask::Read { seq, .. } | Ask::Ack { seq, .. } => {
            Answer::Position(if yes { Ok(*seq) } else { Err(refused()) })
        }
        Ask::SendMessage { message, .. } => Answer::Stored(if yes {
            Ok(message.clone())
        } else {
            Err(refused())
        }),
        Ask::InboxSync { .. } => Answer::Inbox(if yes {
            Ok(InboxPage::default())
        } else {
            Err(refused())
        }),
        Ask::InboxRead { seq, .. } => Answer::InboxRead(if yes {
            Ok(InboxPosition {
                read_seq: *seq,
                unread: 0,
            })
        } else {
            Err(refused())
        }),
    }
}

/// Drains the session, answering; panics if anything follows a close.
fn drive(s: &mut Session, now: Now, c: &mut Choices, closed: &mut bool) {
    while let Some(out) = s.poll_output() {
        assert!(!*closed, "an output after the close: {out:?}");
        match out {
            Output::Ask(ask) => {
                let a = answer(&ask, c);
                s.answer(a, now).expect("the answer to its own question");
            }
            Output::Close(_) => *closed = true,
            Output::Send(_) | Output::Hold | Output::Release | Output::PushRoom { .. } => {}
        }
    }
    // Every question was answered: an answer now is to none.
    assert!(s.answer(Answer::Online(0), now).is_err());
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let config = SessionConfig {
        history: true,
        inbox: true,
        ..SessionConfig::new(&GatewayConfig::default(), Wire::WsBinary)
    };
    let mut s = Session::new(config, Now::at(t0, 0));
    let mut choices = Choices { bytes: data, at: 0 };
    let mut closed = false;
    let limits = Limits::default();
    if data.first().is_some_and(|b| b & 0x80 == 0) {
        let body = r#"{"token": "t", "room_id": "live://1"}"#;
        let now = Now::at(t0, 0);
        s.handle_packets(Wire::WsBinary, vec![Packet::new(op::AUTH, 1, body)], now);
        drive(&mut s, now, &mut choices, &mut closed);
    }
    // Frames are cut at 0xff; a frame starting with `{` is a text frame, others binary.
    for (i, frame) in data.split(|b| *b == 0xff).enumerate() {
        let now = Now::at(t0 + Duration::from_secs(i as u64), i as i64);
        let text = std::str::from_utf8(frame)
            .ok()
            .filter(|t| t.starts_with('{'));
        match text {
            Some(text) => match proto::decode_text(text, &limits) {
                Ok(p) => s.handle_packets(Wire::WsText, vec![p], now),
                Err(e) => s.handle_bad_packet(e, Wire::WsText, now),
            },
            None => match proto::decode_frame(frame, &limits) {
                Ok(packets) => s.handle_packets(Wire::WsBinary, packets, now),
                Err(e) => s.handle_bad_packet(e, Wire::WsBinary, now),
            },
        }
        s.handle_read(now);
        if frame.len() % 7 == 3 {
            s.handle_timeout(Now::at(t0 + Duration::from_secs(1000), 0));
        }
        drive(&mut s, now, &mut choices, &mut closed);
    }
    assert_eq!(closed, s.is_closed());
});
