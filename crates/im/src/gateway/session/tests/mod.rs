//! The session driven as the connection task drives it, with a host in memory in place
//! of the gateway and the app: packets in, outputs out, questions answered.

mod close;
mod conversation;
mod heartbeat;
mod inbox;
mod room;
mod send;
mod sign_in;
mod subscribe;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;
use crate::gateway::history::{HistoryError, SyncPage};
use crate::gateway::inbox::{InboxPage, InboxPosition};
use crate::gateway::policy::Refusal;
use crate::gateway::{AuthError, Identity, Wire};
use crate::proto::{op, Packet};

/// The wall clock at the start of every test, in ms since the epoch.
const EPOCH_MS: i64 = 1_700_000_000_000;

/// `secs` after `t0`, on both clocks.
fn at(t0: Instant, secs: u64) -> Now {
    Now::at(
        t0 + Duration::from_secs(secs),
        EPOCH_MS + secs as i64 * 1000,
    )
}

fn config() -> SessionConfig {
    SessionConfig {
        wire: Wire::WsBinary,
        url_token: None,
        auth_timeout: Duration::from_secs(10),
        heartbeat_timeout: Duration::from_secs(90),
        max_text: 10,
        history: true,
        inbox: true,
    }
}

fn ann() -> Identity {
    Identity {
        user_id: 7,
        name: "ann".into(),
        is_admin: false,
    }
}

fn refusal(code: &'static str, until: Option<i64>) -> Refusal {
    Refusal {
        code,
        message: format!("{code}!"),
        until,
    }
}

fn packet(op: u32, seq: u32, body: Value) -> Packet {
    Packet::new(op, seq, body.to_string())
}

fn auth(body: Value) -> Packet {
    packet(op::AUTH, 1, body)
}

/// A packet's body as JSON.
fn json_of(p: &Packet) -> Value {
    serde_json::from_slice(&p.body).expect("a JSON body")
}

/// The packets among `outputs`.
fn sent(outputs: &[Output]) -> Vec<&Packet> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// The one packet among `outputs`, which must be of operation `op`.
fn only_sent(outputs: &[Output], op: u32) -> Value {
    let sent = sent(outputs);
    assert_eq!(sent.len(), 1, "{outputs:?}");
    assert_eq!(sent[0].op, op, "{outputs:?}");
    json_of(sent[0])
}

/// The close among `outputs`, which must be the last.
fn closed(outputs: &[Output]) -> &Close {
    match outputs.last() {
        Some(Output::Close(c)) => c,
        _ => panic!("no close last in {outputs:?}"),
    }
}

/// The `code` of an op 24 body.
fn code_of(body: &Value) -> &str {
    body["code"].as_str().expect("an error code")
}

/// A gateway and app in memory: answers as set up, moves the connection between rooms.
struct Host {
    identity: Result<Identity, AuthError>,
    key: String,
    join: Result<(), Refusal>,
    speak: Result<(), Refusal>,
    /// The connection's room.
    room: Option<String>,
    online: u32,
    may_send: bool,
    /// Text containing this is refused by the word filter.
    banned: &'static str,
    accepts: Vec<u32>,
    /// What every history and inbox call answers, when not `None`.
    store_error: Option<HistoryError>,
}

impl Default for Host {
    fn default() -> Host {
        Host {
            identity: Ok(ann()),
            key: "key-1".into(),
            join: Ok(()),
            speak: Ok(()),
            room: None,
            online: 3,
            may_send: true,
            banned: "badword",
            accepts: Vec::new(),
            store_error: None,
        }
    }
}

impl Host {
    fn answer(&mut self, ask: &Ask) -> Answer {
        let failed = self.store_error.clone();
        match ask.clone() {
            Ask::Authenticate { .. } => Answer::Identity(self.identity.clone()),
            Ask::Register { .. } => Answer::Registered {
                key: self.key.clone(),
            },
            Ask::MayJoin { .. } => Answer::Policy(self.join.clone()),
            Ask::MaySpeak { .. } => Answer::Policy(self.speak.clone()),
            Ask::ChangeRoom { room } => {
                self.room = room;
                Answer::Online(if self.room.is_some() { self.online } else { 0 })
            }
            Ask::Online => Answer::Online(if self.room.is_some() { self.online } else { 0 }),
            Ask::Room => Answer::Room(self.room.clone()),
            Ask::MaySend { .. } => Answer::MaySend(self.may_send),
            Ask::Filter { text } => {
                Answer::Filtered((!text.contains(self.banned)).then(|| text.replace('!', "")))
            }
            Ask::UpdateAccepts { ops, add } => {
                if add {
                    self.accepts.extend(ops);
                } else {
                    self.accepts.retain(|o| !ops.contains(o));
                }
                Answer::Accepts(self.accepts.clone())
            }
            Ask::Sync { positions, .. } => Answer::Synced(match failed {
                Some(e) => Err(e),
                None => Ok(SyncPage {
                    messages: positions
                        .iter()
                        .map(|(id, seq)| json!({"conversation_id": id, "seq": seq + 1}))
                        .collect(),
                    more: false,
                }),
            }),
            Ask::Read { seq, .. } | Ask::Ack { seq, .. } => {
                Answer::Position(failed.map_or(Ok(seq), Err))
            }
            Ask::SendMessage {
                conversation_id,
                mut message,
                ..
            } => Answer::Stored(match failed {
                Some(e) => Err(e),
                None => {
                    message["conversation_id"] = json!(conversation_id);
                    message["seq"] = json!(5);
                    Ok(message)
                }
            }),
            Ask::InboxSync { after_seq, .. } => Answer::Inbox(match failed {
                Some(e) => Err(e),
                None => Ok(InboxPage {
                    notifications: vec![json!({"seq": after_seq + 1})],
                    more: false,
                    last_seq: after_seq + 1,
                    read_seq: 0,
                }),
            }),
            Ask::InboxRead { seq, .. } => Answer::InboxRead(match failed {
                Some(e) => Err(e),
                None => Ok(InboxPosition {
                    read_seq: seq,
                    unread: 2,
                }),
            }),
        }
    }

    /// Everything the session hands out until it waits for an input, every question
    /// answered (and kept among the outputs, where it was asked).
    fn drive(&mut self, s: &mut Session, now: Now) -> Vec<Output> {
        let mut outputs = Vec::new();
        while let Some(out) = s.poll_output() {
            if let Output::Ask(ask) = &out {
                let answer = self.answer(ask);
                s.answer(answer, now).expect("the answer asked for");
            }
            outputs.push(out);
        }
        outputs
    }

    /// Feeds `packets` over the session's wire at `now`, then drives.
    fn feed(&mut self, s: &mut Session, now: Now, packets: Vec<Packet>) -> Vec<Output> {
        s.handle_packets(s.wire(), packets, now);
        self.drive(s, now)
    }
}

/// A session signed in as ann at `t0` (no room), its sign-in outputs drained.
fn signed_in(host: &mut Host, t0: Instant) -> Session {
    let mut s = Session::new(config(), at(t0, 0));
    host.feed(&mut s, at(t0, 0), vec![auth(json!({"token": "t"}))]);
    assert!(s.is_open());
    s
}

/// A session signed in as ann at `t0`, in room 42.
fn in_room(host: &mut Host, t0: Instant) -> Session {
    let mut s = Session::new(config(), at(t0, 0));
    let body = json!({"token": "t", "room_id": "live://42"});
    host.feed(&mut s, at(t0, 0), vec![auth(body)]);
    assert_eq!(host.room.as_deref(), Some("42"));
    s
}
