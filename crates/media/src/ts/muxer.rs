//! The MPEG-TS muxer: FLV frames (H.264 + AAC) in, transport packets out.
//!
//! Cost: it runs once per stream, not per viewer (HLS viewers share the segments it
//! fills). Per frame it builds the PES in a scratch buffer kept between frames (no
//! allocation once warmed up), then copies it once more into 188-byte packets appended
//! to the caller's `BytesMut`.
//!
//! Timing: FLV timestamps are milliseconds of decode time; MPEG-TS wants 90 kHz. Every
//! PTS and DTS is shifted by [`TIMESTAMP_OFFSET`] so that the PCR, which is written as
//! the un-shifted decode time, runs that far ahead of decoding (the decoder's buffering
//! window), and so that a negative composition time near zero cannot make a PTS wrap.

use bytes::BytesMut;

use super::adts;
use super::annexb;
use super::error::TsError;
use super::packet::{self, Continuity, PesStart};
use super::pes::{self, STREAM_ID_AUDIO, STREAM_ID_VIDEO, TIMESTAMP_MASK};
use super::psi::{self, EsInfo};
use super::{AUDIO_PID, PMT_PID, STREAM_TYPE_AAC, STREAM_TYPE_H264, VIDEO_PID};
use crate::flv::{
    AudioCodec, AudioPacket, AudioSpecificConfig, AudioTag, AvcConfig, VideoCodec, VideoPacket,
    VideoTag,
};
use crate::frame::{Frame, FrameKind};

/// How far PTS/DTS lead the PCR: 500 ms, in 90 kHz ticks.
pub const TIMESTAMP_OFFSET: u64 = 45_000;

const PAT_PID: u16 = 0;

/// Muxes one live stream into MPEG-TS.
///
/// Sequence-header frames configure it (and write nothing); coded frames become PES
/// packets. The PAT and PMT are written by [`TsMuxer::write_tables`] (the HLS segmenter
/// calls it at the start of every segment) and, automatically, before the first frame
/// and whenever the set of streams changes, so the output is always decodable on its own.
/// Streams with only audio or only video are fine: the PMT lists what has been
/// configured, and the clock rides on the video PID or else on the audio one.
#[derive(Debug)]
pub struct TsMuxer {
    video: Option<AvcConfig>,
    audio: Option<AudioSpecificConfig>,
    pmt_version: u8,
    tables_due: bool,
    cc_pat: Continuity,
    cc_pmt: Continuity,
    cc_video: Continuity,
    cc_audio: Continuity,
    /// The PES being built; kept to reuse its allocation.
    scratch: Vec<u8>,
}

impl Default for TsMuxer {
    fn default() -> Self {
        Self::new()
    }
}

impl TsMuxer {
    /// A muxer with no streams configured yet.
    pub fn new() -> Self {
        TsMuxer {
            video: None,
            audio: None,
            pmt_version: 0,
            tables_due: true,
            cc_pat: Continuity::default(),
            cc_pmt: Continuity::default(),
            cc_video: Continuity::default(),
            cc_audio: Continuity::default(),
            scratch: Vec::new(),
        }
    }

    /// Sets the H.264 configuration from an AVCDecoderConfigurationRecord (the body of
    /// the AVC sequence header after its 5-byte FLV video header).
    pub fn set_video_config(&mut self, avcc_record: &[u8]) -> Result<(), TsError> {
        let config = AvcConfig::parse(avcc_record)?;
        let added = self.video.is_none();
        self.video = Some(config);
        if added {
            self.streams_changed();
        }
        Ok(())
    }

    /// Sets the AAC configuration from an AudioSpecificConfig (the body of the AAC
    /// sequence header after its 2-byte FLV audio header).
    pub fn set_audio_config(&mut self, asc: &[u8]) -> Result<(), TsError> {
        let config = AudioSpecificConfig::parse(asc)?;
        adts::check_config(&config)?;
        let added = self.audio.is_none();
        self.audio = Some(config);
        if added {
            self.streams_changed();
        }
        Ok(())
    }

