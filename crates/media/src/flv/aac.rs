//! The AudioSpecificConfig: what an AAC sequence-header tag carries.
//!
//! FLV sends AAC frames raw, with their format said once in this small bit-packed
//! structure. MPEG-TS wants every frame self-described by an ADTS header instead, which
//! is built from the fields read here (object type, sampling frequency index, channels).

use super::bits::BitReader;
use super::error::FlvError;

const WHAT: &str = "AudioSpecificConfig";

/// Sampling frequencies by index (ISO/IEC 14496-3); 13 and 14 are reserved, 15 means
/// "written out in 24 bits".
pub const SAMPLE_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// A parsed AudioSpecificConfig.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioSpecificConfig {
    /// The audio object type of the AAC core: 2 for AAC LC (also under HE-AAC, whose
    /// explicit SBR/PS signalling is unwrapped into [`AudioSpecificConfig::sbr`]).
    pub object_type: u8,
    /// Index into [`SAMPLE_RATES`], or 15 when the rate was written out.
    pub frequency_index: u8,
    /// Sampling rate of the AAC core in Hz (half the output rate under HE-AAC).
    pub sample_rate: u32,
    /// 1–6 channels as numbered, 7 for 7.1 (8 channels), 0 for "described in-band".
    pub channel_config: u8,
    /// HE-AAC explicitly signalled (object type 5 or 29 before the core type).
    pub sbr: bool,
}

impl AudioSpecificConfig {
    /// Parses the config (the `data` of an AAC sequence-header [`AudioTag`](super::AudioTag)).
    /// Fields after the channel configuration (GASpecificConfig, …) are not read.
    pub fn parse(data: &[u8]) -> Result<Self, FlvError> {
        let mut r = BitReader::new(data, WHAT);
        let mut object_type = object_type(&mut r)?;
        let (frequency_index, sample_rate) = frequency(&mut r)?;
        let channel_config = r.bits(4)? as u8;
        let mut sbr = false;
        if object_type == 5 || object_type == 29 {
            sbr = true;
            let _extension_frequency = frequency(&mut r)?;
            object_type = self::object_type(&mut r)?;
        }
        if object_type == 0 {
            return Err(FlvError::Invalid("AAC audio object type"));
        }
        Ok(AudioSpecificConfig {
            object_type,
            frequency_index,
            sample_rate,
            channel_config,
            sbr,
        })
    }

    /// How many channels the decoder will output, when the config says so.
    pub fn channels(&self) -> Option<u8> {
        match self.channel_config {
            1..=6 => Some(self.channel_config),
            7 => Some(8),
            _ => None,
        }
    }
}

/// audioObjectType: 5 bits, with 31 escaping to 32 + 6 more bits.
fn object_type(r: &mut BitReader<'_>) -> Result<u8, FlvError> {
    let t = r.bits(5)? as u8;
    if t == 31 {
        Ok(32 + r.bits(6)? as u8)
    } else {
        Ok(t)
    }
}

/// samplingFrequencyIndex, with 15 escaping to a 24-bit rate.
fn frequency(r: &mut BitReader<'_>) -> Result<(u8, u32), FlvError> {
    let index = r.bits(4)? as u8;
    let rate = match index {
        15 => r.bits(24)?,
        i => *SAMPLE_RATES
            .get(usize::from(i))
            .ok_or(FlvError::Invalid("AAC sampling frequency index"))?,
    };
    if rate == 0 {
        return Err(FlvError::Invalid("AAC sampling frequency"));
    }
    Ok((index, rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flv::testdata::*;

    #[test]
    fn aac_lc_config_gives_rate_and_channels() {
        let asc = AudioSpecificConfig::parse(&ASC_LC_44100_MONO).unwrap();
        assert_eq!(asc.object_type, 2);
        assert_eq!(asc.frequency_index, 4);
        assert_eq!(asc.sample_rate, 44100);
        assert_eq!(asc.channels(), Some(1));
        assert!(!asc.sbr);
        let asc = AudioSpecificConfig::parse(&ASC_LC_48000_STEREO).unwrap();
        assert_eq!((asc.sample_rate, asc.channels()), (48000, Some(2)));
    }

    #[test]
    fn explicit_he_aac_unwraps_to_the_lc_core() {
        // AOT 5 (SBR), 24000 Hz core (index 6), stereo, extension 48000 (index 3), AOT 2.
        // 00101 0110 0010 0011 00010 000
        let asc = AudioSpecificConfig::parse(&[0x2B, 0x11, 0x88, 0x00]).unwrap();
        assert!(asc.sbr);
        assert_eq!(asc.object_type, 2);
        assert_eq!(asc.sample_rate, 24000);
        assert_eq!(asc.channel_config, 2);
    }

    #[test]
    fn escaped_object_type_and_explicit_rate_are_read() {
        // AOT 31+ (escape) + 10 = 42, index 15, rate 44056, 1 channel.
        // 11111 001010 1111 000000001010110000011000 0001
        let mut bits = String::from("11111001010");
        bits.push_str("1111");
        bits.push_str(&format!("{:024b}", 44056));
        bits.push_str("0001");
        while bits.len() % 8 != 0 {
            bits.push('0');
        }
        let bytes: Vec<u8> = (0..bits.len())
            .step_by(8)
            .map(|i| u8::from_str_radix(&bits[i..i + 8], 2).unwrap())
            .collect();
        let asc = AudioSpecificConfig::parse(&bytes).unwrap();
        assert_eq!(asc.object_type, 42);
        assert_eq!(asc.frequency_index, 15);
        assert_eq!(asc.sample_rate, 44056);
        assert_eq!(asc.channels(), Some(1));
    }

    #[test]
    fn short_or_garbage_configs_are_errors() {
        assert_eq!(
            AudioSpecificConfig::parse(&[]),
            Err(FlvError::Truncated(WHAT))
        );
        assert_eq!(
            AudioSpecificConfig::parse(&[0x12]),
            Err(FlvError::Truncated(WHAT))
        );
        // Object type 0.
        assert_eq!(
            AudioSpecificConfig::parse(&[0x02, 0x08]),
            Err(FlvError::Invalid("AAC audio object type"))
        );
        // Sampling index 13 (reserved).
        assert_eq!(
            AudioSpecificConfig::parse(&[0x16, 0x88]),
            Err(FlvError::Invalid("AAC sampling frequency index"))
        );
    }
}
