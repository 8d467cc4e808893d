//! Settings of a client session.

use crate::rtmp::chunk::ChunkLimits;
use crate::rtmp::play::PLAYER_CHUNK_SIZE;

/// How a [`ClientSession`](super::ClientSession) behaves. The defaults are what OBS
/// and FFmpeg do, and what momo's tests and bench want.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The chunk size the client announces and sends with (default 4096, like OBS
    /// and momo's server): a larger size means fewer chunk headers per video frame.
    pub chunk_size: u32,
    /// Memory limits of the chunk decoder for what the server sends.
    pub limits: ChunkLimits,
    /// The buffer a player announces with Set Buffer Length before `play`, in
    /// milliseconds (default 3000, FFmpeg's). Some servers pace their output by it.
    pub buffer_ms: u32,
    /// Acknowledge every this many bytes received until the server announces its own
    /// window (default 2,500,000, what servers announce anyway).
    pub window_ack_size: u32,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            chunk_size: PLAYER_CHUNK_SIZE,
            limits: ChunkLimits::default(),
            buffer_ms: 3000,
            window_ack_size: 2_500_000,
        }
    }
}
