//! Cutting a PES packet or a PSI section into 188-byte transport packets.
//!
//! Each packet has a 4-byte header (sync byte, PID, continuity counter) and 184 bytes
//! for an optional adaptation field and the payload. The adaptation field carries the
//! PCR and the random-access indicator in the first packet of a PES, and stuffing in
//! the last one: a PES must end exactly at a packet boundary, and stuffing belongs in
//! the adaptation field, never in the PES payload.

use bytes::{BufMut, BytesMut};

use super::PACKET_SIZE;

const SYNC_BYTE: u8 = 0x47;
const HEADER_LEN: usize = 4;
const BODY_LEN: usize = PACKET_SIZE - HEADER_LEN;

/// What the first packet of a PES announces in its adaptation field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PesStart {
    /// Program clock reference, in 90 kHz units (the 27 MHz extension is written as 0).
    pub pcr: Option<u64>,
    /// A decoder can start here: set on keyframes (and on audio when there is no video).
    pub random_access: bool,
}

/// The continuity counter of one PID: 4 bits, advanced for every packet with payload,
/// so a decoder can tell a lost packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Continuity(u8);

impl Continuity {
    fn next(&mut self) -> u8 {
        let cc = self.0;
        self.0 = (self.0 + 1) & 0x0F;
        cc
    }
}

/// Writes one PES packet (`pes`: header and data) on `pid` as as many transport packets
/// as it needs, the first flagged as a payload unit start.
pub fn write_pes(out: &mut BytesMut, pid: u16, cc: &mut Continuity, start: PesStart, pes: &[u8]) {
    out.reserve(packets_for(pes.len() + 8) * PACKET_SIZE);
    let mut rest = pes;
    let mut first = true;
    while first || !rest.is_empty() {
        let (pcr, random_access) = if first {
            (start.pcr, start.random_access)
        } else {
            (None, false)
        };
        let flags_needed = pcr.is_some() || random_access;
        // Length byte and flags byte, plus the PCR when present.
        let fixed = if flags_needed {
            2 + if pcr.is_some() { 6 } else { 0 }
        } else {
            0
        };
        let take = rest.len().min(BODY_LEN - fixed);
        let stuffing = BODY_LEN - fixed - take;
        let adaptation_len = fixed + stuffing;

        out.put_u8(SYNC_BYTE);
        out.put_u16(u16::from(first) << 14 | pid & 0x1FFF);
        let control = if adaptation_len > 0 { 0x30 } else { 0x10 };
        out.put_u8(control | cc.next());

        if adaptation_len > 0 {
            // The length byte counts what follows it.
            out.put_u8((adaptation_len - 1) as u8);
            if adaptation_len > 1 {
                let mut flags = 0u8;
                if random_access {
                    flags |= 0x40;
                }
                if pcr.is_some() {
                    flags |= 0x10;
                }
                out.put_u8(flags);
                if let Some(pcr) = pcr {
                    put_pcr(out, pcr);
                }
                let written = 2 + if pcr.is_some() { 6 } else { 0 };
                out.put_bytes(0xFF, adaptation_len - written);
            }
        }
        out.put_slice(&rest[..take]);
        rest = &rest[take..];
        first = false;
    }
}

/// Writes one PSI section (PAT or PMT) in a single packet: pointer field 0, the
/// section, and 0xFF filling the rest, as tables conventionally are.
///
/// Sections written by momo are at most a few dozen bytes, far below the 183 that fit.
pub fn write_section(out: &mut BytesMut, pid: u16, cc: &mut Continuity, section: &[u8]) {
    debug_assert!(section.len() < BODY_LEN);
    out.reserve(PACKET_SIZE);
    out.put_u8(SYNC_BYTE);
    out.put_u16(0x4000 | pid & 0x1FFF);
    out.put_u8(0x10 | cc.next());
    out.put_u8(0); // pointer_field: the section starts right here
    let len = section.len().min(BODY_LEN - 1);
    out.put_slice(&section[..len]);
    out.put_bytes(0xFF, BODY_LEN - 1 - len);
}

/// PCR: 33-bit base, 6 reserved bits, 9-bit extension (zero: 90 kHz precision is plenty).
fn put_pcr(out: &mut BytesMut, base: u64) {
    let base = base & 0x1_FFFF_FFFF;
    out.put_u32((base >> 1) as u32);
    out.put_u8(((base & 1) << 7) as u8 | 0x7E);
    out.put_u8(0);
}

