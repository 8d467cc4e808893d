//! Typed events and their encoding on the wire.
//!
//! An event is a small `serde` struct that names its kind, its version and the subject it
//! is published to. On the wire it is JSON, the same between contexts on one node and
//! between nodes over NATS:
//!
//! ```json
//! {"kind": "gift_sent", "v": 1, "data": {"room_id": 7, "...": "..."}}
//! ```
//!
//! A node reads only the versions it knows: one that meets a newer version (a rolling
//! upgrade, with nodes of two versions side by side) or bytes that are not an envelope
//! skips the message and counts it (`bus_undecodable_total{reason}`), never guessing.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::subject::Subject;

/// An event one part of momo tells the others about.
pub trait Event: Serialize + DeserializeOwned {
    /// Its stable name on the wire (`snake_case`), e.g. `gift_sent`.
    const KIND: &'static str;
    /// Moved on when the data's shape or meaning changes so that an older reader would
    /// misread it. Adding an optional field does not need a new version.
    const VERSION: u16;
    /// Where it is published: the room, user or context it is about.
    fn subject(&self) -> Subject;
}

#[derive(Serialize)]
struct EnvelopeOut<'a, E> {
    kind: &'a str,
    v: u16,
    data: &'a E,
}

#[derive(Deserialize)]
struct EnvelopeIn<'a> {
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    v: u16,
    #[serde(borrow)]
    data: &'a serde_json::value::RawValue,
}

/// `event` in its envelope, as it is published.
pub fn encode<E: Event>(event: &E) -> Bytes {
    let out = EnvelopeOut {
        kind: E::KIND,
        v: E::VERSION,
        data: event,
    };
    // Serialising a struct of plain fields into memory does not fail.
    Bytes::from(serde_json::to_vec(&out).unwrap_or_default())
}

/// Why a message is not an event of the type asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not an envelope at all.
    #[error("not an event envelope: {0}")]
    Malformed(String),
    /// An event of another kind (a subscription to a pattern sees several kinds).
    #[error("an event of kind {0:?}")]
    OtherKind(String),
    /// A kind this subscriber does not know (published by a newer node).
    #[error("an event of a kind this node does not know: {0:?}")]
    UnknownKind(String),
    /// This kind at a version this node does not read.
    #[error("version {found} of {kind:?}; this node reads version {reads}")]
    Version {
        kind: String,
        found: u16,
        reads: u16,
    },
    /// The right kind and version, but its data does not fit.
    #[error("{kind:?} data does not fit: {message}")]
    BadData { kind: String, message: String },
}

impl DecodeError {
    fn reason(&self) -> &'static str {
        match self {
            DecodeError::Malformed(_) => "malformed",
            DecodeError::OtherKind(_) => "other_kind",
            DecodeError::UnknownKind(_) => "unknown_kind",
            DecodeError::Version { .. } => "version",
            DecodeError::BadData { .. } => "bad_data",
        }
    }
}

/// The kind an envelope says it holds, without decoding its data.
pub fn kind_of(payload: &[u8]) -> Result<String, DecodeError> {
    serde_json::from_slice::<EnvelopeIn<'_>>(payload)
        .map(|e| e.kind.into_owned())
        .map_err(|e| DecodeError::Malformed(e.to_string()))
}

/// Reads `payload` as an `E`. Anything else but another kind is counted in
/// `bus_undecodable_total{reason}`: a subscriber skips what it cannot read.
pub fn decode<E: Event>(payload: &[u8]) -> Result<E, DecodeError> {
    let result = decode_uncounted::<E>(payload);
    if let Err(e) = &result {
        if !matches!(e, DecodeError::OtherKind(_)) {
            skipped(e);
        }
    }
    result
}

/// Counts a message a subscriber skips, in `bus_undecodable_total{reason}`: one that
/// dispatches on [`kind_of`] calls it for what it cannot read.
pub fn skipped(e: &DecodeError) {
    metrics::counter!("bus_undecodable_total", "reason" => e.reason()).increment(1);
    tracing::debug!("skipped an event: {e}");
}

fn decode_uncounted<E: Event>(payload: &[u8]) -> Result<E, DecodeError> {
    let env: EnvelopeIn<'_> =
        serde_json::from_slice(payload).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if env.kind != E::KIND {
        return Err(DecodeError::OtherKind(env.kind.into_owned()));
    }
    if env.v != E::VERSION {
        return Err(DecodeError::Version {
            kind: E::KIND.to_owned(),
            found: env.v,
            reads: E::VERSION,
        });
    }
    serde_json::from_str(env.data.get()).map_err(|e| DecodeError::BadData {
        kind: E::KIND.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct GiftSent {
        pub room_id: i64,
        pub coins: i64,
    }

    impl Event for GiftSent {
        const KIND: &'static str = "gift_sent";
        const VERSION: u16 = 1;
        fn subject(&self) -> Subject {
            Subject::room(&self.room_id.to_string(), "gift").expect("a room id is a token")
        }
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct GiftSentV2 {
        room_id: i64,
        value: String,
    }

    impl Event for GiftSentV2 {
        const KIND: &'static str = "gift_sent";
        const VERSION: u16 = 2;
        fn subject(&self) -> Subject {
            Subject::room(&self.room_id.to_string(), "gift").expect("a room id is a token")
        }
    }

    #[test]
    fn events_travel_in_a_versioned_envelope() {
        let e = GiftSent {
            room_id: 7,
            coins: 99,
        };
        let wire = encode(&e);
        assert_eq!(
            &wire[..],
            br#"{"kind":"gift_sent","v":1,"data":{"room_id":7,"coins":99}}"#
        );
        assert_eq!(decode::<GiftSent>(&wire), Ok(e));
        assert_eq!(kind_of(&wire).unwrap(), "gift_sent");
    }

    #[test]
    fn a_node_skips_what_it_cannot_read() {
        let newer = encode(&GiftSentV2 {
            room_id: 7,
            value: "x".into(),
        });
        assert!(matches!(
            decode::<GiftSent>(&newer),
            Err(DecodeError::Version {
                found: 2,
                reads: 1,
                ..
            })
        ));
        for junk in [
            &b""[..],
            b"null",
            b"{}",
            b"[1]",
            b"{\"kind\":1,\"v\":1,\"data\":{}}",
        ] {
            assert!(matches!(
                decode::<GiftSent>(junk),
                Err(DecodeError::Malformed(_))
            ));
        }
        let wrong = br#"{"kind":"gift_sent","v":1,"data":{"room_id":"seven"}}"#;
        assert!(matches!(
            decode::<GiftSent>(wrong),
            Err(DecodeError::BadData { .. })
        ));
        let other = br#"{"kind":"user_banned","v":1,"data":{}}"#;
        assert_eq!(
            decode::<GiftSent>(other),
            Err(DecodeError::OtherKind("user_banned".into()))
        );
    }
}
