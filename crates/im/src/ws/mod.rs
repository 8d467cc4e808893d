//! The WebSocket layer of the gateway, written here rather than taken from a library so
//! that a room message is framed once and written straight to every member's socket:
//! [`handshake`] answers the upgrade, [`frame`] decodes client frames and encodes server
//! frames (sans-IO), [`link`] is a connection's socket shared by its own task and the
//! room fan-out.

pub mod frame;
pub mod handshake;
pub mod link;

pub use frame::{Decoder, FrameError, Message};
pub use link::Link;
