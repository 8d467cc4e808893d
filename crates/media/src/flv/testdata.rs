//! Codec configurations written by real encoders (x264 through ffmpeg), shared by the
//! unit tests of the FLV, TS and HLS code.

/// Bytes from a hex string; for test data only.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
        .collect()
}

/// An access unit in AVCC form (4-byte lengths) of NAL units `nals`.
pub(crate) fn avcc(nals: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for nal in nals {
        out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        out.extend_from_slice(nal);
    }
    out
}

/// SPS of a 320x180 Constrained Baseline stream (180 is not a multiple of 16: cropped).
pub(crate) const SPS_BASELINE_320X180: &str = "6742c00cd901419f9f011000000300100000030320f142a480";
/// PPS of the same stream.
pub(crate) const PPS_BASELINE: &str = "68cb8cb2";
/// SPS of a 1920x1080 High 4:4:4 Predictive stream (chroma_format_idc 3).
pub(crate) const SPS_HIGH444_1920X1080: &str =
    "67f40028919b280f0044fc4e0220000003002000000641e30632c0";
/// SPS of a 1280x720 interlaced High stream (frame_mbs_only_flag 0).
pub(crate) const SPS_HIGH_INTERLACED_1280X720: &str =
    "67640020acd940500bbf2e0220000003002000000643e2c5b2c0";
/// SPS of a 640x360 High stream.
pub(crate) const SPS_HIGH_640X360: &str = "6764001eacd940a02ff97011000003000100000300320f162d96";

/// The AVCDecoderConfigurationRecord for the baseline SPS and PPS above.
pub(crate) fn baseline_record() -> Vec<u8> {
    let sps = hex(SPS_BASELINE_320X180);
    let pps = hex(PPS_BASELINE);
    let mut r = vec![1, 0x42, 0xC0, 0x0C, 0xFF, 0xE1];
    r.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    r.extend_from_slice(&sps);
    r.push(1);
    r.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    r.extend_from_slice(&pps);
    r
}

/// AudioSpecificConfig: AAC LC, 44100 Hz, mono.
pub(crate) const ASC_LC_44100_MONO: [u8; 2] = [0x12, 0x08];
/// AudioSpecificConfig: AAC LC, 48000 Hz, stereo.
pub(crate) const ASC_LC_48000_STEREO: [u8; 2] = [0x11, 0x90];
