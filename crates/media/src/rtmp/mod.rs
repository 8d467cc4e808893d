//! RTMP, server side and sans-IO: the protocol encoders speak to push a stream, and
//! that players speak to pull one.
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
//! * [`session`]: the state machine that ties them together for one connection.
//!
//! Nothing here reads a socket or a clock; [`session::ServerSession`] takes bytes and
//! gives back events and bytes.

pub mod chunk;
pub mod command;
pub mod data;
pub mod handshake;
pub mod message;
pub mod play;
pub mod reply;
pub mod session;

pub use chunk::{ChunkDecoder, ChunkEncoder, ChunkError, ChunkLimits, Message};
pub use session::{Event, ServerSession, SessionConfig, SessionError};
