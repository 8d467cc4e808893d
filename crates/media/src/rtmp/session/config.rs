//! Settings of a server session.

use crate::rtmp::chunk::ChunkLimits;

/// How a [`ServerSession`](super::ServerSession) treats its peer. The defaults suit a
/// public ingest and play server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Memory limits of the chunk decoder (see [`ChunkLimits`]).
    pub limits: ChunkLimits,
    /// The Window Acknowledgement Size announced to the peer after `connect`: it should
    /// acknowledge every this many bytes it receives (default 2,500,000, as FMS did).
    /// Also the window momo acknowledges with until the peer announces its own.
    pub window_ack_size: u32,
    /// The Set Peer Bandwidth announced after `connect` (default 2,500,000, dynamic).
    pub peer_bandwidth: u32,
    /// How many message streams a peer may have open through `createStream` (default
    /// 16; clients use one or two).
    pub max_streams: usize,
    /// Seed for the handshake's random bytes, for repeatable tests and fuzzing; `None`
    /// (the default) uses the operating system's generator.
    pub handshake_seed: Option<u64>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            limits: ChunkLimits::default(),
            window_ack_size: 2_500_000,
            peer_bandwidth: 2_500_000,
            max_streams: 16,
            handshake_seed: None,
        }
    }
}
