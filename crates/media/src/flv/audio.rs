//! What an audio tag body says about itself, read in place.
//!
//! Classic FLV packs the codec and a rough sample format into the first byte; AAC adds
//! an `AACPacketType` byte (sequence header or raw frame). Enhanced RTMP audio uses the
//! sound-format value 9 as an escape, followed by a packet type and a FourCC (`Opus`,
//! `mp4a`, `fLaC`, …).
//!
//! Cost: a few byte reads per frame; the coded data is borrowed, never copied.

use super::error::FlvError;

/// The audio codec of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioCodec {
    /// Sound format 10, or FourCC `mp4a`.
    Aac,
    /// Sound formats 2 and 14 (MP3 8 kHz), or FourCC `.mp3`.
    Mp3,
    /// FourCC `Opus`.
    Opus,
    /// FourCC `fLaC`.
    Flac,
    /// FourCC `ac-3`.
    Ac3,
    /// FourCC `ec-3`.
    Eac3,
    /// Another classic sound format (PCM, ADPCM, Nellymoser, G.711, Speex, …).
    Legacy(u8),
    /// Another Enhanced RTMP FourCC.
    FourCc([u8; 4]),
}

impl AudioCodec {
    fn from_fourcc(cc: [u8; 4]) -> Self {
        match &cc {
            b"mp4a" => AudioCodec::Aac,
            b".mp3" => AudioCodec::Mp3,
            b"Opus" => AudioCodec::Opus,
            b"fLaC" => AudioCodec::Flac,
            b"ac-3" => AudioCodec::Ac3,
            b"ec-3" => AudioCodec::Eac3,
            _ => AudioCodec::FourCc(cc),
        }
    }
}

/// What the body of an audio tag carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioPacket {
    /// The decoder configuration (for AAC, the AudioSpecificConfig). Every new viewer
    /// must get the latest one before any frame.
    SequenceHeader,
    /// Coded audio (for AAC, one raw access unit without ADTS header).
    CodedFrames,
    /// Enhanced RTMP: the end of this configuration.
    SequenceEnd,
    /// Enhanced RTMP: the channel layout.
    MultichannelConfig,
    /// A packet type momo does not interpret; forwarded as is.
    Other(u8),
}

/// The classic first-byte description of the samples. Only meaningful for codecs
/// without their own configuration (MP3, PCM, …); AAC players ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacySound {
    /// 0 = 5.5 kHz, 1 = 11 kHz, 2 = 22 kHz, 3 = 44 kHz.
    pub rate: u8,
    pub sixteen_bit: bool,
    pub stereo: bool,
}

/// An audio tag body, inspected without copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioTag<'a> {
    pub codec: AudioCodec,
    pub packet: AudioPacket,
    /// Whether the tag uses the Enhanced RTMP header.
    pub enhanced: bool,
    /// The classic sample description; `None` for Enhanced RTMP tags.
    pub legacy: Option<LegacySound>,
    /// What follows the headers: the AudioSpecificConfig for an AAC sequence header,
    /// the coded frame otherwise.
    pub data: &'a [u8],
}

impl<'a> AudioTag<'a> {
    /// Reads the header of an audio tag body (an RTMP audio message body).
    ///
    /// Enhanced RTMP multitrack and ModEx packets are refused as `Unsupported`; callers
    /// that only route frames can forward them unchanged.
    pub fn parse(body: &'a [u8]) -> Result<Self, FlvError> {
        let first = *body.first().ok_or(FlvError::Truncated("audio tag"))?;
        let format = first >> 4;
        if format == 9 {
            return Self::parse_enhanced(body, first & 0x0F);
        }
        let legacy = Some(LegacySound {
            rate: first >> 2 & 0x03,
            sixteen_bit: first & 0x02 != 0,
            stereo: first & 0x01 != 0,
        });
        if format == 10 {
            let packet = match *body
                .get(1)
                .ok_or(FlvError::Truncated("AAC audio tag header"))?
            {
                0 => AudioPacket::SequenceHeader,
                1 => AudioPacket::CodedFrames,
                other => AudioPacket::Other(other),
            };
            return Ok(AudioTag {
                codec: AudioCodec::Aac,
                packet,
                enhanced: false,
                legacy,
                data: &body[2..],
            });
        }
        let codec = match format {
            2 | 14 => AudioCodec::Mp3,
            other => AudioCodec::Legacy(other),
        };
        Ok(AudioTag {
            codec,
            packet: AudioPacket::CodedFrames,
            enhanced: false,
            legacy,
            data: &body[1..],
        })
    }

