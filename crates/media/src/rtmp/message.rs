//! RTMP message type ids, and the protocol control messages (types 1–6) that keep a
//! connection running: chunk size, abort, acknowledgements, user control events, window
//! size and peer bandwidth.
//!
//! These travel on chunk stream 2 and message stream 0. Parsing is strict about length
//! (a short body is an error) and lenient about extra bytes, which some peers append.

use bytes::{BufMut, Bytes, BytesMut};

use super::chunk::Message;

/// Message type ids, as found in the chunk message header.
pub mod type_id {
    /// Set Chunk Size: the sender's chunk size from now on.
    pub const SET_CHUNK_SIZE: u8 = 1;
    /// Abort: drop the partial message on a chunk stream.
    pub const ABORT: u8 = 2;
    /// Acknowledgement: bytes received so far.
    pub const ACKNOWLEDGEMENT: u8 = 3;
    /// User Control: stream begin/end, ping, buffer length.
    pub const USER_CONTROL: u8 = 4;
    /// Window Acknowledgement Size: acknowledge every this many bytes.
    pub const WINDOW_ACK_SIZE: u8 = 5;
    /// Set Peer Bandwidth: limit the peer's output window.
    pub const SET_PEER_BANDWIDTH: u8 = 6;
    /// Audio data (FLV AUDIODATA).
    pub const AUDIO: u8 = 8;
    /// Video data (FLV VIDEODATA).
    pub const VIDEO: u8 = 9;
    /// Data message in AMF3 (a leading 0 byte, then AMF0 in practice).
    pub const DATA_AMF3: u8 = 15;
    /// Command message in AMF3 (a leading 0 byte, then AMF0 in practice).
    pub const COMMAND_AMF3: u8 = 17;
    /// Data message in AMF0 (`@setDataFrame`, `onMetaData`, `|RtmpSampleAccess`).
    pub const DATA_AMF0: u8 = 18;
    /// Command message in AMF0 (`connect`, `publish`, `play`, `_result`, `onStatus` …).
    pub const COMMAND_AMF0: u8 = 20;
    /// Aggregate: several audio/video/data messages in one, FLV-tag style.
    pub const AGGREGATE: u8 = 22;
}

/// The chunk stream id protocol control messages travel on.
pub const CONTROL_CSID: u32 = 2;

/// How the receiver of Set Peer Bandwidth should apply it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitType {
    /// 0: use the new window as is.
    Hard,
    /// 1: use it if smaller than the current one.
    Soft,
    /// 2: use it if the previous limit was hard, else ignore it.
    Dynamic,
}

/// User control events (message type 4); the first two bytes of the body say which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserControl {
    /// 0: a stream is ready to carry data; sent before `NetStream.Play.Start`.
    StreamBegin(u32),
    /// 1: playback of a stream is over.
    StreamEof(u32),
    /// 2: no more data for now on a stream.
    StreamDry(u32),
    /// 3: the client's buffer for a stream, in milliseconds.
    SetBufferLength {
        /// The stream the buffer is for.
        stream_id: u32,
        /// Buffer length in milliseconds.
        millis: u32,
    },
    /// 4: the stream is a recording, not live.
    StreamIsRecorded(u32),
    /// 6: the peer checks we are alive; answer with [`UserControl::PingResponse`]
    /// carrying the same value.
    PingRequest(u32),
    /// 7: the answer to a ping.
    PingResponse(u32),
    /// An event momo does not use, kept raw (for example 31/32, buffer empty/ready).
    Other {
        /// The event type.
        event: u16,
        /// The bytes after the event type.
        data: Bytes,
    },
}

/// A protocol control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlMessage {
    /// 1: the sender cuts its messages into chunks of this size from now on.
    SetChunkSize(u32),
    /// 2: the sender abandoned the message it was sending on this chunk stream.
    Abort {
        /// The chunk stream to reset.
        csid: u32,
    },
    /// 3: the sender has received this many bytes (wrapping at 2^32).
    Acknowledgement {
        /// Bytes received so far.
        sequence: u32,
    },
    /// 4: a user control event.
    UserControl(UserControl),
    /// 5: the sender wants an acknowledgement every this many bytes.
    WindowAckSize(u32),
    /// 6: the sender limits how much we may send unacknowledged.
    SetPeerBandwidth {
        /// Window size in bytes.
        size: u32,
        /// How to apply it.
        limit: LimitType,
    },
}

