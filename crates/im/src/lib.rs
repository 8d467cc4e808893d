//! momo's chat gateway.
//!
//! Clients speak goim's wire format over a WebSocket at `/ws` (binary frames of 16-byte
//! header packets, or the same operations as JSON text frames), so goim clients connect
//! unchanged. [`proto`] is the codec, sans-IO; [`gateway`] holds the connections, the
//! rooms they sit in and the push API that the rest of momo sends through.
//!
//! Like `media`, this crate knows nothing of users in the database: it asks a
//! [`gateway::Authenticator`] that the app implements who a token belongs to.

pub mod gateway;
pub mod proto;
pub mod ws;
