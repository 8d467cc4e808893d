//! Just enough of an H.264 sequence parameter set to know the picture size.
//!
//! Room pages and the admin console show a stream's resolution, and HLS playlists can
//! advertise it; the only place it is written down is the SPS, in Exp-Golomb codes behind
//! optional fields (chroma format and scaling lists for the High profiles, picture order
//! count variants, frame cropping). Everything after the cropping window is left unread.

use super::bits::BitReader;
use super::error::FlvError;

const WHAT: &str = "H.264 SPS";

/// The fields of an SPS that describe the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sps {
    pub profile_idc: u8,
    /// The constraint_set flags byte.
    pub constraint_flags: u8,
    pub level_idc: u8,
    /// 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format_idc: u8,
    pub bit_depth_luma: u8,
    pub bit_depth_chroma: u8,
    /// False for interlaced (field or MBAFF) coding.
    pub frame_mbs_only: bool,
    /// Displayed width in pixels, after cropping.
    pub width: u32,
    /// Displayed height in pixels, after cropping.
    pub height: u32,
}

impl Sps {
    /// Parses an SPS NAL unit, header byte included, with its emulation-prevention bytes.
    pub fn parse(nal: &[u8]) -> Result<Self, FlvError> {
        let (&header, _) = nal.split_first().ok_or(FlvError::Truncated(WHAT))?;
        if header & 0x1F != 7 {
            return Err(FlvError::Invalid("H.264 SPS NAL type"));
        }
        let rbsp = unescape(&nal[1..]);
        let mut r = BitReader::new(&rbsp, WHAT);

        let profile_idc = r.bits(8)? as u8;
        let constraint_flags = r.bits(8)? as u8;
        let level_idc = r.bits(8)? as u8;
        let _seq_parameter_set_id = r.ue()?;

        let mut chroma_format_idc = 1;
        let mut separate_colour_plane = false;
        let mut bit_depth_luma = 8;
        let mut bit_depth_chroma = 8;
        if has_chroma_info(profile_idc) {
            chroma_format_idc = r.ue()?;
            if chroma_format_idc > 3 {
                return Err(FlvError::Invalid("H.264 SPS chroma_format_idc"));
            }
            if chroma_format_idc == 3 {
                separate_colour_plane = r.bit()?;
            }
            bit_depth_luma = 8 + r.ue()?;
            bit_depth_chroma = 8 + r.ue()?;
            if bit_depth_luma > 14 || bit_depth_chroma > 14 {
                return Err(FlvError::Invalid("H.264 SPS bit depth"));
            }
            let _qpprime_y_zero_transform_bypass = r.bit()?;
            if r.bit()? {
                // seq_scaling_matrix_present_flag
                let lists = if chroma_format_idc == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if r.bit()? {
                        skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                    }
                }
            }
        }

        let _log2_max_frame_num_minus4 = r.ue()?;
        match r.ue()? {
            0 => {
                let _log2_max_pic_order_cnt_lsb_minus4 = r.ue()?;
            }
            1 => {
                let _delta_pic_order_always_zero = r.bit()?;
                let _offset_for_non_ref_pic = r.se()?;
                let _offset_for_top_to_bottom_field = r.se()?;
                let cycle = r.ue()?;
                if cycle > 255 {
                    return Err(FlvError::Invalid("H.264 SPS pic order count cycle"));
                }
                for _ in 0..cycle {
                    let _offset_for_ref_frame = r.se()?;
                }
            }
            2 => {}
            _ => return Err(FlvError::Invalid("H.264 SPS pic_order_cnt_type")),
        }
        let _max_num_ref_frames = r.ue()?;
        let _gaps_in_frame_num_allowed = r.bit()?;
        let width_in_mbs = u64::from(r.ue()?) + 1;
        let height_in_map_units = u64::from(r.ue()?) + 1;
        let frame_mbs_only = r.bit()?;
        if !frame_mbs_only {
            let _mb_adaptive_frame_field = r.bit()?;
        }
        let _direct_8x8_inference = r.bit()?;
        let (mut crop_left, mut crop_right, mut crop_top, mut crop_bottom) = (0, 0, 0, 0);
        if r.bit()? {
            crop_left = u64::from(r.ue()?);
            crop_right = u64::from(r.ue()?);
            crop_top = u64::from(r.ue()?);
            crop_bottom = u64::from(r.ue()?);
        }

