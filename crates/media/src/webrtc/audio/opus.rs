//! How long an Opus packet plays, from its TOC byte (RFC 6716 §3.1).

/// Samples at 48 kHz in `packet`, or `None` for an empty or malformed packet.
pub fn samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3F),
    };
    let total = frame * frames;
    // A packet plays at most 120 ms.
    (frames > 0 && total <= 5_760).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_of_common_packets() {
        // CELT FB 20 ms, one frame: what browsers send.
        assert_eq!(samples(&[0xFC, 1, 2]), Some(960));
        // SILK WB 20 ms.
        assert_eq!(samples(&[0x48]), Some(960));
        // Two CELT 10 ms frames.
        assert_eq!(samples(&[0xF1]), Some(960));
        // Code 3: three 20 ms frames.
        assert_eq!(samples(&[0xFB, 0x03]), Some(2880));
        // Malformed: empty, code 3 without a count, zero frames, too long.
        assert_eq!(samples(&[]), None);
        assert_eq!(samples(&[0xFB]), None);
        assert_eq!(samples(&[0xFB, 0x00]), None);
        assert_eq!(samples(&[0x1B, 0x3F]), None);
    }
}