    /// Whether an H.264 stream is configured (and so listed in the PMT).
    pub fn has_video(&self) -> bool {
        self.video.is_some()
    }

    /// Whether an AAC stream is configured (and so listed in the PMT).
    pub fn has_audio(&self) -> bool {
        self.audio.is_some()
    }

    /// The current H.264 configuration.
    pub fn video_config(&self) -> Option<&AvcConfig> {
        self.video.as_ref()
    }

    /// The current AAC configuration.
    pub fn audio_config(&self) -> Option<&AudioSpecificConfig> {
        self.audio.as_ref()
    }

    /// Appends a PAT and a PMT describing the configured streams (two packets).
    pub fn write_tables(&mut self, out: &mut BytesMut) {
        let mut streams = Vec::with_capacity(2);
        if self.video.is_some() {
            streams.push(EsInfo {
                stream_type: STREAM_TYPE_H264,
                pid: VIDEO_PID,
            });
        }
        if self.audio.is_some() {
            streams.push(EsInfo {
                stream_type: STREAM_TYPE_AAC,
                pid: AUDIO_PID,
            });
        }
        let pcr_pid = streams.first().map_or(0x1FFF, |s| s.pid);
        packet::write_section(out, PAT_PID, &mut self.cc_pat, &psi::pat());
        let pmt = psi::pmt(self.pmt_version, pcr_pid, &streams);
        packet::write_section(out, PMT_PID, &mut self.cc_pmt, &pmt);
        self.tables_due = false;
    }