        // Cropping is counted in chroma samples (and in field lines when interlaced).
        let field_factor = if frame_mbs_only { 1 } else { 2 };
        let chroma_array_type = if separate_colour_plane {
            0
        } else {
            chroma_format_idc
        };
        let (crop_unit_x, crop_unit_y) = match chroma_array_type {
            0 => (1, field_factor),
            1 => (2, 2 * field_factor),
            2 => (2, field_factor),
            _ => (1, field_factor),
        };
        let coded_width = width_in_mbs * 16;
        let coded_height = height_in_map_units * 16 * field_factor;
        let crop_x = (crop_left + crop_right) * crop_unit_x;
        let crop_y = (crop_top + crop_bottom) * crop_unit_y;
        if crop_x >= coded_width || crop_y >= coded_height {
            return Err(FlvError::Invalid("H.264 SPS cropping window"));
        }
        let width = u32::try_from(coded_width - crop_x)
            .map_err(|_| FlvError::Invalid("H.264 SPS picture width"))?;
        let height = u32::try_from(coded_height - crop_y)
            .map_err(|_| FlvError::Invalid("H.264 SPS picture height"))?;

        Ok(Sps {
            profile_idc,
            constraint_flags,
            level_idc,
            chroma_format_idc: chroma_format_idc as u8,
            bit_depth_luma: bit_depth_luma as u8,
            bit_depth_chroma: bit_depth_chroma as u8,
            frame_mbs_only,
            width,
            height,
        })
    }

    /// The RFC 6381 codec string (`avc1.PPCCLL`) that HLS and MSE players ask for.
    pub fn codec_string(&self) -> String {
        format!(
            "avc1.{:02x}{:02x}{:02x}",
            self.profile_idc, self.constraint_flags, self.level_idc
        )
    }
}

