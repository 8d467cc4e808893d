//! AMF0, the value encoding of RTMP commands and of FLV/RTMP script data (`onMetaData`).
//!
//! Only the types that encoders and players actually send are supported: numbers,
//! booleans, strings, objects, null, undefined, ECMA arrays, strict arrays, dates and long
//! strings. Everything else (references, typed objects, the switch to AMF3, XML) is
//! refused with [`Amf0Error::UnsupportedMarker`]: no encoder in the wild sends them to a
//! live server, and refusing keeps the decoder small enough to trust with hostile input.
//!
//! The decoder is written for untrusted bytes: nesting is limited to [`MAX_DEPTH`], every
//! length is checked against what is left of the input before anything is allocated, so
//! a value never costs more memory than a small multiple of the bytes it came from.

mod decode;
mod encode;

pub use decode::{decode, decode_all};
pub use encode::{encode, encode_all, to_bytes};

/// How deep objects and arrays may nest. Real metadata and commands nest two or three
/// levels; the limit exists so that a hostile message nested thousands deep is an error
/// instead of a stack overflow.
pub const MAX_DEPTH: usize = 64;

/// One AMF0 value.
///
/// Objects and ECMA arrays keep their properties in wire order in a `Vec`, not a map:
/// order is visible to some players (`onMetaData` shown as sent) and a `Vec` is cheaper
/// for the handful of properties a command carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Marker 0x00: an IEEE-754 double; every AMF0 number, including transaction ids.
    Number(f64),
    /// Marker 0x01.
    Boolean(bool),
    /// Marker 0x02: a string of at most 65535 bytes. Longer strings are written as
    /// [`Value::LongString`] by the encoder.
    String(String),
    /// Marker 0x03: an anonymous object, properties in wire order.
    Object(Vec<(String, Value)>),
    /// Marker 0x05.
    Null,
    /// Marker 0x06.
    Undefined,
    /// Marker 0x08: an associative array; FFmpeg and OBS send `onMetaData` this way. The
    /// count on the wire is only a hint and is not kept.
    EcmaArray(Vec<(String, Value)>),
    /// Marker 0x0A: a dense array.
    StrictArray(Vec<Value>),
    /// Marker 0x0B: milliseconds since the Unix epoch, and a time zone that the spec
    /// says should be 0 but that is kept as sent.
    Date {
        /// Milliseconds since 1970-01-01 UTC.
        millis: f64,
        /// Minutes offset; kept only so that decoding then encoding changes nothing.
        timezone: i16,
    },
    /// Marker 0x0C: a string longer than 65535 bytes.
    LongString(String),
}

impl Value {
    /// The text of a string value (short or long), so callers need not care which
    /// marker a peer chose.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::LongString(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The properties of an object or ECMA array: peers use either for the same data
    /// (metadata, command objects), so readers treat them alike.
    pub fn properties(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(p) | Value::EcmaArray(p) => Some(p),
            _ => None,
        }
    }

    /// The first property named `key` of an object or ECMA array.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.properties()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// Why bytes are not valid AMF0 (as far as momo accepts it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Amf0Error {
    /// The input ended inside a value: either it was cut, or a length field lies.
    #[error("AMF0 input ends inside a value")]
    Truncated,
    /// A marker that momo does not decode (reference, typed object, AMF3 switch, …) or
    /// that does not exist.
    #[error("unsupported AMF0 marker 0x{0:02x}")]
    UnsupportedMarker(u8),
    /// The object-end marker (0x09) appeared where a value was expected.
    #[error("AMF0 object-end marker outside an object")]
    UnexpectedObjectEnd,
    /// Objects or arrays nest deeper than [`MAX_DEPTH`].
    #[error("AMF0 values nest deeper than {MAX_DEPTH}")]
    TooDeep,
}