/// An upper bound of the packets `len` bytes of PES need.
fn packets_for(len: usize) -> usize {
    len.div_ceil(BODY_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packets(out: &[u8]) -> Vec<&[u8]> {
        assert_eq!(out.len() % PACKET_SIZE, 0);
        out.chunks(PACKET_SIZE).collect()
    }

    /// The payload of a packet, after its adaptation field.
    fn payload(p: &[u8]) -> &[u8] {
        if p[3] & 0x20 != 0 {
            &p[5 + usize::from(p[4])..]
        } else {
            &p[4..]
        }
    }

    #[test]
    fn pes_is_split_with_unit_start_only_on_the_first_packet() {
        let pes: Vec<u8> = (0..500u32).map(|i| i as u8).collect();
        let mut out = BytesMut::new();
        let mut cc = Continuity::default();
        write_pes(&mut out, 0x100, &mut cc, PesStart::default(), &pes);
        let ps = packets(&out);
        assert_eq!(ps.len(), 3);
        let mut joined = Vec::new();
        for (i, p) in ps.iter().enumerate() {
            assert_eq!(p[0], 0x47);
            assert_eq!(p[1] & 0x40 != 0, i == 0);
            assert_eq!(u16::from(p[1] & 0x1F) << 8 | u16::from(p[2]), 0x100);
            assert_eq!(p[3] & 0x0F, i as u8);
            joined.extend_from_slice(payload(p));
        }
        assert_eq!(joined, pes);
    }

    #[test]
    fn first_packet_carries_pcr_and_random_access() {
        let mut out = BytesMut::new();
        let mut cc = Continuity::default();
        let start = PesStart {
            pcr: Some(0x1_2345_6789),
            random_access: true,
        };
        write_pes(&mut out, 0x100, &mut cc, start, &[0xAB; 10]);
        let p = &out[..];
        assert_eq!(out.len(), PACKET_SIZE);
        assert_eq!(p[3] & 0x30, 0x30);
        assert_eq!(p[5], 0x50);
        let base =
            u64::from(u32::from_be_bytes([p[6], p[7], p[8], p[9]])) << 1 | u64::from(p[10] >> 7);
        assert_eq!(base, 0x1_2345_6789);
        assert_eq!(payload(p), &[0xAB; 10]);
    }

    #[test]
    fn stuffing_of_one_and_two_bytes_is_encoded_exactly() {
        for (len, expect_af) in [(183usize, vec![0u8]), (182, vec![1, 0])] {
            let mut out = BytesMut::new();
            let mut cc = Continuity::default();
            write_pes(&mut out, 0x101, &mut cc, PesStart::default(), &vec![7; len]);
            assert_eq!(out.len(), PACKET_SIZE);
            assert_eq!(&out[4..4 + expect_af.len()], &expect_af[..]);
            assert_eq!(payload(&out).len(), len);
        }
        let mut out = BytesMut::new();
        let mut cc = Continuity::default();
        write_pes(&mut out, 0x101, &mut cc, PesStart::default(), &[7; 184]);
        assert_eq!(
            out[3] & 0x30,
            0x10,
            "an exactly full packet needs no adaptation field"
        );
    }

    #[test]
    fn continuity_counter_wraps_after_fifteen() {
        let mut cc = Continuity::default();
        let mut out = BytesMut::new();
        for _ in 0..17 {
            write_section(&mut out, 0, &mut cc, &[0, 1, 2]);
        }
        let ccs: Vec<u8> = packets(&out).iter().map(|p| p[3] & 0x0F).collect();
        assert_eq!(ccs[15], 15);
        assert_eq!(ccs[16], 0);
    }

    #[test]
    fn section_packet_has_pointer_field_and_fill() {
        let mut cc = Continuity::default();
        let mut out = BytesMut::new();
        write_section(&mut out, 0x1000, &mut cc, &[0x02, 0xB0]);
        assert_eq!(&out[..7], &[0x47, 0x50, 0x00, 0x10, 0x00, 0x02, 0xB0]);
        assert!(out[7..].iter().all(|&b| b == 0xFF));
    }
}
