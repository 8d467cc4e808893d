//! Live media for momo: an anchor pushes RTMP, viewers pull RTMP, HTTP-FLV,
//! WebSocket-FLV or HLS.
//!
//! The protocol code is sans-IO, like `quinn-proto` or `str0m`: [`amf0`], [`rtmp`],
//! [`flv`] and [`ts`] turn bytes into events and values into bytes, with no socket, task
//! or clock inside, so they can be driven by tests and fuzzers directly. A thin tokio
//! layer moves bytes between them and sockets: [`server`] for momo's own servers, and
//! [`client`] for the RTMP publishers and players that its tests and bench run.
//!
//! The common currency between ingest and outputs is [`frame::Frame`]: an audio, video
//! or script payload exactly as an RTMP message or an FLV tag body carries it.

pub mod amf0;
pub mod client;
pub mod flv;
pub mod frame;
pub mod hls;
pub mod hub;
pub mod record;
pub mod rtmp;
pub mod server;
pub mod ts;
pub mod webrtc;
