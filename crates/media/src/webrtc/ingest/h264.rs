//! From WebRTC's H.264 (Annex B access units, parameter sets in-band) to the FLV video
//! frames the hub carries: an AVC sequence header whenever the parameter sets change
//! (the first time, and when the publisher changes resolution), then each access unit
//! as length-prefixed NAL units, keyframe when it holds an IDR picture.

use bytes::{BufMut, Bytes, BytesMut};

use crate::frame::{Frame, FrameKind};

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_AUD: u8 = 9;

/// The NAL units of an Annex B byte stream (start codes of 3 or 4 bytes), without
/// their start codes; empty units are skipped.
pub fn nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || loop {
        let start = find_start(rest)?;
        let body = &rest[start..];
        let end = find_code(body).unwrap_or(body.len());
        let nal = &body[..end];
        rest = &body[end..];
        // A 4-byte start code leaves a zero on the unit before it.
        let nal = match nal.iter().rposition(|&b| b != 0) {
            Some(last) => &nal[..=last],
            None => &[][..],
        };
        if !nal.is_empty() {
            return Some(nal);
        }
        if rest.is_empty() {
            return None;
        }
    })
}

/// Where the bytes after the first start code begin.
fn find_start(data: &[u8]) -> Option<usize> {
    find_code(data).map(|i| i + 3)
}

/// The index of the first `00 00 01`.
fn find_code(data: &[u8]) -> Option<usize> {
    data.windows(3).position(|w| w == [0, 0, 1])
}

/// Why an access unit was not turned into a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// No SPS and PPS yet, or no keyframe yet: a decoder could not start here.
    WaitingForKeyframe,
    /// Nothing but parameter sets and delimiters.
    Empty,
}

/// Turns a WebRTC publisher's access units into FLV video frames.
#[derive(Debug, Default)]
pub struct H264ToFlv {
    sps: Option<Bytes>,
    pps: Option<Bytes>,
    /// The parameter sets of the last sequence header sent.
    sent: Option<(Bytes, Bytes)>,
    started: bool,
}

impl H264ToFlv {
    pub fn new() -> Self {
        Self::default()
    }

    /// The frames for one access unit at `timestamp` ms: a sequence header first when the
    /// parameter sets are new or changed, then the coded frame.
    pub fn push(&mut self, access_unit: &[u8], timestamp: u32) -> Result<Vec<Frame>, Skipped> {
        let mut keyframe = false;
        let mut body = BytesMut::with_capacity(access_unit.len() + 16);
        for nal in nal_units(access_unit) {
            match nal[0] & 0x1F {
                NAL_SPS => self.sps = Some(Bytes::copy_from_slice(nal)),
                NAL_PPS => self.pps = Some(Bytes::copy_from_slice(nal)),
                NAL_AUD => {}
                kind => {
                    keyframe |= kind == NAL_IDR;
                    body.put_u32(nal.len() as u32);
                    body.put_slice(nal);
                }
            }
        }
        let mut frames = Vec::with_capacity(2);
        if let (Some(sps), Some(pps)) = (&self.sps, &self.pps) {
            let changed = self.sent.as_ref().is_none_or(|(s, p)| s != sps || p != pps);
            if changed && keyframe && sps.len() >= 4 {
                frames.push(Frame {
                    kind: FrameKind::Video,
                    timestamp,
                    payload: sequence_header(sps, pps),
                });
                self.sent = Some((sps.clone(), pps.clone()));
                self.started = true;
            }
        }
        if body.is_empty() {
            return if frames.is_empty() {
                Err(Skipped::Empty)
            } else {
                Ok(frames)
            };
        }
        if !self.started {
            return Err(Skipped::WaitingForKeyframe);
        }
        let mut payload = BytesMut::with_capacity(body.len() + 5);
        // Frame type (1 key, 2 inter) and codec 7 (AVC); NALU packet; composition 0:
        // WebRTC senders do not reorder pictures.
        payload.put_u8(if keyframe { 0x17 } else { 0x27 });
        payload.put_slice(&[1, 0, 0, 0]);
        payload.put_slice(&body);
        frames.push(Frame {
            kind: FrameKind::Video,
            timestamp,
            payload: payload.freeze(),
        });
        Ok(frames)
    }
}

