//! What can go wrong reading FLV and the codec data inside it.

/// An FLV stream, tag body or codec configuration that cannot be understood.
///
/// The `&'static str` names the structure that was being read, so a log line says
/// *where* a publisher's stream went wrong without carrying the bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlvError {
    /// The stream does not start with `FLV`: it is something else (or nothing at all).
    #[error("not an FLV stream: it does not start with the `FLV` signature")]
    BadSignature,
    /// The header's DataOffset is below the 9 bytes of the header itself, or absurdly large.
    #[error("FLV header size {0} is invalid")]
    BadHeaderSize(u32),
    /// A tag announces more data than the reader is willing to hold.
    #[error("FLV tag of {size} bytes exceeds the limit of {max} bytes")]
    TagTooLarge { size: usize, max: usize },
    /// The input ended before the structure did.
    #[error("{0} is truncated")]
    Truncated(&'static str),
    /// A field holds a value the format forbids.
    #[error("{0} is invalid")]
    Invalid(&'static str),
    /// Well-formed, but a feature momo does not handle.
    #[error("{0} is not supported")]
    Unsupported(&'static str),
}
