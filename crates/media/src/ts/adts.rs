//! ADTS: the 7-byte header that makes each raw AAC frame self-describing in MPEG-TS.

use super::error::TsError;
use crate::flv::AudioSpecificConfig;

/// Length of an ADTS header without CRC.
pub const HEADER_LEN: usize = 7;
/// The 13-bit frame length counts the header too.
const MAX_FRAME_LEN: usize = 0x1FFF;

/// Checks once, when the sequence header arrives, that every frame of this stream can be
/// framed: ADTS has 2 bits for the profile (AAC Main, LC, SSR, LTP), 4 for a frequency
/// index (no explicit rates) and 3 for the channel configuration.
pub fn check_config(asc: &AudioSpecificConfig) -> Result<(), TsError> {
    if !(1..=4).contains(&asc.object_type) {
        return Err(TsError::UnsupportedAacConfig("object type beyond AAC LTP"));
    }
    if asc.frequency_index > 12 {
        return Err(TsError::UnsupportedAacConfig("explicit sampling rate"));
    }
    if asc.channel_config > 7 {
        return Err(TsError::UnsupportedAacConfig(
            "channel configuration above 7",
        ));
    }
    Ok(())
}

/// The ADTS header for one raw AAC frame of `payload_len` bytes. HE-AAC is described
/// by its LC core, which is how decoders expect it (SBR is found in the frame).
///
/// `asc` must have passed [`check_config`].
pub fn header(asc: &AudioSpecificConfig, payload_len: usize) -> Result<[u8; HEADER_LEN], TsError> {
    let frame_len = HEADER_LEN + payload_len;
    if frame_len > MAX_FRAME_LEN {
        return Err(TsError::AacFrameTooLarge(payload_len));
    }
    let profile = (asc.object_type - 1) & 0x03;
    let freq = asc.frequency_index & 0x0F;
    let channels = asc.channel_config & 0x07;
    let len = frame_len as u16;
    Ok([
        0xFF,
        // Sync word continued, MPEG-4, layer 0, no CRC.
        0xF1,
        profile << 6 | freq << 2 | channels >> 2,
        (channels & 0x03) << 6 | (len >> 11) as u8,
        (len >> 3) as u8,
        // Low bits of the length, then buffer fullness 0x7FF ("variable bit rate").
        ((len & 0x07) as u8) << 5 | 0x1F,
        // Rest of the fullness, one raw data block.
        0xFC,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flv::testdata::*;

    fn asc(bytes: &[u8]) -> AudioSpecificConfig {
        AudioSpecificConfig::parse(bytes).unwrap()
    }

    #[test]
    fn header_describes_lc_44100_mono() {
        let h = header(&asc(&ASC_LC_44100_MONO), 100).unwrap();
        assert_eq!(h[0], 0xFF);
        assert_eq!(h[1] & 0xF6, 0xF0, "sync, MPEG-4, layer 0");
        assert_eq!(h[1] & 0x01, 1, "no CRC");
        assert_eq!(h[2] >> 6, 1, "profile LC");
        assert_eq!(h[2] >> 2 & 0x0F, 4, "44100 Hz");
        let channels = (h[2] & 1) << 2 | h[3] >> 6;
        assert_eq!(channels, 1);
        let len = u16::from(h[3] & 0x03) << 11 | u16::from(h[4]) << 3 | u16::from(h[5] >> 5);
        assert_eq!(len, 107);
        assert_eq!(h[6] & 0x03, 0, "one raw data block");
    }

    #[test]
    fn stereo_48k_channel_bits_straddle_two_bytes() {
        let h = header(&asc(&ASC_LC_48000_STEREO), 10).unwrap();
        assert_eq!(h[2], 0x01 << 6 | 3 << 2);
        assert_eq!(h[3] >> 6, 2);
    }

    #[test]
    fn too_long_frames_are_refused() {
        let a = asc(&ASC_LC_44100_MONO);
        assert!(header(&a, MAX_FRAME_LEN - HEADER_LEN).is_ok());
        assert_eq!(header(&a, 8185), Err(TsError::AacFrameTooLarge(8185)));
    }

    #[test]
    fn configs_adts_cannot_express_are_refused() {
        let mut a = asc(&ASC_LC_44100_MONO);
        assert_eq!(check_config(&a), Ok(()));
        a.object_type = 42;
        assert!(check_config(&a).is_err());
        let mut a = asc(&ASC_LC_44100_MONO);
        a.frequency_index = 15;
        assert!(check_config(&a).is_err());
        let mut a = asc(&ASC_LC_44100_MONO);
        a.channel_config = 8;
        assert!(check_config(&a).is_err());
    }
}