    fn parse_enhanced(body: &'a [u8], packet_type: u8) -> Result<Self, FlvError> {
        if packet_type == 5 || packet_type == 7 {
            return Err(FlvError::Unsupported(
                "Enhanced RTMP multitrack or ModEx audio",
            ));
        }
        if body.len() < 5 {
            return Err(FlvError::Truncated("Enhanced RTMP audio tag header"));
        }
        let packet = match packet_type {
            0 => AudioPacket::SequenceHeader,
            1 => AudioPacket::CodedFrames,
            2 => AudioPacket::SequenceEnd,
            4 => AudioPacket::MultichannelConfig,
            other => AudioPacket::Other(other),
        };
        Ok(AudioTag {
            codec: AudioCodec::from_fourcc([body[1], body[2], body[3], body[4]]),
            packet,
            enhanced: true,
            legacy: None,
            data: &body[5..],
        })
    }

    /// The decoder configuration that must precede any frame.
    pub fn is_sequence_header(&self) -> bool {
        self.packet == AudioPacket::SequenceHeader
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aac_sequence_header_and_raw_frame() {
        let seq = AudioTag::parse(&[0xAF, 0x00, 0x12, 0x10]).unwrap();
        assert_eq!(seq.codec, AudioCodec::Aac);
        assert!(seq.is_sequence_header());
        assert_eq!(seq.data, &[0x12, 0x10]);
        assert_eq!(
            seq.legacy,
            Some(LegacySound {
                rate: 3,
                sixteen_bit: true,
                stereo: true
            })
        );
        let raw = AudioTag::parse(&[0xAF, 0x01, 0x21, 0x00]).unwrap();
        assert_eq!(raw.packet, AudioPacket::CodedFrames);
        assert_eq!(raw.data, &[0x21, 0x00]);
    }

    #[test]
    fn mp3_has_no_packet_type() {
        let tag = AudioTag::parse(&[0x2E, 0xFF, 0xFB]).unwrap();
        assert_eq!(tag.codec, AudioCodec::Mp3);
        assert_eq!(tag.packet, AudioPacket::CodedFrames);
        assert_eq!(tag.data, &[0xFF, 0xFB]);
        assert!(!tag.legacy.unwrap().stereo);
    }

    #[test]
    fn enhanced_opus_is_recognised() {
        let seq = AudioTag::parse(b"\x90OpusOpusHead").unwrap();
        assert!(seq.enhanced);
        assert_eq!(seq.codec, AudioCodec::Opus);
        assert!(seq.is_sequence_header());
        assert_eq!(seq.data, b"OpusHead");
        let frame = AudioTag::parse(b"\x91Opus\xFC").unwrap();
        assert_eq!(frame.packet, AudioPacket::CodedFrames);
        assert_eq!(frame.legacy, None);
    }

    #[test]
    fn enhanced_other_fourccs_and_packets() {
        assert_eq!(AudioTag::parse(b"\x91mp4a").unwrap().codec, AudioCodec::Aac);
        assert_eq!(
            AudioTag::parse(b"\x91fLaC").unwrap().codec,
            AudioCodec::Flac
        );
        assert_eq!(
            AudioTag::parse(b"\x92ac-3").unwrap().packet,
            AudioPacket::SequenceEnd
        );
        assert_eq!(
            AudioTag::parse(b"\x94ec-3").unwrap().packet,
            AudioPacket::MultichannelConfig
        );
        assert_eq!(
            AudioTag::parse(b"\x91abcd").unwrap().codec,
            AudioCodec::FourCc(*b"abcd")
        );
    }

    #[test]
    fn short_or_unsupported_audio_tags_are_errors() {
        assert_eq!(AudioTag::parse(&[]), Err(FlvError::Truncated("audio tag")));
        assert_eq!(
            AudioTag::parse(&[0xAF]),
            Err(FlvError::Truncated("AAC audio tag header"))
        );
        assert_eq!(
            AudioTag::parse(b"\x90Opu"),
            Err(FlvError::Truncated("Enhanced RTMP audio tag header"))
        );
        assert!(matches!(
            AudioTag::parse(&[0x95]),
            Err(FlvError::Unsupported(_))
        ));
    }
}
