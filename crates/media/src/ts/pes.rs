//! The PES header: stream id, length and the 90 kHz PTS/DTS of one access unit.

/// PES stream id of the first video stream.
pub const STREAM_ID_VIDEO: u8 = 0xE0;
/// PES stream id of the first audio stream.
pub const STREAM_ID_AUDIO: u8 = 0xC0;

/// 90 kHz timestamps wrap at 33 bits (about 26.5 hours).
pub const TIMESTAMP_MASK: u64 = 0x1_FFFF_FFFF;

/// Appends a PES header for an access unit of `es_len` bytes to `out`.
///
/// The DTS is written only when it differs from the PTS (frames with B-frame
/// reordering). `PES_packet_length` is written when it fits 16 bits, and as 0
/// ("unbounded", allowed for video only) otherwise; video always uses 0, as a keyframe
/// easily exceeds 64 KiB.
pub fn put_header(out: &mut Vec<u8>, stream_id: u8, pts: u64, dts: u64, es_len: usize) {
    let with_dts = pts != dts;
    let header_data_len: usize = if with_dts { 10 } else { 5 };
    let packet_len = 3 + header_data_len + es_len;
    let packet_len = if stream_id == STREAM_ID_VIDEO || packet_len > 0xFFFF {
        0
    } else {
        packet_len as u16
    };
    out.extend_from_slice(&[0, 0, 1, stream_id]);
    out.extend_from_slice(&packet_len.to_be_bytes());
    // '10', not scrambled, data_alignment_indicator: each PES starts an access unit.
    out.push(0x84);
    out.push(if with_dts { 0xC0 } else { 0x80 });
    out.push(header_data_len as u8);
    put_timestamp(out, if with_dts { 0x3 } else { 0x2 }, pts);
    if with_dts {
        put_timestamp(out, 0x1, dts);
    }
}

/// A 33-bit timestamp in the PES layout: a 4-bit prefix, then 3 + 15 + 15 bits, each
/// group followed by a marker bit.
fn put_timestamp(out: &mut Vec<u8>, prefix: u8, ts: u64) {
    let ts = ts & TIMESTAMP_MASK;
    out.push(prefix << 4 | ((ts >> 30) as u8 & 0x07) << 1 | 1);
    out.push((ts >> 22) as u8);
    out.push(((ts >> 15) as u8 & 0x7F) << 1 | 1);
    out.push((ts >> 7) as u8);
    out.push((ts as u8 & 0x7F) << 1 | 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads back a timestamp written by `put_timestamp`.
    fn read_timestamp(b: &[u8]) -> u64 {
        u64::from(b[0] >> 1 & 0x07) << 30
            | u64::from(b[1]) << 22
            | u64::from(b[2] >> 1) << 15
            | u64::from(b[3]) << 7
            | u64::from(b[4] >> 1)
    }

    #[test]
    fn audio_header_has_pts_only_and_a_length() {
        let mut out = Vec::new();
        put_header(&mut out, STREAM_ID_AUDIO, 0x1_2345_6789, 0x1_2345_6789, 100);
        assert_eq!(&out[..4], &[0, 0, 1, 0xC0]);
        assert_eq!(u16::from_be_bytes([out[4], out[5]]), 3 + 5 + 100);
        assert_eq!(out[7], 0x80);
        assert_eq!(out[8], 5);
        assert_eq!(out[9] >> 4, 0x2);
        assert_eq!(read_timestamp(&out[9..14]), 0x1_2345_6789);
        assert_eq!(out.len(), 14);
    }

    #[test]
    fn video_header_with_reordering_has_pts_and_dts_and_no_length() {
        let mut out = Vec::new();
        put_header(&mut out, STREAM_ID_VIDEO, 90_000 + 3600, 90_000, 200_000);
        assert_eq!(u16::from_be_bytes([out[4], out[5]]), 0);
        assert_eq!(out[7], 0xC0);
        assert_eq!(out[8], 10);
        assert_eq!(out[9] >> 4, 0x3);
        assert_eq!(read_timestamp(&out[9..14]), 93_600);
        assert_eq!(out[14] >> 4, 0x1);
        assert_eq!(read_timestamp(&out[14..19]), 90_000);
    }

    #[test]
    fn timestamps_wrap_at_33_bits() {
        let mut out = Vec::new();
        put_header(
            &mut out,
            STREAM_ID_AUDIO,
            TIMESTAMP_MASK + 5,
            TIMESTAMP_MASK + 5,
            1,
        );
        assert_eq!(read_timestamp(&out[9..14]), 4);
    }
}
