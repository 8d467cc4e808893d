//! Why a frame could not be muxed into MPEG-TS.

use crate::flv::FlvError;

/// A frame the TS muxer cannot write. The muxer's state and output are left as they
/// were: the caller can skip the frame and go on with the next one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsError {
    /// The tag body or the codec configuration inside it is malformed.
    #[error(transparent)]
    Flv(#[from] FlvError),
    /// A coded video frame arrived before any AVC sequence header.
    #[error("video frame before the AVC sequence header")]
    MissingVideoConfig,
    /// A coded audio frame arrived before any AAC sequence header.
    #[error("audio frame before the AAC sequence header")]
    MissingAudioConfig,
    /// HLS over MPEG-TS is written for H.264 only.
    #[error("video codec {0} is not supported in MPEG-TS (H.264 only)")]
    UnsupportedVideoCodec(String),
    /// HLS over MPEG-TS is written for AAC only.
    #[error("audio codec {0} is not supported in MPEG-TS (AAC only)")]
    UnsupportedAudioCodec(String),
    /// The AAC configuration cannot be expressed in an ADTS header.
    #[error("AAC configuration cannot be framed as ADTS: {0}")]
    UnsupportedAacConfig(&'static str),
    /// An AAC frame longer than the 13-bit ADTS frame length allows.
    #[error("AAC frame of {0} bytes is too long for ADTS")]
    AacFrameTooLarge(usize),
    /// A NAL unit length runs past the end of the frame.
    #[error("NAL unit length runs past the end of the video frame")]
    BadNaluLength,
}
