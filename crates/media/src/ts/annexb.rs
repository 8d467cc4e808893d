//! From FLV's length-prefixed H.264 (AVCC) to the Annex B byte stream MPEG-TS carries.
//!
//! In FLV every NAL unit is preceded by its length and the parameter sets travel once,
//! in the sequence header. In MPEG-TS NAL units are separated by start codes, each
//! access unit begins with an access unit delimiter (decoders and Apple's validator
//! expect one), and the SPS and PPS must be repeated in-band before every IDR picture so
//! that a player joining at any segment can decode it.

use super::error::TsError;
use crate::flv::AvcConfig;

const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// An access unit delimiter NAL (type 9) with primary_pic_type 7: any slice type.
const ACCESS_UNIT_DELIMITER: [u8; 2] = [0x09, 0xF0];

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_AUD: u8 = 9;

/// Appends one access unit in Annex B form to `out`.
///
/// `data` is the coded frame's NAL units, each behind a big-endian length of
/// `config.nalu_length_size` bytes. Parameter sets from `config` are inserted when the
/// access unit holds an IDR picture (or the FLV tag says keyframe) and does not carry
/// its own SPS. Delimiters already present are dropped, since one is always written.
///
/// On error nothing is appended.
pub fn write_access_unit(
    out: &mut Vec<u8>,
    data: &[u8],
    config: &AvcConfig,
    keyframe: bool,
) -> Result<(), TsError> {
    let length_size = usize::from(config.nalu_length_size);
    let mut has_idr = false;
    let mut has_sps = false;
    for nal in Nalus::new(data, length_size) {
        let nal = nal?;
        match nal.first().map(|h| h & 0x1F) {
            Some(NAL_IDR) => has_idr = true,
            Some(NAL_SPS) => has_sps = true,
            _ => {}
        }
    }

    out.extend_from_slice(&START_CODE);
    out.extend_from_slice(&ACCESS_UNIT_DELIMITER);
    if (has_idr || keyframe) && !has_sps {
        for ps in config.sps.iter().chain(&config.pps) {
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(ps);
        }
    }
    for nal in Nalus::new(data, length_size).flatten() {
        match nal.first().map(|h| h & 0x1F) {
            None | Some(NAL_AUD) => continue,
            _ => {}
        }
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
    }
    Ok(())
}

/// The NAL units of an AVCC frame, each checked against the bytes that remain.
struct Nalus<'a> {
    rest: &'a [u8],
    length_size: usize,
}

impl<'a> Nalus<'a> {
    fn new(data: &'a [u8], length_size: usize) -> Self {
        Nalus {
            rest: data,
            length_size,
        }
    }
}

impl<'a> Iterator for Nalus<'a> {
    type Item = Result<&'a [u8], TsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        if self.rest.len() < self.length_size {
            self.rest = &[];
            return Some(Err(TsError::BadNaluLength));
        }
        let (len_bytes, tail) = self.rest.split_at(self.length_size);
        let len = len_bytes
            .iter()
            .fold(0usize, |n, &b| n << 8 | usize::from(b));
        if len > tail.len() {
            self.rest = &[];
            return Some(Err(TsError::BadNaluLength));
        }
        let (nal, tail) = tail.split_at(len);
        self.rest = tail;
        Some(Ok(nal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flv::testdata::{avcc, baseline_record};

    fn config() -> AvcConfig {
        AvcConfig::parse(&baseline_record()).unwrap()
    }

    /// Splits Annex B output on 4-byte start codes (the only kind written here).
    fn split(annexb: &[u8]) -> Vec<Vec<u8>> {
        let mut nals = Vec::new();
        let mut i = 0;
        while i < annexb.len() {
            assert_eq!(&annexb[i..i + 4], &START_CODE);
            let start = i + 4;
            let mut end = start;
            while end < annexb.len() && !annexb[end..].starts_with(&START_CODE) {
                end += 1;
            }
            nals.push(annexb[start..end].to_vec());
            i = end;
        }
        nals
    }

    #[test]
    fn idr_gets_delimiter_then_parameter_sets() {
        let c = config();
        let mut out = Vec::new();
        write_access_unit(
            &mut out,
            &avcc(&[&[0x06, 1, 2], &[0x65, 0x88, 0x84]]),
            &c,
            true,
        )
        .unwrap();
        let nals = split(&out);
        assert_eq!(nals.len(), 5);
        assert_eq!(nals[0], ACCESS_UNIT_DELIMITER);
        assert_eq!(nals[1], c.sps[0].to_vec());
        assert_eq!(nals[2], c.pps[0].to_vec());
        assert_eq!(nals[3], vec![0x06, 1, 2]);
        assert_eq!(nals[4], vec![0x65, 0x88, 0x84]);
    }

    #[test]
    fn inter_frame_gets_only_the_delimiter() {
        let mut out = Vec::new();
        write_access_unit(&mut out, &avcc(&[&[0x41, 0x9A, 0x02]]), &config(), false).unwrap();
        assert_eq!(
            split(&out),
            vec![ACCESS_UNIT_DELIMITER.to_vec(), vec![0x41, 0x9A, 0x02]]
        );
    }

    #[test]
    fn in_band_parameter_sets_and_delimiters_are_not_duplicated() {
        let mut out = Vec::new();
        let sps: &[u8] = &[0x67, 0x42];
        let frame = avcc(&[&[0x09, 0x10], sps, &[0x68, 0xCE], &[0x65, 0x88]]);
        write_access_unit(&mut out, &frame, &config(), true).unwrap();
        let nals = split(&out);
        assert_eq!(nals.len(), 4);
        assert_eq!(nals[1], sps.to_vec());
    }

    #[test]
    fn two_byte_lengths_are_honoured() {
        let mut c = config();
        c.nalu_length_size = 2;
        let mut out = Vec::new();
        write_access_unit(&mut out, &[0, 2, 0x41, 0xAA, 0, 1, 0x01], &c, false).unwrap();
        assert_eq!(split(&out).len(), 3);
    }

    #[test]
    fn lengths_past_the_end_are_refused_without_output() {
        let mut out = Vec::new();
        let c = config();
        assert_eq!(
            write_access_unit(&mut out, &[0, 0, 0, 9, 0x41], &c, false),
            Err(TsError::BadNaluLength)
        );
        assert_eq!(
            write_access_unit(&mut out, &[0, 0, 0, 1, 0x41, 0, 0], &c, false),
            Err(TsError::BadNaluLength)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn empty_nal_units_are_skipped() {
        let mut out = Vec::new();
        write_access_unit(&mut out, &[0, 0, 0, 0, 0, 0, 0, 1, 0x41], &config(), false).unwrap();
        assert_eq!(split(&out).len(), 2);
    }
}