    /// Muxes one frame, appending its packets to `out`.
    ///
    /// Sequence headers update the configuration and write nothing; so do script data,
    /// end-of-sequence and other non-media packets. On error `out` and the muxer are
    /// unchanged (a bad sequence header keeps the previous configuration).
    pub fn write_frame(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<(), TsError> {
        match frame.kind {
            FrameKind::Script => Ok(()),
            FrameKind::Video => self.write_video(frame, out),
            FrameKind::Audio => self.write_audio(frame, out),
        }
    }

    fn write_video(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<(), TsError> {
        let tag = VideoTag::parse(&frame.payload)?;
        match tag.packet {
            VideoPacket::SequenceHeader | VideoPacket::CodedFrames => {}
            _ => return Ok(()),
        }
        if tag.codec != VideoCodec::Avc {
            return Err(TsError::UnsupportedVideoCodec(format!("{:?}", tag.codec)));
        }
        if tag.is_sequence_header() {
            return self.set_video_config(tag.data);
        }
        let config = self.video.as_ref().ok_or(TsError::MissingVideoConfig)?;

        let dts = to_90khz(frame.timestamp);
        // A PTS before its DTS is impossible; a negative composition time can only be a
        // publisher's mistake, so clamp rather than wrap.
        let cts = u64::from(tag.composition_time.max(0) as u32) * 90;
        let pts = dts + cts;

        self.scratch.clear();
        pes::put_header(
            &mut self.scratch,
            STREAM_ID_VIDEO,
            (pts + TIMESTAMP_OFFSET) & TIMESTAMP_MASK,
            (dts + TIMESTAMP_OFFSET) & TIMESTAMP_MASK,
            0,
        );
        let keyframe = tag.is_keyframe();
        if let Err(e) = annexb::write_access_unit(&mut self.scratch, tag.data, config, keyframe) {
            self.scratch.clear();
            return Err(e);
        }

        if self.tables_due {
            self.write_tables(out);
        }
        let start = PesStart {
            pcr: Some(dts & TIMESTAMP_MASK),
            random_access: keyframe,
        };
        packet::write_pes(out, VIDEO_PID, &mut self.cc_video, start, &self.scratch);
        Ok(())
    }

    fn write_audio(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<(), TsError> {
        let tag = AudioTag::parse(&frame.payload)?;
        match tag.packet {
            AudioPacket::SequenceHeader | AudioPacket::CodedFrames => {}
            _ => return Ok(()),
        }
        if tag.codec != AudioCodec::Aac {
            return Err(TsError::UnsupportedAudioCodec(format!("{:?}", tag.codec)));
        }
        if tag.is_sequence_header() {
            return self.set_audio_config(tag.data);
        }
        let config = self.audio.as_ref().ok_or(TsError::MissingAudioConfig)?;
        let adts = adts::header(config, tag.data.len())?;

        let ts = to_90khz(frame.timestamp);
        let shifted = (ts + TIMESTAMP_OFFSET) & TIMESTAMP_MASK;
        self.scratch.clear();
        let es_len = adts.len() + tag.data.len();
        pes::put_header(&mut self.scratch, STREAM_ID_AUDIO, shifted, shifted, es_len);
        self.scratch.extend_from_slice(&adts);
        self.scratch.extend_from_slice(tag.data);

        if self.tables_due {
            self.write_tables(out);
        }
        // Without video, audio carries the clock, and every AAC frame is a random
        // access point.
        let audio_only = self.video.is_none();
        let start = PesStart {
            pcr: audio_only.then_some(ts & TIMESTAMP_MASK),
            random_access: audio_only,
        };
        packet::write_pes(out, AUDIO_PID, &mut self.cc_audio, start, &self.scratch);
        Ok(())
    }

    fn streams_changed(&mut self) {
        self.pmt_version = (self.pmt_version + 1) & 0x1F;
        self.tables_due = true;
    }
}

/// Milliseconds to 90 kHz ticks (not yet wrapped to 33 bits).
fn to_90khz(ms: u32) -> u64 {
    u64::from(ms) * 90
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::flv::testdata::*;
    use crate::ts::PACKET_SIZE;

    fn video_seq_header() -> Frame {
        let mut body = vec![0x17, 0, 0, 0, 0];
        body.extend_from_slice(&baseline_record());
        Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::from(body),
        }
    }

    fn audio_seq_header() -> Frame {
        let mut body = vec![0xAF, 0];
        body.extend_from_slice(&ASC_LC_44100_MONO);
        Frame {
            kind: FrameKind::Audio,
            timestamp: 0,
            payload: Bytes::from(body),
        }
    }

    fn video_frame(timestamp: u32, key: bool, cts: u8, nal: &[u8]) -> Frame {
        let mut body = vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, cts];
        body.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        body.extend_from_slice(nal);
        Frame {
            kind: FrameKind::Video,
            timestamp,
            payload: Bytes::from(body),
        }
    }

    fn audio_frame(timestamp: u32, len: usize) -> Frame {
        let mut body = vec![0xAF, 1];
        body.extend(std::iter::repeat_n(0x21, len));
        Frame {
            kind: FrameKind::Audio,
            timestamp,
            payload: Bytes::from(body),
        }
    }

    fn pids(out: &[u8]) -> Vec<u16> {
        out.chunks(PACKET_SIZE)
            .map(|p| u16::from(p[1] & 0x1F) << 8 | u16::from(p[2]))
            .collect()
    }

    /// The payload of a packet after its adaptation field.
    fn payload(p: &[u8]) -> &[u8] {
        if p[3] & 0x20 != 0 {
            &p[5 + usize::from(p[4])..]
        } else {
            &p[4..]
        }
    }

    #[test]
    fn sequence_headers_configure_and_write_nothing() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        m.write_frame(&video_seq_header(), &mut out).unwrap();
        m.write_frame(&audio_seq_header(), &mut out).unwrap();
        assert!(out.is_empty());
        assert!(m.has_video() && m.has_audio());
        assert_eq!(m.audio_config().unwrap().sample_rate, 44100);
    }

    #[test]
    fn first_frame_is_preceded_by_the_tables() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        m.write_frame(&video_seq_header(), &mut out).unwrap();
        m.write_frame(&audio_seq_header(), &mut out).unwrap();
        m.write_frame(&video_frame(0, true, 0, &[0x65, 0x88, 0x80]), &mut out)
            .unwrap();
        assert_eq!(out.len() % PACKET_SIZE, 0);
        let pids = pids(&out);
        assert_eq!(&pids[..3], &[0, PMT_PID, VIDEO_PID]);

