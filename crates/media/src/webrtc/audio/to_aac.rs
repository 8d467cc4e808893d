//! A WHIP publisher's Opus to AAC for the hub: Opus packets go to ffmpeg as Ogg (their
//! RTP times as granule positions, so a gap stays a gap), ffmpeg fills gaps with
//! silence and encodes AAC LC with its native encoder, and the ADTS frames it writes
//! become FLV audio frames — a sequence header first — timed by count from the first
//! packet's place on the stream's timeline.

use bytes::{BufMut, Bytes, BytesMut};

use super::ogg::{OggWriter, OPUS_RATE};
use super::{opus, Pipe};
use crate::flv::aac::SAMPLE_RATES;
use crate::frame::{Frame, FrameKind};

/// ffmpeg's part: Ogg Opus in, AAC LC 48 kHz stereo in ADTS out, nothing buffered.
const ARGS: &[&str] = &[
    "-f",
    "ogg",
    "-i",
    "pipe:0",
    "-af",
    "aresample=async=1000",
    "-ac",
    "2",
    "-ar",
    "48000",
    "-c:a",
    "aac",
    "-b:a",
    "128k",
    "-flush_packets",
    "1",
    "-f",
    "adts",
    "pipe:1",
];

/// The FLV AUDIODATA first byte for AAC (sound format 10; rate, size and channels
/// fixed by the format).
const FLV_AAC: u8 = 0xAF;

/// Opus in, AAC frames out, for one publisher.
pub struct OpusToAac {
    program: String,
    pipe: Option<Pipe>,
    /// Gave up: ffmpeg could not be started.
    off: bool,
    ogg: Option<OggWriter>,
    /// The first packet's RTP time and its place on the timeline (ms).
    start: Option<(u64, u64)>,
    input: BytesMut,
    adts: BytesMut,
    header_sent: bool,
    frames_out: u64,
}

impl OpusToAac {
    /// A bridge that runs `program` (ffmpeg) when the first packet comes.
    pub fn new(program: &str) -> OpusToAac {
        OpusToAac {
            program: program.to_owned(),
            pipe: None,
            off: program.is_empty(),
            ogg: None,
            start: None,
            input: BytesMut::new(),
            adts: BytesMut::new(),
            header_sent: false,
            frames_out: 0,
        }
    }

    /// Takes one Opus packet with RTP time `rtp` (48 kHz, never wrapping) that arrived
    /// at `at_ms` on the stream's timeline.
    pub fn push(&mut self, packet: &[u8], rtp: u64, at_ms: u64) {
        if self.off {
            return;
        }
        let Some(samples) = opus::samples(packet) else {
            metrics::counter!("webrtc_audio_dropped_total").increment(1);
            return;
        };
        if self.pipe.is_none() {
            match Pipe::start(&self.program, ARGS) {
                Ok(pipe) => self.pipe = Some(pipe),
                Err(e) => {
                    super::unavailable(&self.program, &e);
                    self.off = true;
                    return;
                }
            }
        }
        let (first_rtp, _) = *self.start.get_or_insert((rtp, at_ms));
        let Some(since) = rtp.checked_sub(first_rtp) else {
            return; // older than the first packet
        };
        let ogg = self
            .ogg
            .get_or_insert_with(|| OggWriter::new(2, &mut self.input));
        ogg.packet(&mut self.input, packet, since + u64::from(samples));
        let chunk = self.input.split().freeze();
        if let Some(pipe) = &self.pipe {
            if !pipe.send(chunk) {
                // ffmpeg is gone; start again with the next packet, on a new timeline.
                self.restart();
            }
        }
    }

    fn restart(&mut self) {
        self.pipe = None;
        self.ogg = None;
        self.start = None;
        self.adts.clear();
        self.frames_out = 0;
    }

    /// What ffmpeg wrote next; pending while nothing runs.
    pub async fn output(&mut self) -> Option<Bytes> {
        match &mut self.pipe {
            Some(pipe) => pipe.output.recv().await,
            None => std::future::pending().await,
        }
    }

    /// ffmpeg ended (its output closed).
    pub fn ended(&mut self) {
        tracing::warn!("the WHIP audio bridge's ffmpeg ended; starting another");
        self.restart();
    }