/// Why a control message body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The body is shorter than the message type requires.
    #[error("control message type {type_id} with a {len}-byte body is too short")]
    TooShort {
        /// The message type.
        type_id: u8,
        /// The body length received.
        len: usize,
    },
    /// Set Peer Bandwidth with a limit type other than 0, 1 or 2.
    #[error("unknown peer bandwidth limit type {0}")]
    UnknownLimitType(u8),
}

impl ControlMessage {
    /// Reads a protocol control message; `Ok(None)` if `type_id` is not one (1–6), so a
    /// caller can try this first on every message.
    pub fn parse(type_id: u8, body: &[u8]) -> Result<Option<ControlMessage>, ControlError> {
        use type_id::*;
        let need = match type_id {
            SET_CHUNK_SIZE | ABORT | ACKNOWLEDGEMENT | WINDOW_ACK_SIZE => 4,
            USER_CONTROL => 2,
            SET_PEER_BANDWIDTH => 5,
            _ => return Ok(None),
        };
        if body.len() < need {
            return Err(ControlError::TooShort {
                type_id,
                len: body.len(),
            });
        }
        let word = |at: usize| -> Option<u32> {
            body.get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        let first = word(0).unwrap_or(0);
        let message = match type_id {
            SET_CHUNK_SIZE => ControlMessage::SetChunkSize(first),
            ABORT => ControlMessage::Abort { csid: first },
            ACKNOWLEDGEMENT => ControlMessage::Acknowledgement { sequence: first },
            WINDOW_ACK_SIZE => ControlMessage::WindowAckSize(first),
            SET_PEER_BANDWIDTH => ControlMessage::SetPeerBandwidth {
                size: first,
                limit: match body[4] {
                    0 => LimitType::Hard,
                    1 => LimitType::Soft,
                    2 => LimitType::Dynamic,
                    other => return Err(ControlError::UnknownLimitType(other)),
                },
            },
            _ => {
                let event = u16::from_be_bytes([body[0], body[1]]);
                let short = || ControlError::TooShort {
                    type_id,
                    len: body.len(),
                };
                let id = word(2);
                let event = match event {
                    0 => UserControl::StreamBegin(id.ok_or_else(short)?),
                    1 => UserControl::StreamEof(id.ok_or_else(short)?),
                    2 => UserControl::StreamDry(id.ok_or_else(short)?),
                    3 => UserControl::SetBufferLength {
                        stream_id: id.ok_or_else(short)?,
                        millis: word(6).ok_or_else(short)?,
                    },
                    4 => UserControl::StreamIsRecorded(id.ok_or_else(short)?),
                    6 => UserControl::PingRequest(id.ok_or_else(short)?),
                    7 => UserControl::PingResponse(id.ok_or_else(short)?),
                    _ => UserControl::Other {
                        event,
                        data: Bytes::copy_from_slice(&body[2..]),
                    },
                };
                ControlMessage::UserControl(event)
            }
        };
        Ok(Some(message))
    }

    /// The message type id this travels as.
    pub fn type_id(&self) -> u8 {
        match self {
            ControlMessage::SetChunkSize(_) => type_id::SET_CHUNK_SIZE,
            ControlMessage::Abort { .. } => type_id::ABORT,
            ControlMessage::Acknowledgement { .. } => type_id::ACKNOWLEDGEMENT,
            ControlMessage::UserControl(_) => type_id::USER_CONTROL,
            ControlMessage::WindowAckSize(_) => type_id::WINDOW_ACK_SIZE,
            ControlMessage::SetPeerBandwidth { .. } => type_id::SET_PEER_BANDWIDTH,
        }
    }

    /// The message body.
    pub fn body(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(10);
        match self {
            ControlMessage::SetChunkSize(v)
            | ControlMessage::Abort { csid: v }
            | ControlMessage::Acknowledgement { sequence: v }
            | ControlMessage::WindowAckSize(v) => out.put_u32(*v),
            ControlMessage::SetPeerBandwidth { size, limit } => {
                out.put_u32(*size);
                out.put_u8(match limit {
                    LimitType::Hard => 0,
                    LimitType::Soft => 1,
                    LimitType::Dynamic => 2,
                });
            }
            ControlMessage::UserControl(event) => {
                let (kind, id) = match event {
                    UserControl::StreamBegin(id) => (0, *id),
                    UserControl::StreamEof(id) => (1, *id),
                    UserControl::StreamDry(id) => (2, *id),
                    UserControl::SetBufferLength { stream_id, millis } => {
                        out.put_u16(3);
                        out.put_u32(*stream_id);
                        out.put_u32(*millis);
                        return out.freeze();
                    }
                    UserControl::StreamIsRecorded(id) => (4, *id),
                    UserControl::PingRequest(v) => (6, *v),
                    UserControl::PingResponse(v) => (7, *v),
                    UserControl::Other { event, data } => {
                        out.put_u16(*event);
                        out.put_slice(data);
                        return out.freeze();
                    }
                };
                out.put_u16(kind);
                out.put_u32(id);
            }
        }
        out.freeze()
    }

    /// The whole message, on chunk stream 2 and message stream 0 as the spec requires.
    pub fn to_message(&self) -> Message {
        Message {
            csid: CONTROL_CSID,
            timestamp: 0,
            type_id: self.type_id(),
            stream_id: 0,
            payload: self.body(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<ControlMessage> {
        vec![
            ControlMessage::SetChunkSize(4096),
            ControlMessage::Abort { csid: 6 },
            ControlMessage::Acknowledgement { sequence: 123_456 },
            ControlMessage::WindowAckSize(2_500_000),
            ControlMessage::SetPeerBandwidth {
                size: 2_500_000,
                limit: LimitType::Dynamic,
            },
            ControlMessage::UserControl(UserControl::StreamBegin(1)),
            ControlMessage::UserControl(UserControl::StreamEof(1)),
            ControlMessage::UserControl(UserControl::StreamDry(1)),
            ControlMessage::UserControl(UserControl::SetBufferLength {
                stream_id: 1,
                millis: 3000,
            }),
            ControlMessage::UserControl(UserControl::StreamIsRecorded(1)),
            ControlMessage::UserControl(UserControl::PingRequest(77)),
            ControlMessage::UserControl(UserControl::PingResponse(77)),
            ControlMessage::UserControl(UserControl::Other {
                event: 31,
                data: Bytes::from_static(&[0, 0, 0, 1]),
            }),
        ]
    }

    #[test]
    fn every_control_message_reads_back_as_built() {
        for m in all() {
            let wire = m.to_message();
            assert_eq!((wire.csid, wire.stream_id), (2, 0));
            assert_eq!(
                ControlMessage::parse(wire.type_id, &wire.payload),
                Ok(Some(m))
            );
        }
    }

    #[test]
    fn set_chunk_size_body_is_four_big_endian_bytes() {
        assert_eq!(
            &ControlMessage::SetChunkSize(4096).body()[..],
            &[0, 0, 0x10, 0]
        );
    }

    #[test]
    fn ping_request_is_event_six() {
        assert_eq!(
            &ControlMessage::UserControl(UserControl::PingRequest(5)).body()[..],
            &[0, 6, 0, 0, 0, 5]
        );
    }

    #[test]
    fn short_bodies_are_errors() {
        assert!(ControlMessage::parse(type_id::SET_CHUNK_SIZE, &[0, 0, 1]).is_err());
        assert!(ControlMessage::parse(type_id::SET_PEER_BANDWIDTH, &[0, 0, 0, 1]).is_err());
        assert!(ControlMessage::parse(type_id::USER_CONTROL, &[0]).is_err());
        assert!(ControlMessage::parse(type_id::USER_CONTROL, &[0, 6, 0]).is_err());
        assert!(ControlMessage::parse(type_id::USER_CONTROL, &[0, 3, 0, 0, 0, 1]).is_err());
    }

    #[test]
    fn unknown_limit_type_is_an_error() {
        assert_eq!(
            ControlMessage::parse(type_id::SET_PEER_BANDWIDTH, &[0, 0, 0, 1, 9]),
            Err(ControlError::UnknownLimitType(9))
        );
    }

    #[test]
    fn other_message_types_are_not_control_messages() {
        for t in [
            type_id::AUDIO,
            type_id::VIDEO,
            type_id::COMMAND_AMF0,
            0,
            255,
        ] {
            assert_eq!(ControlMessage::parse(t, &[0; 8]), Ok(None));
        }
    }
}