        let video = &out[2 * PACKET_SIZE..3 * PACKET_SIZE];
        assert_eq!(video[5] & 0x50, 0x50, "random access and PCR on a keyframe");
        let pes = payload(video);
        assert_eq!(&pes[..4], &[0, 0, 1, 0xE0]);
    }

    #[test]
    fn tables_are_not_repeated_until_asked_for() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        m.write_frame(&video_seq_header(), &mut out).unwrap();
        m.write_frame(&video_frame(0, true, 0, &[0x65, 1]), &mut out)
            .unwrap();
        m.write_frame(&video_frame(40, false, 0, &[0x41, 1]), &mut out)
            .unwrap();
        assert_eq!(pids(&out), vec![0, PMT_PID, VIDEO_PID, VIDEO_PID]);
        m.write_tables(&mut out);
        assert_eq!(pids(&out)[4..], [0, PMT_PID]);
    }

    #[test]
    fn composition_time_becomes_pts_ahead_of_dts() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        m.write_frame(&video_seq_header(), &mut out).unwrap();
        m.write_frame(&video_frame(1000, false, 80, &[0x41, 1]), &mut out)
            .unwrap();
        let pes = payload(&out[2 * PACKET_SIZE..]);
        assert_eq!(pes[7], 0xC0, "PTS and DTS");
        let read = |b: &[u8]| {
            u64::from(b[0] >> 1 & 7) << 30
                | u64::from(b[1]) << 22
                | u64::from(b[2] >> 1) << 15
                | u64::from(b[3]) << 7
                | u64::from(b[4] >> 1)
        };
        assert_eq!(read(&pes[9..14]), 1080 * 90 + TIMESTAMP_OFFSET);
        assert_eq!(read(&pes[14..19]), 1000 * 90 + TIMESTAMP_OFFSET);
    }

    #[test]
    fn audio_only_stream_carries_its_own_clock() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        m.write_frame(&audio_seq_header(), &mut out).unwrap();
        m.write_frame(&audio_frame(23, 200), &mut out).unwrap();
        let pids = pids(&out);
        assert_eq!(pids, vec![0, PMT_PID, AUDIO_PID, AUDIO_PID]);
        // PMT: PCR on the audio PID, one stream of type 0x0F.
        let pmt = &out[PACKET_SIZE + 5..];
        assert_eq!(u16::from(pmt[8] & 0x1F) << 8 | u16::from(pmt[9]), AUDIO_PID);
        assert_eq!(pmt[12], STREAM_TYPE_AAC);
        let first = &out[2 * PACKET_SIZE..3 * PACKET_SIZE];
        assert_eq!(first[5] & 0x50, 0x50);
        let pes = payload(first);
        assert_eq!(&pes[..4], &[0, 0, 1, 0xC0]);
        assert_eq!(u16::from_be_bytes([pes[4], pes[5]]), 3 + 5 + 7 + 200);
        assert_eq!(&pes[14..16], &[0xFF, 0xF1], "ADTS sync word");
    }

    #[test]
    fn audio_alongside_video_leaves_the_clock_to_video() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        m.write_frame(&video_seq_header(), &mut out).unwrap();
        m.write_frame(&audio_seq_header(), &mut out).unwrap();
        m.write_frame(&audio_frame(0, 20), &mut out).unwrap();
        let audio = &out[2 * PACKET_SIZE..];
        assert_eq!(audio[3] & 0x20, 0x20, "stuffing only");
        assert_eq!(audio[5] & 0x50, 0);
    }

    #[test]
    fn video_only_stream_lists_only_video() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        m.write_frame(&video_seq_header(), &mut out).unwrap();
        m.write_tables(&mut out);
        let pmt = &out[PACKET_SIZE + 5..];
        let section_length = usize::from(u16::from_be_bytes([pmt[1], pmt[2]]) & 0x0FFF);
        assert_eq!(section_length, 9 + 5 + 4);
    }

    #[test]
    fn new_stream_bumps_the_pmt_version_and_rewrites_tables() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        m.write_frame(&audio_seq_header(), &mut out).unwrap();
        m.write_frame(&audio_frame(0, 10), &mut out).unwrap();
        let v1 = out[PACKET_SIZE + 5 + 5] >> 1 & 0x1F;
        out.clear();
        m.write_frame(&video_seq_header(), &mut out).unwrap();
        m.write_frame(&video_frame(0, true, 0, &[0x65, 1]), &mut out)
            .unwrap();
        assert_eq!(pids(&out)[..2], [0, PMT_PID]);
        let v2 = out[PACKET_SIZE + 5 + 5] >> 1 & 0x1F;
        assert_ne!(v1, v2);
    }

    #[test]
    fn frames_before_their_config_are_refused_without_output() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        assert_eq!(
            m.write_frame(&video_frame(0, true, 0, &[0x65]), &mut out),
            Err(TsError::MissingVideoConfig)
        );
        assert_eq!(
            m.write_frame(&audio_frame(0, 4), &mut out),
            Err(TsError::MissingAudioConfig)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn other_codecs_are_refused() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        let hevc = Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::from_static(&[0x1C, 1, 0, 0, 0]),
        };
        assert!(matches!(
            m.write_frame(&hevc, &mut out),
            Err(TsError::UnsupportedVideoCodec(_))
        ));
        let mp3 = Frame {
            kind: FrameKind::Audio,
            timestamp: 0,
            payload: Bytes::from_static(&[0x2F, 0xFF, 0xFB]),
        };
        assert!(matches!(
            m.write_frame(&mp3, &mut out),
            Err(TsError::UnsupportedAudioCodec(_))
        ));
        assert!(out.is_empty());
    }

    #[test]
    fn malformed_frames_leave_output_and_config_untouched() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        m.write_frame(&video_seq_header(), &mut out).unwrap();
        let bad_nal = Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::from_static(&[0x17, 1, 0, 0, 0, 0, 0, 0, 50, 0x65]),
        };
        assert_eq!(
            m.write_frame(&bad_nal, &mut out),
            Err(TsError::BadNaluLength)
        );
        let bad_config = Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 66]),
        };
        assert!(m.write_frame(&bad_config, &mut out).is_err());
        assert!(out.is_empty());
        assert!(m.has_video());
        let empty = Frame {
            kind: FrameKind::Audio,
            timestamp: 0,
            payload: Bytes::new(),
        };
        assert!(m.write_frame(&empty, &mut out).is_err());
    }

    #[test]
    fn script_and_end_of_sequence_write_nothing() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        let script = Frame {
            kind: FrameKind::Script,
            timestamp: 0,
            payload: Bytes::from_static(b"\x02\x00\x0aonMetaData"),
        };
        m.write_frame(&script, &mut out).unwrap();
        let eos = Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::from_static(&[0x17, 2, 0, 0, 0]),
        };
        m.write_frame(&eos, &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn continuity_counters_advance_per_pid() {
        let mut m = TsMuxer::new();
        let mut out = BytesMut::new();
        m.write_frame(&video_seq_header(), &mut out).unwrap();
        m.write_frame(&audio_seq_header(), &mut out).unwrap();
        for i in 0..20 {
            m.write_frame(&video_frame(i * 40, i % 10 == 0, 0, &[0x41; 300]), &mut out)
                .unwrap();
            m.write_frame(&audio_frame(i * 23, 150), &mut out).unwrap();
        }
        let mut last = std::collections::HashMap::new();
        for p in out.chunks(PACKET_SIZE) {
            let pid = u16::from(p[1] & 0x1F) << 8 | u16::from(p[2]);
            let cc = p[3] & 0x0F;
            if let Some(prev) = last.insert(pid, cc) {
                assert_eq!(cc, (prev + 1) & 0x0F, "pid {pid:#x}");
            }
        }
    }
}