    /// The FLV audio frames in ffmpeg's next output.
    pub fn frames(&mut self, chunk: &[u8]) -> Vec<Frame> {
        self.adts.extend_from_slice(chunk);
        let mut frames = Vec::new();
        let Some((_, base_ms)) = self.start else {
            return frames;
        };
        while let Some((header, raw)) = next_adts(&mut self.adts) {
            let rate = SAMPLE_RATES
                .get(usize::from(header.frequency_index))
                .copied()
                .unwrap_or(OPUS_RATE);
            let timestamp = base_ms + self.frames_out * 1024 * 1000 / u64::from(rate);
            let timestamp = timestamp as u32;
            if !self.header_sent {
                let config = (u16::from(header.object_type) << 11)
                    | (u16::from(header.frequency_index) << 7)
                    | (u16::from(header.channels) << 3);
                let mut payload = BytesMut::with_capacity(4);
                payload.put_slice(&[FLV_AAC, 0]);
                payload.put_u16(config);
                frames.push(Frame {
                    kind: FrameKind::Audio,
                    timestamp,
                    payload: payload.freeze(),
                });
                self.header_sent = true;
            }
            let mut payload = BytesMut::with_capacity(raw.len() + 2);
            payload.put_slice(&[FLV_AAC, 1]);
            payload.put_slice(&raw);
            frames.push(Frame {
                kind: FrameKind::Audio,
                timestamp,
                payload: payload.freeze(),
            });
            self.frames_out += 1;
        }
        frames
    }
}

/// What an ADTS header says of its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AdtsHeader {
    object_type: u8,
    frequency_index: u8,
    channels: u8,
}

/// The next whole ADTS frame in `buf` (its header and raw data), skipping bytes that
/// are not one.
fn next_adts(buf: &mut BytesMut) -> Option<(AdtsHeader, Bytes)> {
    loop {
        let sync = buf
            .windows(2)
            .position(|w| w[0] == 0xFF && w[1] & 0xF6 == 0xF0);
        match sync {
            Some(0) => {}
            Some(i) => drop(buf.split_to(i)),
            None => {
                let keep = usize::from(buf.last() == Some(&0xFF));
                drop(buf.split_to(buf.len() - keep));
                return None;
            }
        }
        if buf.len() < 7 {
            return None;
        }
        let header_len = if buf[1] & 0x01 == 0 { 9 } else { 7 };
        let len = (usize::from(buf[3] & 0x03) << 11)
            | (usize::from(buf[4]) << 3)
            | usize::from(buf[5] >> 5);
        if len <= header_len {
            drop(buf.split_to(1));
            continue;
        }
        if buf.len() < len {
            return None;
        }
        let header = AdtsHeader {
            object_type: (buf[2] >> 6) + 1,
            frequency_index: (buf[2] >> 2) & 0x0F,
            channels: ((buf[2] & 0x01) << 2) | (buf[3] >> 6),
        };
        let frame = buf.split_to(len).freeze();
        return Some((header, frame.slice(header_len..)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flv::{AudioSpecificConfig, AudioTag};
    use crate::ts::adts;

    #[test]
    fn adts_frames_become_flv_audio_with_a_header_first_timed_by_count() {
        let asc = AudioSpecificConfig::parse(&[0x11, 0x90]).unwrap(); // LC 48 kHz stereo
        let mut bridge = OpusToAac::new("ffmpeg");
        bridge.start = Some((0, 1_000));
        let mut out = Vec::new();
        for payload in [[1u8; 10], [2u8; 10]] {
            out.extend_from_slice(&adts::header(&asc, payload.len()).unwrap());
            out.extend_from_slice(&payload);
        }
        // Split mid-frame, and garbage before the first.
        let mut frames = bridge.frames(&[0x00, 0x13]);
        frames.extend(bridge.frames(&out[..12]));
        frames.extend(bridge.frames(&out[12..]));
        assert_eq!(frames.len(), 3);
        let header = AudioTag::parse(&frames[0].payload).unwrap();
        assert!(header.is_sequence_header());
        assert_eq!(AudioSpecificConfig::parse(header.data).unwrap(), asc);
        assert_eq!(
            AudioTag::parse(&frames[1].payload).unwrap().data,
            &[1u8; 10]
        );
        assert_eq!(frames[1].timestamp, 1_000);
        assert_eq!(frames[2].timestamp, 1_021, "1024 samples at 48 kHz later");
    }

    #[test]
    fn garbage_from_the_pipe_is_skipped() {
        let mut buf = BytesMut::from(&[0xFFu8, 0xF1, 0x50, 0x80, 0x00, 0x1F, 0xFC][..]);
        assert_eq!(
            next_adts(&mut buf),
            None,
            "a frame too short to hold itself"
        );
        let mut buf = BytesMut::from(&[0xAB; 100][..]);
        assert_eq!(next_adts(&mut buf), None);
        assert!(buf.is_empty());
    }
}
