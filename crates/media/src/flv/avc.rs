//! The AVCDecoderConfigurationRecord: what an H.264 sequence-header tag carries.
//!
//! It holds the parameter sets (SPS, PPS) a decoder needs before any picture, and the
//! size of the length prefix in front of every NAL unit of the coded frames that follow.
//! The TS muxer needs both to turn FLV's length-prefixed NAL units into the Annex B
//! byte stream that MPEG-TS carries.

use bytes::Bytes;

use super::error::FlvError;
use super::sps::Sps;

/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;

/// A parsed AVCDecoderConfigurationRecord (ISO/IEC 14496-15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcConfig {
    /// `profile_idc` (66 baseline, 77 main, 100 high, …).
    pub profile: u8,
    /// The constraint flags byte (`profile_compatibility`).
    pub compatibility: u8,
    /// `level_idc` (31 means level 3.1).
    pub level: u8,
    /// Bytes in the big-endian length before each NAL unit of coded frames: 1, 2 or 4.
    pub nalu_length_size: u8,
    /// Sequence parameter sets, each a whole NAL unit (header byte included).
    pub sps: Vec<Bytes>,
    /// Picture parameter sets, each a whole NAL unit.
    pub pps: Vec<Bytes>,
}

impl AvcConfig {
    /// Parses the record (the `data` of an AVC sequence-header [`VideoTag`](super::VideoTag)).
    ///
    /// The High-profile extension fields that may follow the PPS list are ignored: the
    /// same values are in the SPS.
    pub fn parse(record: &[u8]) -> Result<Self, FlvError> {
        const WHAT: &str = "AVCDecoderConfigurationRecord";
        if record.len() < 6 {
            return Err(FlvError::Truncated(WHAT));
        }
        if record[0] != 1 {
            return Err(FlvError::Invalid("AVCDecoderConfigurationRecord version"));
        }
        let nalu_length_size = (record[4] & 0x03) + 1;
        let sps_count = usize::from(record[5] & 0x1F);
        let mut rest = &record[6..];
        let sps = read_parameter_sets(&mut rest, sps_count, NAL_SPS)?;
        let (&pps_count, tail) = rest.split_first().ok_or(FlvError::Truncated(WHAT))?;
        rest = tail;
        let pps = read_parameter_sets(&mut rest, usize::from(pps_count), NAL_PPS)?;
        Ok(AvcConfig {
            profile: record[1],
            compatibility: record[2],
            level: record[3],
            nalu_length_size,
            sps,
            pps,
        })
    }

    /// The first SPS, parsed: picture size, profile, chroma format.
    pub fn first_sps(&self) -> Result<Sps, FlvError> {
        let sps = self
            .sps
            .first()
            .ok_or(FlvError::Invalid("AVC record without SPS"))?;
        Sps::parse(sps)
    }
}

fn read_parameter_sets(
    rest: &mut &[u8],
    count: usize,
    nal_type: u8,
) -> Result<Vec<Bytes>, FlvError> {
    let mut sets = Vec::with_capacity(count);
    for _ in 0..count {
        if rest.len() < 2 {
            return Err(FlvError::Truncated("AVC parameter set length"));
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let nal = rest
            .get(2..2 + len)
            .ok_or(FlvError::Truncated("AVC parameter set"))?;
        match nal.first() {
            Some(&h) if h & 0x1F == nal_type => {}
            _ => return Err(FlvError::Invalid("AVC parameter set NAL type")),
        }
        sets.push(Bytes::copy_from_slice(nal));
        *rest = &rest[2 + len..];
    }
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flv::testdata::{baseline_record, hex};

    #[test]
    fn record_yields_parameter_sets_and_length_size() {
        let config = AvcConfig::parse(&baseline_record()).unwrap();
        assert_eq!(config.profile, 66);
        assert_eq!(config.level, 12);
        assert_eq!(config.nalu_length_size, 4);
        assert_eq!(config.sps.len(), 1);
        assert_eq!(config.pps.len(), 1);
        assert_eq!(&config.pps[0][..], &hex("68cb8cb2")[..]);
        let sps = config.first_sps().unwrap();
        assert_eq!((sps.width, sps.height), (320, 180));
    }

    #[test]
    fn every_truncation_of_the_record_is_an_error() {
        let record = baseline_record();
        for len in 0..record.len() {
            assert!(AvcConfig::parse(&record[..len]).is_err(), "length {len}");
        }
    }

    #[test]
    fn wrong_version_or_nal_type_is_invalid() {
        let mut record = baseline_record();
        record[0] = 0;
        assert_eq!(
            AvcConfig::parse(&record),
            Err(FlvError::Invalid("AVCDecoderConfigurationRecord version"))
        );
        let mut record = baseline_record();
        record[8] = 0x68; // the SPS claims to be a PPS
        assert_eq!(
            AvcConfig::parse(&record),
            Err(FlvError::Invalid("AVC parameter set NAL type"))
        );
    }

    #[test]
    fn record_without_sps_parses_but_has_no_picture_size() {
        let config = AvcConfig::parse(&[1, 66, 0, 30, 0xFF, 0xE0, 0]).unwrap();
        assert!(config.sps.is_empty() && config.pps.is_empty());
        assert_eq!(
            config.first_sps(),
            Err(FlvError::Invalid("AVC record without SPS"))
        );
    }
}
