//! What kind of picture an H.264 access unit holds, from its first slice header: enough
//! to tell B pictures (which reorder, and which browsers' WebRTC decoders do not take)
//! from the rest.

use super::bits::BitReader;

const NAL_SLICE: u8 = 1;
const NAL_IDR: u8 = 5;

/// Whether the length-prefixed (AVCC) access unit `data` is a B picture: its first
/// slice's `slice_type` is B (1 or 6). Anything unreadable is not.
pub fn is_b_picture(data: &[u8], length_size: u8) -> bool {
    let size = usize::from(length_size);
    if !(1..=4).contains(&size) {
        return false;
    }
    let mut rest = data;
    while rest.len() > size {
        let len = rest[..size]
            .iter()
            .fold(0usize, |n, &b| n << 8 | usize::from(b));
        let Some(nal) = rest.get(size..size + len) else {
            return false;
        };
        rest = &rest[size + len..];
        match nal.first().map(|h| h & 0x1F) {
            Some(NAL_SLICE | NAL_IDR) => return slice_type(&nal[1..]) == Some(1),
            _ => continue,
        }
    }
    false
}

/// The slice type (0 P, 1 B, 2 I, 3 SP, 4 SI) of a slice header after its NAL byte.
fn slice_type(header: &[u8]) -> Option<u32> {
    let mut r = BitReader::new(header, "slice header");
    let _first_mb = r.ue().ok()?;
    r.ue().ok().map(|t| t % 5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flv::testdata::avcc;

    #[test]
    fn b_pictures_are_told_from_the_rest() {
        // first_mb_in_slice 0 ("1"), then slice_type: 6 B ("00111"), 5 P ("00110"),
        // 7 I ("0001000"), 1 B ("010").
        assert!(is_b_picture(&avcc(&[&[0x06, 0x05], &[0x01, 0x9C]]), 4));
        assert!(!is_b_picture(&avcc(&[&[0x41, 0x98]]), 4));
        assert!(!is_b_picture(&avcc(&[&[0x65, 0x88, 0x80]]), 4));
        assert!(is_b_picture(&avcc(&[&[0x01, 0xA0]]), 4));
    }

    #[test]
    fn garbage_is_not_a_b_picture() {
        for bad in [&[][..], &[0, 0, 0, 9, 1], &[0, 0, 0, 1, 0x01], &[0xFF; 12]] {
            assert!(!is_b_picture(bad, 4));
        }
        assert!(!is_b_picture(&avcc(&[&[0x01, 0xA0]]), 0));
    }
}
