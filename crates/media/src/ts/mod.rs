//! MPEG-TS: the container HLS segments are made of.
//!
//! [`TsMuxer`] turns the frames an RTMP publisher sends (H.264 in length-prefixed NAL
//! units, raw AAC) into 188-byte transport packets: PAT and PMT tables ([`psi`]), PES
//! packets with 90 kHz timestamps ([`pes`]), the Annex B byte stream with access unit
//! delimiters and in-band parameter sets ([`annexb`]), and ADTS-framed AAC ([`adts`]),
//! cut into packets with continuity counters, PCR and stuffing ([`packet`]).
//!
//! Sans-IO like the rest of the codecs: frames in, bytes appended to a `BytesMut` out.

pub mod adts;
pub mod annexb;
pub mod crc;
pub mod error;
pub mod muxer;
pub mod packet;
pub mod pes;
pub mod psi;

pub use error::TsError;
pub use muxer::TsMuxer;

/// Every transport packet is this long.
pub const PACKET_SIZE: usize = 188;
/// PID of the program map table (the PAT points here).
pub const PMT_PID: u16 = 0x1000;
/// PID of the H.264 elementary stream; it also carries the PCR when there is video.
pub const VIDEO_PID: u16 = 0x100;
/// PID of the AAC elementary stream; it carries the PCR for audio-only streams.
pub const AUDIO_PID: u16 = 0x101;
/// PMT stream type of H.264 video.
pub const STREAM_TYPE_H264: u8 = 0x1B;
/// PMT stream type of AAC audio in ADTS framing.
pub const STREAM_TYPE_AAC: u8 = 0x0F;
