//! One chat connection's protocol, as a state machine.
//!
//! The host (the tokio task in [`crate::gateway::conn`]) reads the socket and feeds the
//! session what it decoded: packets ([`Session::handle_packets`]), bytes that could not
//! be decoded ([`Session::handle_bad_packet`], [`Session::handle_bad_frame`]), that bytes
//! arrived at all ([`Session::handle_read`]), the client's leaving, a kick, and the
//! passing of time ([`Session::handle_timeout`] at [`Session::poll_timeout`]). What the
//! host must do comes out of [`Session::poll_output`], one [`Output`] at a time, in
//! order: packets to write, room changes, broadcasts, and questions ([`Ask`]) whose
//! [`Answer`] the host feeds back with [`Session::answer`] before anything else. No
//! socket, task or clock is inside, so tests and fuzzers drive it directly.
//!
//! A connection first signs in: its first packet must be auth (op 7) within
//! `auth_timeout` (`auth`). Then it is served one packet at a time until it ends: the
//! next packet is taken up only once the outputs of the one before are all done.
//! Every operation a client may send has its file: `heartbeat`, `room` (join, change,
//! leave), `subscribe`, `send` (room messages), `conversation` (sync, ack, read,
//! send), `inbox`; `close` says how a connection ends.

mod ask;
mod auth;
mod close;
mod config;
mod conversation;
mod heartbeat;
mod inbox;
mod output;
mod reply;
mod room;
mod send;
mod subscribe;
#[cfg(test)]
mod tests;
mod time;

pub use ask::{Answer, Ask, UnexpectedAnswer};
pub use config::SessionConfig;
pub use output::{Close, Last, Output};
pub use time::Now;

use std::collections::VecDeque;
use std::time::Instant;

use crate::gateway::{Identity, Wire};
use crate::proto::{self, op, Packet};

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing decoded yet; the auth deadline runs.
    Waiting,
    /// The first packets came; the session asks who the client is and registers it.
    SigningIn,
    /// Signed in: packets are served, the heartbeat deadline runs.
    Open,
    /// [`Output::Close`] was handed out; inputs are ignored.
    Closed,
}

/// What the session waits for the answer to, and what it will do with it.
#[derive(Debug)]
enum Pending {
    SignIn(auth::Step),
    Heartbeat { seq: u32 },
    Room(room::Step),
    Subscribe { seq: u32, op: u32 },
    Send(send::Step),
    Conversation(conversation::Step),
    Inbox(inbox::Step),
}

/// One chat connection, server side.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    phase: Phase,
    /// The wire replies go out on.
    wire: Wire,
    /// The version the client's auth packet carried, which replies carry back.
    ver: u16,
    /// Who signed in, once registered.
    who: Option<Identity>,
    /// Packets received but not yet served.
    queue: VecDeque<Packet>,
    pending: Option<Pending>,
    outputs: VecDeque<Output>,
    /// When [`Session::handle_timeout`] is due: the auth or the heartbeat deadline.
    deadline: Option<Instant>,
    /// The time of the last input.
    now: Now,
}

impl Session {
    /// A session waiting for its auth packet, from `now`.
    pub fn new(config: SessionConfig, now: Now) -> Session {
        Session {
            deadline: Some(now.instant + config.auth_timeout),
            wire: config.wire,
            config,
            phase: Phase::Waiting,
            ver: proto::VERSION,
            who: None,
            queue: VecDeque::new(),
            pending: None,
            outputs: VecDeque::new(),
            now,
        }
    }

    /// The wire to write [`Output::Send`] and [`Close::last`] in.
    pub fn wire(&self) -> Wire {
        self.wire
    }

    /// Whether the client signed in and is being served (until the session closes).
    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// Whether [`Output::Close`] was handed out (or is waiting to be).
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Who signed in, once registered.
    pub fn identity(&self) -> Option<&Identity> {
        self.who.as_ref()
    }

    /// When to call [`Session::handle_timeout`], if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Packets the client sent in one frame (or one from goim's TCP stream), over `wire`.
    pub fn handle_packets(&mut self, wire: Wire, packets: Vec<Packet>, now: Now) {
        self.now = now;
        match self.phase {
            Phase::Waiting => self.first_packets(wire, packets),
            Phase::SigningIn | Phase::Open => self.queue.extend(packets),
            Phase::Closed => {}
        }
    }

    /// The answer to the [`Ask`] handed out last.
    pub fn answer(&mut self, answer: Answer, now: Now) -> Result<(), UnexpectedAnswer> {
        self.now = now;
        let Some(pending) = self.pending.take() else {
            return Err(UnexpectedAnswer);
        };
        match pending {
            Pending::SignIn(step) => self.resume_sign_in(step, answer),
            Pending::Heartbeat { seq } => self.resume_heartbeat(seq, answer),
            Pending::Room(step) => self.resume_room(step, answer),
            Pending::Subscribe { seq, op } => self.resume_subscribe(seq, op, answer),
            Pending::Send(step) => self.resume_send(step, answer),
            Pending::Conversation(step) => self.resume_conversation(step, answer),
            Pending::Inbox(step) => self.resume_inbox(step, answer),
        }
    }

    /// The next thing to do, `None` until an input brings more. A packet waiting is
    /// served only when everything before it is done and no answer is awaited.
    pub fn poll_output(&mut self) -> Option<Output> {
        loop {
            if let Some(out) = self.outputs.pop_front() {
                return Some(out);
            }
            if self.pending.is_some() || self.phase != Phase::Open {
                return None;
            }
            let p = self.queue.pop_front()?;
            self.serve(p);
        }
    }

    /// Hands out `ask` and waits for its answer, to be taken up as `then`.
    fn ask(&mut self, ask: Ask, then: Pending) {
        self.outputs.push_back(Output::Ask(ask));
        self.pending = Some(then);
    }

    /// Puts back what an unexpected answer found pending.
    fn unexpected(&mut self, pending: Pending) -> Result<(), UnexpectedAnswer> {
        self.pending = Some(pending);
        Err(UnexpectedAnswer)
    }

    /// The signed-in user (0 for a guest).
    fn user(&self) -> i64 {
        self.who.as_ref().map_or(0, |w| w.user_id)
    }

    /// One packet of a signed-in connection.
    fn serve(&mut self, p: Packet) {
        // A guest reads rooms: heartbeats and room changes only.
        if self.user() == 0 && !matches!(p.op, op::HEARTBEAT | op::CHANGE_ROOM) {
            let why = "sign in to do this; guests may only read rooms";
            return self.refuse(p.seq, p.op, "sign_in_required", why);
        }
        match p.op {
            op::HEARTBEAT => self.heartbeat(p),
            op::CHANGE_ROOM => self.change_room(p),
            op::SEND_MSG => self.send_to_room(p),
            op::SYNC => self.sync(p),
            op::READ => self.position(p, false),
            op::ACK => self.position(p, true),
            op::CONV_SEND => self.send_to_conversation(p),
            op::NOTIFY_SYNC => self.notify_sync(p),
            op::NOTIFY_READ => self.notify_read(p),
            op::SUB | op::UNSUB => self.subscribe(p),
            op::AUTH => self.refuse(
                p.seq,
                p.op,
                "already_authenticated",
                "this connection is signed in",
            ),
            other => self.refuse(
                p.seq,
                other,
                "unknown_operation",
                "this operation is not supported",
            ),
        }
    }
}
