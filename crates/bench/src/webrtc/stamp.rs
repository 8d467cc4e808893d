//! Timestamps carried in the stream, for glass-to-glass delay: each video access unit
//! the bench publishes gets an SEI NAL unit (user data unregistered, RFC-less but every
//! H.264 path keeps it) holding the wallclock it was sent at; a viewer that finds one in
//! a picture it received knows how long that picture took through the server.
//!
//! The payload is a 16-byte tag and the time in microseconds since the Unix epoch as 16
//! hexadecimal digits: no zero bytes, so no emulation prevention is ever needed.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, BytesMut};
use media::flv::VideoTag;
use media::frame::{Frame, FrameKind};

/// The 16 bytes that mark a bench stamp (no zero bytes).
const TAG: &[u8; 16] = b"momo-bench-stamp";
/// SEI payload type 5: user data unregistered.
const USER_DATA_UNREGISTERED: u8 = 5;

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The SEI NAL unit (header byte included) stamping `micros`.
pub fn sei(micros: u64) -> Vec<u8> {
    let mut nal = Vec::with_capacity(36);
    nal.push(0x06);
    nal.push(USER_DATA_UNREGISTERED);
    nal.push(32);
    nal.extend_from_slice(TAG);
    nal.extend_from_slice(format!("{micros:016x}").as_bytes());
    nal.push(0x80); // rbsp trailing bits
    nal
}

/// `frame` with a stamp of now in front of its NAL units, if it is a coded H.264
/// picture in FLV with 4-byte NAL lengths (what FFmpeg writes); other frames as they are.
pub fn stamp_flv(frame: &Frame) -> Frame {
    let coded = frame.kind == FrameKind::Video
        && VideoTag::parse(&frame.payload)
            .is_ok_and(|t| !t.is_sequence_header() && t.data.len() > 4);
    if !coded || frame.payload.len() < 5 {
        return frame.clone();
    }
    let nal = sei(now_micros());
    let mut payload = BytesMut::with_capacity(frame.payload.len() + nal.len() + 4);
    payload.put_slice(&frame.payload[..5]);
    payload.put_u32(nal.len() as u32);
    payload.put_slice(&nal);
    payload.put_slice(&frame.payload[5..]);
    Frame {
        payload: payload.freeze(),
        ..frame.clone()
    }
}

/// An Annex B access unit with a stamp of now in front.
pub fn stamp_annexb(access_unit: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(access_unit.len() + 40);
    out.extend_from_slice(&[0, 0, 0, 1]);
    out.extend_from_slice(&sei(now_micros()));
    out.extend_from_slice(access_unit);
    out
}

/// Microseconds since the stamp in `data` (any framing) was made, if it holds one.
pub fn age_micros(data: &[u8]) -> Option<u64> {
    let at = data.windows(TAG.len()).position(|w| w == TAG)? + TAG.len();
    let hex = std::str::from_utf8(data.get(at..at + 16)?).ok()?;
    let sent = u64::from_str_radix(hex, 16).ok()?;
    Some(now_micros().saturating_sub(sent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_stamp_is_found_again_in_flv_and_annex_b() {
        let frame = Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::from_static(&[0x27, 1, 0, 0, 0, 0, 0, 0, 2, 0x41, 9]),
        };
        let stamped = stamp_flv(&frame);
        assert!(stamped.payload.len() > frame.payload.len());
        let age = age_micros(&stamped.payload).expect("a stamp");
        assert!(age < 1_000_000, "{age}");
        let tag = VideoTag::parse(&stamped.payload).unwrap();
        assert_eq!(&tag.data[..5], &[0, 0, 0, 36, 0x06]);
        assert!(age_micros(&stamp_annexb(&[0, 0, 0, 1, 0x41])).is_some());
        assert!(!sei(u64::MAX).windows(2).any(|w| w == [0, 0]));
        assert_eq!(age_micros(b"no stamp here"), None);
    }
}
