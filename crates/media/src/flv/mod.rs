//! FLV: the container that RTMP's audio and video messages already are.
//!
//! An RTMP audio or video message body is byte for byte an FLV tag body, so FLV is both
//! how momo writes HTTP-FLV and recordings ([`tag`]) and how it reads `.flv` files
//! ([`reader`], [`file`]). The tag bodies themselves are inspected without copying by
//! [`video`] and [`audio`]; the codec configurations that sequence-header tags carry are
//! parsed by [`avc`] (with [`sps`] for the picture size) and [`aac`].
//!
//! Everything here is sans-IO: byte slices in, values out, no socket and no clock.

pub mod aac;
pub mod audio;
pub mod avc;
mod bits;
pub mod error;
pub mod file;
pub mod reader;
pub mod slice;
pub mod sps;
pub mod tag;
#[cfg(test)]
pub(crate) mod testdata;
pub mod video;

pub use aac::AudioSpecificConfig;
pub use audio::{AudioCodec, AudioPacket, AudioTag};
pub use avc::AvcConfig;
pub use error::FlvError;
pub use file::read_all;
pub use reader::FlvReader;
pub use sps::Sps;
pub use tag::{encode_tag, FlvHeader};
pub use video::{VideoCodec, VideoFrameType, VideoPacket, VideoTag};
