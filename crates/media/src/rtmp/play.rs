//! What RTMP players are sent: a media frame encoded once into chunks that every player
//! can be sent as is.
//!
//! Cost per frame: one allocation and one copy of the payload, whatever the number of
//! players; each player then costs a reference count on the same `Bytes`.
//!
//! This works because every [`ServerSession`](super::session::ServerSession) sets the
//! same chunk size ([`PLAYER_CHUNK_SIZE`]) right after `connect`, keeps its own stateful
//! traffic off the media chunk stream ids below, and gives the first stream a client
//! creates the id [`PLAY_STREAM_ID`]. A player that created more streams and plays on
//! another id needs its own encoding ([`encode_frame_for`]); the hub can cache one
//! encoding per id in use, almost always just the one.

use bytes::Bytes;

use super::chunk::{encode_standalone, ChunkError, Message};
use crate::frame::{Frame, FrameKind};

/// The chunk size every session announces to its peer after `connect`, and the size
/// shared frames are cut at. 4096 keeps most audio frames and many video frames in a
/// single chunk, like nginx-rtmp and SRS.
pub const PLAYER_CHUNK_SIZE: u32 = 4096;

/// The message stream id a session hands out for a client's first `createStream`.
pub const PLAY_STREAM_ID: u32 = 1;

/// Chunk stream for script data (`onMetaData`) sent to players.
pub const DATA_CSID: u32 = 5;
/// Chunk stream for audio sent to players.
pub const AUDIO_CSID: u32 = 6;
/// Chunk stream for video sent to players.
pub const VIDEO_CSID: u32 = 7;

/// The chunk stream a frame of this kind travels on.
pub fn csid_for(kind: FrameKind) -> u32 {
    match kind {
        FrameKind::Audio => AUDIO_CSID,
        FrameKind::Video => VIDEO_CSID,
        FrameKind::Script => DATA_CSID,
    }
}

/// `frame` as chunk bytes for players on message stream [`PLAY_STREAM_ID`]: what the hub
/// makes once per frame and shares. A payload beyond the 16 MiB message limit cannot be
/// sent over RTMP at all; it comes back empty (and is logged), so players skip it.
pub fn encode_frame(frame: &Frame) -> Bytes {
    encode_frame_for(frame, PLAY_STREAM_ID).unwrap_or_else(|error| {
        tracing::warn!(%error, len = frame.payload.len(), "frame not sent to RTMP players");
        Bytes::new()
    })
}

/// `frame` as chunk bytes for a player playing on `stream_id`, at [`PLAYER_CHUNK_SIZE`],
/// with a full (type 0) header so the bytes do not depend on what the player received
/// before. Fails only for a payload beyond the 16 MiB message limit.
pub fn encode_frame_for(frame: &Frame, stream_id: u32) -> Result<Bytes, ChunkError> {
    let message = Message {
        csid: csid_for(frame.kind),
        timestamp: frame.timestamp,
        type_id: frame.kind.type_id(),
        stream_id,
        payload: frame.payload.clone(),
    };
    encode_standalone(&message, PLAYER_CHUNK_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtmp::chunk::ChunkDecoder;

    #[test]
    fn one_encoding_serves_players_that_joined_at_different_frames() {
        let frames: Vec<Frame> = (0..4u32)
            .map(|i| Frame {
                kind: if i % 2 == 0 {
                    FrameKind::Video
                } else {
                    FrameKind::Audio
                },
                timestamp: i * 20,
                payload: Bytes::from(vec![i as u8; 5000]),
            })
            .collect();
        let shared: Vec<Bytes> = frames.iter().map(encode_frame).collect();
        for join in 0..frames.len() {
            let mut decoder = ChunkDecoder::default();
            decoder.set_chunk_size(PLAYER_CHUNK_SIZE).unwrap();
            for bytes in &shared[join..] {
                decoder.push(bytes).unwrap();
            }
            for frame in &frames[join..] {
                let m = decoder.poll().unwrap().unwrap();
                assert_eq!(m.type_id, frame.kind.type_id());
                assert_eq!(m.timestamp, frame.timestamp);
                assert_eq!(m.stream_id, PLAY_STREAM_ID);
                assert_eq!(m.payload, frame.payload);
            }
        }
    }

    #[test]
    fn frame_too_long_for_rtmp_encodes_to_nothing() {
        let frame = Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::from(vec![0; 1 << 24]),
        };
        assert!(encode_frame(&frame).is_empty());
        assert!(encode_frame_for(&frame, 1).is_err());
    }
}
