//! What a session hands its host: packets to write, changes to make, questions to answer,
//! and the end of the connection.

use bytes::Bytes;

use super::ask::Ask;
use crate::proto::Packet;

/// The next thing the host must do, from [`Session::poll_output`](super::Session::poll_output),
/// in order: each one is done before the next is asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Write this packet (over [`Session::wire`](super::Session::wire)) and wait until
    /// the socket took it, within the write timeout; a write that fails ends the
    /// connection.
    Send(Packet),
    /// Keep back what the room sends this connection from now on (a joiner's recent
    /// messages) until [`Output::Release`], so that it comes after the reply.
    Hold,
    /// Let go what [`Output::Hold`] kept back, after what was written.
    Release,
    /// Broadcast to a room (a danmaku): every member, this connection included.
    PushRoom { room: String, op: u32, body: Bytes },
    /// A question; answer it with [`Session::answer`](super::Session::answer). The
    /// session does nothing else until then.
    Ask(Ask),
    /// The connection ends: say what [`Close::last`] holds, send a WebSocket close
    /// frame with [`Close::code`], and close. Nothing follows.
    Close(Close),
}

/// How a connection ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Close {
    /// The WebSocket close code (unused over TCP).
    pub code: u16,
    /// A packet to write first: an op 24 saying why, or an op 6 to a kicked client.
    pub last: Option<Last>,
    /// Why the server ended a signed-in connection (a stable code and a message), for
    /// logs and metrics; `None` when the client left or never signed in.
    pub error: Option<(&'static str, String)>,
}

/// The packet a connection's goodbye starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct Last {
    pub packet: Packet,
    /// Written as a reply is (waiting for the socket, within the write timeout, a
    /// failure ignored) rather than only queued before the close frame.
    pub wait: bool,
}
