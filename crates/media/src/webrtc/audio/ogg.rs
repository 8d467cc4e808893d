//! Ogg Opus, just enough to talk to ffmpeg through a pipe: pages written one Opus packet
//! each (RFC 7845), and pages read back into packets.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Samples per second of every Opus granule position.
pub const OPUS_RATE: u32 = 48_000;

const CAPTURE: &[u8; 4] = b"OggS";
const HEADER_LEN: usize = 27;
const FLAG_CONTINUED: u8 = 0x01;
const FLAG_FIRST: u8 = 0x02;
/// The largest page body read back (255 segments of 255 bytes).
const MAX_BODY: usize = 255 * 255;

/// CRC-32 as Ogg computes it: polynomial 0x04C11DB7, MSB first, initial value 0.
fn crc32(data: &[u8]) -> u32 {
    crate::ts::crc::crc32_msb_first(0, data)
}

/// Writes an Ogg Opus stream: the two header pages, then a page per packet.
#[derive(Debug)]
pub struct OggWriter {
    serial: u32,
    sequence: u32,
}

impl OggWriter {
    /// The writer and the stream's header pages (`OpusHead`, `OpusTags`) for `channels`.
    pub fn new(channels: u8, out: &mut BytesMut) -> OggWriter {
        let mut w = OggWriter {
            serial: 0x6D6F_6D6F,
            sequence: 0,
        };
        let mut head = BytesMut::with_capacity(19);
        head.put_slice(b"OpusHead");
        head.put_u8(1);
        head.put_u8(channels);
        head.put_u16_le(0); // pre-skip: the packets come from a live encoder mid-stream
        head.put_u32_le(OPUS_RATE);
        head.put_i16_le(0);
        head.put_u8(0);
        w.page(out, &head, 0, FLAG_FIRST);
        let mut tags = BytesMut::with_capacity(24);
        tags.put_slice(b"OpusTags");
        tags.put_u32_le(4);
        tags.put_slice(b"momo");
        tags.put_u32_le(0);
        w.page(out, &tags, 0, 0);
        w
    }

    /// Appends one page holding `packet`, which ends at sample `granule` (48 kHz).
    pub fn packet(&mut self, out: &mut BytesMut, packet: &[u8], granule: u64) {
        self.page(out, packet, granule, 0);
    }

    fn page(&mut self, out: &mut BytesMut, body: &[u8], granule: u64, flags: u8) {
        // A packet over one page's worth is cut short; Opus packets are far smaller.
        let body = &body[..body.len().min(MAX_BODY - 1)];
        let segments = body.len() / 255 + 1;
        let start = out.len();
        out.put_slice(CAPTURE);
        out.put_u8(0);
        out.put_u8(flags);
        out.put_u64_le(granule);
        out.put_u32_le(self.serial);
        out.put_u32_le(self.sequence);
        out.put_u32_le(0);
        out.put_u8(segments as u8);
        for _ in 0..segments - 1 {
            out.put_u8(255);
        }
        out.put_u8((body.len() % 255) as u8);
        out.put_slice(body);
        let crc = crc32(&out[start..]);
        out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
        self.sequence = self.sequence.wrapping_add(1);
    }
}

/// Why an Ogg stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OggError {
    #[error("not an Ogg page")]
    NotOgg,
    #[error("Ogg page checksum mismatch")]
    Checksum,
}

/// Reads Ogg pages from bytes as they come and hands out whole packets.
#[derive(Debug, Default)]
pub struct OggReader {
    buf: BytesMut,
    /// A packet continued on the next page.
    partial: Vec<u8>,
}

impl OggReader {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The packets of the next whole page, with its granule position; `None` until a
    /// page is complete.
    pub fn next_page(&mut self) -> Result<Option<(Vec<Bytes>, u64)>, OggError> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        if &self.buf[..4] != CAPTURE {
            return Err(OggError::NotOgg);
        }
        let segments = usize::from(self.buf[26]);
        if self.buf.len() < HEADER_LEN + segments {
            return Ok(None);
        }
        let lacing = &self.buf[HEADER_LEN..HEADER_LEN + segments];
        let body_len: usize = lacing.iter().map(|&l| usize::from(l)).sum();
        let total = HEADER_LEN + segments + body_len;
        if self.buf.len() < total {
            return Ok(None);
        }
        let mut page = self.buf.split_to(total);
        let stored = u32::from_le_bytes([page[22], page[23], page[24], page[25]]);
        page[22..26].fill(0);
        if crc32(&page) != stored {
            return Err(OggError::Checksum);
        }
        let flags = page[5];
        let granule = u64::from_le_bytes(page[6..14].try_into().unwrap_or_default());
        let lacing = page[HEADER_LEN..HEADER_LEN + segments].to_vec();
        page.advance(HEADER_LEN + segments);
        if flags & FLAG_CONTINUED == 0 {
            self.partial.clear();
        }
        let mut packets = Vec::new();
        for l in lacing {
            let l = usize::from(l);
            self.partial.extend_from_slice(&page[..l]);
            page.advance(l);
            if l < 255 {
                packets.push(Bytes::from(std::mem::take(&mut self.partial)));
            }
        }
        Ok(Some((packets, granule)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_written_read_back_with_their_granules() {
        let mut out = BytesMut::new();
        let mut w = OggWriter::new(2, &mut out);
        let big = vec![7u8; 600];
        w.packet(&mut out, &[1, 2, 3], 960);
        w.packet(&mut out, &big, 1920);
        let mut r = OggReader::new();
        // In pieces, as a pipe delivers them.
        let mut pages = Vec::new();
        for chunk in out.chunks(10) {
            r.push(chunk);
            while let Some(page) = r.next_page().unwrap() {
                pages.push(page);
            }
        }
        assert_eq!(pages.len(), 4);
        assert!(pages[0].0[0].starts_with(b"OpusHead"));
        assert!(pages[1].0[0].starts_with(b"OpusTags"));
        assert_eq!(pages[2], (vec![Bytes::from_static(&[1, 2, 3])], 960));
        assert_eq!(pages[3], (vec![Bytes::from(big)], 1920));
    }

    #[test]
    fn bad_pages_are_errors() {
        let mut r = OggReader::new();
        r.push(&[0u8; 40]);
        assert_eq!(r.next_page(), Err(OggError::NotOgg));
        let mut out = BytesMut::new();
        OggWriter::new(2, &mut out);
        out[30] ^= 0xFF;
        let mut r = OggReader::new();
        r.push(&out);
        assert_eq!(r.next_page(), Err(OggError::Checksum));
    }

    #[test]
    fn the_checksum_is_oggs() {
        // CRC-32/POSIX's published check value, before its final inversion.
        assert_eq!(crc32(b"123456789"), 0x765E_7680 ^ 0xFFFF_FFFF);
    }
}
