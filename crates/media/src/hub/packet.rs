//! A frame on its way to viewers. Each output format's encoding is made at most once per
//! frame, by whichever viewer asks first, and then shared by reference with every other
//! viewer of that format: a thousand HTTP-FLV viewers cost one tag encoding per frame.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::flv;
use crate::frame::{Frame, FrameKind};

/// What a frame means to a viewer joining or catching up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Codec configuration for video (AVC/HEVC decoder configuration record).
    VideoHeader,
    /// Codec configuration for audio (AAC AudioSpecificConfig).
    AudioHeader,
    /// `onMetaData`.
    Metadata,
    /// A video frame a decoder can start from.
    Keyframe,
    /// Any other video frame.
    Video,
    /// Any other audio frame.
    Audio,
}

impl Class {
    /// Classifies a frame from its first bytes; unparseable frames are passed through
    /// as plain audio or video.
    pub fn of(frame: &Frame) -> Class {
        match frame.kind {
            FrameKind::Script => Class::Metadata,
            FrameKind::Audio => match flv::audio::AudioTag::parse(&frame.payload) {
                Ok(tag) if tag.is_sequence_header() => Class::AudioHeader,
                _ => Class::Audio,
            },
            FrameKind::Video => match flv::video::VideoTag::parse(&frame.payload) {
                Ok(tag) if tag.is_sequence_header() => Class::VideoHeader,
                Ok(tag) if tag.is_keyframe() => Class::Keyframe,
                _ => Class::Video,
            },
        }
    }

    /// Whether a viewer must have this before the frames that follow make sense.
    pub fn is_header(self) -> bool {
        matches!(
            self,
            Class::VideoHeader | Class::AudioHeader | Class::Metadata
        )
    }
}

/// A frame plus its lazily made, shared encodings.
#[derive(Debug)]
pub struct Packet {
    pub frame: Frame,
    pub class: Class,
    flv_tag: OnceLock<Bytes>,
    rtmp_chunks: OnceLock<Bytes>,
    rtp_payloads: OnceLock<Option<Vec<Arc<[u8]>>>>,
}

impl Packet {
    pub fn new(frame: Frame) -> Packet {
        let class = Class::of(&frame);
        Packet {
            frame,
            class,
            flv_tag: OnceLock::new(),
            rtmp_chunks: OnceLock::new(),
            rtp_payloads: OnceLock::new(),
        }
    }

    /// The frame as one FLV tag (header, body, previous-tag-size).
    pub fn flv_tag(&self) -> &Bytes {
        self.flv_tag
            .get_or_init(|| flv::tag::encode_tag(&self.frame))
    }

    /// The frame as RTMP chunks on the play stream's media chunk streams.
    pub fn rtmp_chunks(&self) -> &Bytes {
        self.rtmp_chunks
            .get_or_init(|| crate::rtmp::play::encode_frame(&self.frame))
    }

    /// The picture as RTP payloads for WebRTC viewers, made by `make` for the first
    /// one ([`crate::webrtc::rtp::h264_payloads`]); `None` when WebRTC leaves it out.
    pub(crate) fn rtp_payloads(
        &self,
        make: impl FnOnce() -> Option<Vec<Arc<[u8]>>>,
    ) -> Option<&[Arc<[u8]>]> {
        self.rtp_payloads.get_or_init(make).as_deref()
    }

    /// Bytes this packet puts on the wire (for stats).
    pub fn len(&self) -> usize {
        self.frame.payload.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frame.payload.is_empty()
    }
}
