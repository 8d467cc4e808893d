//! What can be wrong with a frame or a body a client sent.

/// A client frame or body that cannot be understood.
///
/// The message is written for the client's developer (it goes back in the op 24 error
/// reply); [`ProtoError::code`] is the stable part that clients and metrics match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// The frame ends inside a packet header (an empty frame included).
    #[error("the frame ends inside a packet header: a packet needs at least 16 bytes")]
    Truncated,
    /// The header-length field is not 16.
    #[error("header length {0} is invalid: goim packets have a 16-byte header")]
    BadHeaderLen(u16),
    /// The packet-length field is below the header length, or runs past the frame.
    #[error(
        "packet length {0} is invalid: it must count the 16-byte header and the body, \
         and the whole packet must be in the frame"
    )]
    BadPacketLen(u32),
    /// A body over [`Limits::max_body`](super::Limits::max_body).
    #[error("a body of {0} bytes is over the limit; send smaller messages")]
    BodyTooLarge(usize),
    /// More packets in one frame than [`Limits::max_packets_per_frame`](super::Limits).
    #[error("too many packets in one frame; send them in several frames")]
    TooManyPackets,
    /// A text frame over [`Limits::max_text_frame`](super::Limits::max_text_frame).
    #[error("a text frame of {0} bytes is over the limit; send smaller messages")]
    FrameTooLarge(usize),
    /// A text frame or a body that is not valid JSON.
    #[error("not valid JSON: {0}")]
    NotJson(String),
    /// A text frame whose JSON is not an object.
    #[error("a text frame must be a JSON object like {{\"op\": 2, \"seq\": 1}}")]
    NotAnObject,
    /// A text frame without `op`.
    #[error("the text frame has no \"op\": say which operation, e.g. {{\"op\": 2}}")]
    MissingOp,
    /// `op` or `seq` in a text frame is not a whole number that fits 32 bits.
    #[error("\"{0}\" must be a whole number from 0 to 4294967295")]
    BadField(&'static str),
    /// A body that is JSON but not the shape its operation needs.
    #[error("{0}")]
    BadBody(String),
    /// A room id that is not `live://` and 1–64 letters, digits, `_` or `-`.
    #[error("room id {0:?} is invalid: it must look like live://123 (1 to 64 of A-Z a-z 0-9 _ -)")]
    BadRoom(String),
}

impl ProtoError {
    /// A stable snake_case code for the error reply's `code` and for metric labels.
    pub fn code(&self) -> &'static str {
        match self {
            ProtoError::Truncated => "truncated",
            ProtoError::BadHeaderLen(_) => "bad_header_len",
            ProtoError::BadPacketLen(_) => "bad_packet_len",
            ProtoError::BodyTooLarge(_) => "body_too_large",
            ProtoError::TooManyPackets => "too_many_packets",
            ProtoError::FrameTooLarge(_) => "frame_too_large",
            ProtoError::NotJson(_) => "not_json",
            ProtoError::NotAnObject => "not_an_object",
            ProtoError::MissingOp => "missing_op",
            ProtoError::BadField(_) => "bad_field",
            ProtoError::BadBody(_) => "bad_body",
            ProtoError::BadRoom(_) => "bad_room",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case() {
        let all = [
            ProtoError::Truncated,
            ProtoError::BadHeaderLen(0),
            ProtoError::BadPacketLen(0),
            ProtoError::BodyTooLarge(0),
            ProtoError::TooManyPackets,
            ProtoError::FrameTooLarge(0),
            ProtoError::NotJson(String::new()),
            ProtoError::NotAnObject,
            ProtoError::MissingOp,
            ProtoError::BadField("op"),
            ProtoError::BadBody(String::new()),
            ProtoError::BadRoom(String::new()),
        ];
        let mut codes: Vec<&str> = all.iter().map(ProtoError::code).collect();
        assert!(codes
            .iter()
            .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
