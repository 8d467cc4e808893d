//! RTMP, sans-IO: the protocol encoders speak to push a stream, and that players speak
//! to pull one. momo is the server; the client side exists for momo's own tests and
//! bench.
//!
//! Layers, bottom up, one file each:
//!
//! * [`handshake`]: C0/C1/C2 in, S0/S1/S2 out, plain or with digests.
//! * [`chunk`]: the chunk stream, bytes to [`Message`]s and back.
//! * [`message`]: message type ids and the protocol control messages.
//! * [`command`]: AMF0 commands from clients (`connect`, `publish`, `play` …).
//! * [`reply`]: what the server answers (`_result`, `onStatus` …).
//! * [`data`]: `@setDataFrame` / `onMetaData` data messages.
//! * [`play`]: what players are sent, a frame encoded once for all of them.
//! * [`aggregate`]: aggregate messages, unpacked into the messages they carry.
//! * [`session`]: the state machine that ties them together for one connection.
//! * [`client`]: the other end, a publisher or player, on the same layers.
//!
//! Nothing here reads a socket or a clock; [`session::ServerSession`] and
//! [`client::ClientSession`] take bytes and give back events and bytes.

pub mod aggregate;
pub mod chunk;
pub mod client;
pub mod command;
pub mod data;
pub mod handshake;
pub mod message;
pub mod play;
pub mod reply;
pub mod session;

pub use chunk::{ChunkDecoder, ChunkEncoder, ChunkError, ChunkLimits, Message};
pub use client::{ClientError, ClientEvent, ClientSession};
pub use session::{Event, ServerSession, SessionConfig, SessionError};
