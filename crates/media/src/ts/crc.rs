//! CRC-32/MPEG-2, the checksum that ends every PAT and PMT section.
//!
//! Polynomial 0x04C11DB7, most significant bit first, initial value all ones, no final
//! inversion. A decoder drops a table whose CRC does not match, so a wrong CRC means
//! a player that sees no streams at all.

const TABLE: [u32; 256] = table();

const fn table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000_0000 != 0 {
                crc << 1 ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// The CRC-32/MPEG-2 of `data`.
pub fn crc32_mpeg2(data: &[u8]) -> u32 {
    crc32_msb_first(0xFFFF_FFFF, data)
}

/// The CRC-32 of polynomial 0x04C11DB7, most significant bit first, starting from
/// `init`, with no final inversion (MPEG-2 starts from all ones, Ogg from zero).
pub fn crc32_msb_first(init: u32, data: &[u8]) -> u32 {
    data.iter().fold(init, |crc, &b| {
        crc << 8 ^ TABLE[usize::from((crc >> 24) as u8 ^ b)]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_check_value() {
        assert_eq!(crc32_mpeg2(b"123456789"), 0x0376_E6E7);
    }

    #[test]
    fn a_section_followed_by_its_crc_checks_to_zero() {
        let mut section = b"\x00\xb0\x0d\x00\x01\xc1\x00\x00\x00\x01\xf0\x00".to_vec();
        let crc = crc32_mpeg2(&section);
        section.extend_from_slice(&crc.to_be_bytes());
        assert_eq!(crc32_mpeg2(&section), 0);
    }
}