/// The profiles whose SPS carries chroma format, bit depths and scaling matrices.
fn has_chroma_info(profile_idc: u8) -> bool {
    matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

/// Reads past one scaling list: delta-coded values, where a next value of zero means
/// the rest of the list repeats the last one and nothing more is coded.
fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), FlvError> {
    let mut last: i64 = 8;
    let mut next: i64 = 8;
    for _ in 0..size {
        if next != 0 {
            let delta = i64::from(r.se()?);
            next = (last + delta).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// Removes emulation-prevention bytes (`00 00 03` → `00 00`) to get the raw bits.
fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut zeros = 0;
    for &b in data {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flv::testdata::*;

    fn parse_hex(s: &str) -> Sps {
        Sps::parse(&hex(s)).unwrap()
    }

    #[test]
    fn baseline_picture_size_honours_the_cropping_window() {
        let sps = parse_hex(SPS_BASELINE_320X180);
        assert_eq!((sps.width, sps.height), (320, 180));
        assert_eq!(sps.profile_idc, 66);
        assert_eq!(sps.chroma_format_idc, 1);
        assert_eq!(sps.codec_string(), "avc1.42c00c");
    }

    #[test]
    fn high_profile_reads_chroma_format_before_the_size() {
        let sps = parse_hex(SPS_HIGH_640X360);
        assert_eq!((sps.width, sps.height), (640, 360));
        assert_eq!(sps.profile_idc, 100);
        assert_eq!(sps.bit_depth_luma, 8);
    }

    #[test]
    fn high_444_crops_in_luma_samples() {
        let sps = parse_hex(SPS_HIGH444_1920X1080);
        assert_eq!(sps.chroma_format_idc, 3);
        assert_eq!((sps.width, sps.height), (1920, 1080));
    }

    #[test]
    fn interlaced_height_counts_field_pairs() {
        let sps = parse_hex(SPS_HIGH_INTERLACED_1280X720);
        assert!(!sps.frame_mbs_only);
        assert_eq!((sps.width, sps.height), (1280, 720));
    }

    /// Writes an SPS bit by bit, to reach the branches real encoders rarely take.
    struct BitWriter {
        bytes: Vec<u8>,
        bits: usize,
    }

    impl BitWriter {
        fn new() -> Self {
            BitWriter {
                bytes: Vec::new(),
                bits: 0,
            }
        }
        fn bit(&mut self, b: bool) {
            if self.bits.is_multiple_of(8) {
                self.bytes.push(0);
            }
            if b {
                *self.bytes.last_mut().unwrap() |= 0x80 >> (self.bits % 8);
            }
            self.bits += 1;
        }
        fn bits(&mut self, v: u32, n: u32) {
            for i in (0..n).rev() {
                self.bit(v >> i & 1 == 1);
            }
        }
        fn ue(&mut self, v: u32) {
            let x = u64::from(v) + 1;
            let len = 64 - x.leading_zeros();
            self.bits(0, len - 1);
            for i in (0..len).rev() {
                self.bit(x >> i & 1 == 1);
            }
        }
        fn se(&mut self, v: i32) {
            let v = i64::from(v);
            self.ue(if v > 0 {
                (2 * v - 1) as u32
            } else {
                (-2 * v) as u32
            });
        }
        fn finish(mut self) -> Vec<u8> {
            self.bit(true); // rbsp_stop_one_bit
            self.bytes
        }
    }

    #[test]
    fn scaling_lists_and_poc_type_1_are_skipped_correctly() {
        let mut w = BitWriter::new();
        w.bits(0x67, 8);
        w.bits(100, 8); // High
        w.bits(0, 8);
        w.bits(40, 8);
        w.ue(0); // sps id
        w.ue(1); // 4:2:0
        w.ue(0);
        w.ue(0);
        w.bit(false);
        w.bit(true); // scaling matrix present
        for i in 0..8 {
            let present = i % 2 == 0;
            w.bit(present);
            if present {
                // A few explicit deltas, then a delta that makes next zero (repeat).
                w.se(5);
                w.se(-3);
                w.se(120);
                w.se(-130); // 8 + 5 − 3 + 120 − 130: next becomes 0, the rest repeats
            }
        }
        w.ue(0); // log2_max_frame_num_minus4
        w.ue(1); // pic_order_cnt_type 1
        w.bit(false);
        w.se(-2);
        w.se(3);
        w.ue(3);
        w.se(1);
        w.se(-1);
        w.se(7);
        w.ue(4); // max_num_ref_frames
        w.bit(false);
        w.ue(119); // 1920 / 16 − 1
        w.ue(67); // 1088 / 16 − 1
        w.bit(true); // frame_mbs_only
        w.bit(true);
        w.bit(true); // cropping
        w.ue(0);
        w.ue(0);
        w.ue(0);
        w.ue(4); // 8 lines off the bottom
        w.bit(false); // no VUI
        let sps = Sps::parse(&w.finish()).unwrap();
        assert_eq!((sps.width, sps.height), (1920, 1080));
    }

    #[test]
    fn emulation_prevention_bytes_are_removed() {
        assert_eq!(
            unescape(&[0, 0, 3, 1, 0, 0, 3, 0, 3]),
            vec![0, 0, 1, 0, 0, 0, 3]
        );
    }

    #[test]
    fn truncated_sps_fails_rather_than_guesses() {
        // The bytes after the cropping window (VUI) are not needed, so a prefix may
        // parse; but then it must give the full answer, and shorter ones must fail.
        for sps in [
            SPS_HIGH_640X360,
            SPS_BASELINE_320X180,
            SPS_HIGH444_1920X1080,
        ] {
            let sps = hex(sps);
            let full = Sps::parse(&sps).unwrap();
            let mut parsed_from = None;
            for len in 0..sps.len() {
                match Sps::parse(&sps[..len]) {
                    Ok(p) => {
                        assert_eq!(p, full);
                        parsed_from.get_or_insert(len);
                    }
                    Err(_) => assert!(
                        parsed_from.is_none(),
                        "length {len} failed after a shorter one parsed"
                    ),
                }
            }
            assert!(parsed_from.unwrap_or(sps.len()) > 5);
        }
    }

    #[test]
    fn garbage_sps_is_an_error_not_a_panic() {
        assert_eq!(
            Sps::parse(&[0x68, 1, 2, 3]),
            Err(FlvError::Invalid("H.264 SPS NAL type"))
        );
        assert!(Sps::parse(&[0x67, 100, 0, 0, 0x00, 0x00, 0x00, 0x00, 0x00]).is_err());
        // Cropping that removes the whole picture.
        let mut w = BitWriter::new();
        w.bits(0x67, 8);
        w.bits(66, 8);
        w.bits(0, 8);
        w.bits(30, 8);
        w.ue(0); // sps id
        w.ue(0); // log2_max_frame_num_minus4
        w.ue(0); // pic_order_cnt_type
        w.ue(0); // log2_max_pic_order_cnt_lsb_minus4
        w.ue(1); // max_num_ref_frames
        w.bit(false);
        w.ue(0); // 16 wide
        w.ue(0); // 16 high
        w.bit(true);
        w.bit(true);
        w.bit(true);
        w.ue(4);
        w.ue(4); // 16 pixels cropped from 16
        w.ue(0);
        w.ue(0);
        assert_eq!(
            Sps::parse(&w.finish()),
            Err(FlvError::Invalid("H.264 SPS cropping window"))
        );
    }

    #[test]
    fn huge_deltas_in_scaling_lists_do_not_overflow() {
        let mut w = BitWriter::new();
        w.bits(0x67, 8);
        w.bits(100, 8);
        w.bits(0, 8);
        w.bits(40, 8);
        w.ue(0);
        w.ue(1);
        w.ue(0);
        w.ue(0);
        w.bit(false);
        w.bit(true);
        w.bit(true);
        w.se(i32::MAX);
        w.se(i32::MIN + 1);
        // Then the data runs out: an error, never an overflow panic.
        assert!(Sps::parse(&w.finish()).is_err());
    }
}