/// An AVC sequence-header tag body: the AVCDecoderConfigurationRecord of one SPS and
/// one PPS, with 4-byte NAL lengths.
pub fn sequence_header(sps: &[u8], pps: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(16 + sps.len() + pps.len());
    out.put_slice(&[0x17, 0, 0, 0, 0]);
    out.put_u8(1);
    out.put_slice(&sps[1..4]);
    out.put_u8(0xFF); // 6 reserved bits, length size 4
    out.put_u8(0xE1); // 3 reserved bits, one SPS
    out.put_u16(sps.len() as u16);
    out.put_slice(sps);
    out.put_u8(1);
    out.put_u16(pps.len() as u16);
    out.put_slice(pps);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flv::{AvcConfig, VideoTag};

    const SPS: &[u8] = &[0x67, 0x42, 0xC0, 0x1E, 0xDA, 0x02, 0x80, 0xBF, 0xE5, 0x84];
    const PPS: &[u8] = &[0x68, 0xCE, 0x3C, 0x80];

    fn annexb(nals: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, nal) in nals.iter().enumerate() {
            // Both start code lengths, as encoders mix them.
            if i % 2 == 0 {
                out.extend_from_slice(&[0, 0, 0, 1]);
            } else {
                out.extend_from_slice(&[0, 0, 1]);
            }
            out.extend_from_slice(nal);
        }
        out
    }

    #[test]
    fn nal_units_are_split_on_both_start_codes() {
        let data = annexb(&[SPS, PPS, &[0x65, 1, 2, 3]]);
        let units: Vec<&[u8]> = nal_units(&data).collect();
        assert_eq!(units, vec![SPS, PPS, &[0x65, 1, 2, 3][..]]);
        assert_eq!(nal_units(&[0, 0, 0, 0, 1]).count(), 0);
        assert_eq!(nal_units(b"no start code here").count(), 0);
    }

    #[test]
    fn the_first_keyframe_brings_a_sequence_header_and_a_new_resolution_another() {
        let mut h = H264ToFlv::new();
        assert_eq!(
            h.push(&annexb(&[&[0x41, 9, 9]]), 0),
            Err(Skipped::WaitingForKeyframe)
        );
        let frames = h
            .push(&annexb(&[&[0x09, 0xF0], SPS, PPS, &[0x65, 1, 2]]), 40)
            .unwrap();
        assert_eq!(frames.len(), 2);
        let header = VideoTag::parse(&frames[0].payload).unwrap();
        assert!(header.is_sequence_header());
        let config = AvcConfig::parse(header.data).unwrap();
        assert_eq!(config.sps, vec![Bytes::from_static(SPS)]);
        assert_eq!(config.pps, vec![Bytes::from_static(PPS)]);
        assert_eq!(config.nalu_length_size, 4);
        let key = VideoTag::parse(&frames[1].payload).unwrap();
        assert!(key.is_keyframe());
        assert_eq!(key.data, &[0, 0, 0, 3, 0x65, 1, 2]);
        assert_eq!(frames[1].timestamp, 40);

        // Same parameter sets again: no new header.
        let frames = h.push(&annexb(&[SPS, PPS, &[0x65, 3]]), 80).unwrap();
        assert_eq!(frames.len(), 1);
        let inter = h.push(&annexb(&[&[0x41, 7]]), 120).unwrap();
        assert!(!VideoTag::parse(&inter[0].payload).unwrap().is_keyframe());

        // Another resolution: a new sequence header before its keyframe.
        let mut sps2 = SPS.to_vec();
        sps2[5] = 0x03;
        let frames = h.push(&annexb(&[&sps2, PPS, &[0x65, 4]]), 160).unwrap();
        assert_eq!(frames.len(), 2);
        assert!(VideoTag::parse(&frames[0].payload)
            .unwrap()
            .is_sequence_header());
    }

    #[test]
    fn garbage_is_skipped_not_a_panic() {
        let mut h = H264ToFlv::new();
        for bad in [
            &[][..],
            &[0, 0, 1],
            &[0, 0, 1, 0x67],
            &[0, 0, 1, 0x67, 0x42],
            &[0xFF; 9],
        ] {
            let _ = h.push(bad, 0);
        }
    }
}
