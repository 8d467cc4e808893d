//! The program tables: the PAT says where the PMT is, the PMT lists the elementary
//! streams and which PID carries the clock.
//!
//! A player that joins mid-stream (every HLS player, at every segment) needs both before
//! it can decode anything, so they are repeated at the start of each segment.

use super::crc::crc32_mpeg2;
use super::PMT_PID;

/// The transport stream id and program number momo uses: one program per stream.
const TRANSPORT_STREAM_ID: u16 = 1;
const PROGRAM_NUMBER: u16 = 1;

/// One elementary stream listed in the PMT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EsInfo {
    pub stream_type: u8,
    pub pid: u16,
}

/// The program association table section (table id 0), CRC included.
pub fn pat() -> Vec<u8> {
    let mut s = Vec::with_capacity(16);
    section_header(&mut s, 0x00, TRANSPORT_STREAM_ID, 0, 4);
    s.extend_from_slice(&PROGRAM_NUMBER.to_be_bytes());
    s.extend_from_slice(&(0xE000 | PMT_PID).to_be_bytes());
    finish(s)
}

/// The program map table section (table id 2), CRC included. `pcr_pid` is 0x1FFF when
/// no stream carries a clock (no streams yet). `version` (5 bits) must change whenever
/// the list of streams does, or players keep the old one.
pub fn pmt(version: u8, pcr_pid: u16, streams: &[EsInfo]) -> Vec<u8> {
    let mut s = Vec::with_capacity(21 + 5 * streams.len());
    section_header(&mut s, 0x02, PROGRAM_NUMBER, version, 4 + 5 * streams.len());
    s.extend_from_slice(&(0xE000 | pcr_pid).to_be_bytes());
    s.extend_from_slice(&0xF000u16.to_be_bytes()); // no program descriptors
    for es in streams {
        s.push(es.stream_type);
        s.extend_from_slice(&(0xE000 | es.pid).to_be_bytes());
        s.extend_from_slice(&0xF000u16.to_be_bytes()); // no stream descriptors
    }
    finish(s)
}

/// table_id, section_length (which counts from after itself to the end of the CRC),
/// the id field, version and section numbers. `body_len` is what follows them.
fn section_header(s: &mut Vec<u8>, table_id: u8, id: u16, version: u8, body_len: usize) {
    let section_length = 5 + body_len + 4;
    s.push(table_id);
    // section_syntax_indicator 1, '0', two reserved bits, 12 bits of length.
    s.extend_from_slice(&(0xB000 | section_length as u16 & 0x0FFF).to_be_bytes());
    s.extend_from_slice(&id.to_be_bytes());
    // Two reserved bits, the version, current_next_indicator 1.
    s.push(0xC0 | (version & 0x1F) << 1 | 1);
    s.push(0); // section_number
    s.push(0); // last_section_number
}

fn finish(mut s: Vec<u8>) -> Vec<u8> {
    let crc = crc32_mpeg2(&s);
    s.extend_from_slice(&crc.to_be_bytes());
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ts::{AUDIO_PID, STREAM_TYPE_AAC, STREAM_TYPE_H264, VIDEO_PID};

    fn section_length(s: &[u8]) -> usize {
        usize::from(u16::from_be_bytes([s[1], s[2]]) & 0x0FFF)
    }

    #[test]
    fn pat_points_at_the_pmt() {
        let pat = pat();
        assert_eq!(pat.len(), 16);
        assert_eq!(section_length(&pat), pat.len() - 3);
        assert_eq!(&pat[8..12], &[0x00, 0x01, 0xF0, 0x00]);
        assert_eq!(crc32_mpeg2(&pat), 0);
    }

    #[test]
    fn pmt_lists_streams_and_the_clock_pid() {
        let streams = [
            EsInfo {
                stream_type: STREAM_TYPE_H264,
                pid: VIDEO_PID,
            },
            EsInfo {
                stream_type: STREAM_TYPE_AAC,
                pid: AUDIO_PID,
            },
        ];
        let pmt = pmt(3, VIDEO_PID, &streams);
        assert_eq!(section_length(&pmt), pmt.len() - 3);
        assert_eq!(pmt[5], 0xC0 | 3 << 1 | 1);
        assert_eq!(&pmt[8..10], &[0xE1, 0x00]);
        assert_eq!(&pmt[12..17], &[0x1B, 0xE1, 0x00, 0xF0, 0x00]);
        assert_eq!(&pmt[17..22], &[0x0F, 0xE1, 0x01, 0xF0, 0x00]);
        assert_eq!(crc32_mpeg2(&pmt), 0);
    }

    #[test]
    fn empty_pmt_has_no_clock() {
        let pmt = pmt(0, 0x1FFF, &[]);
        assert_eq!(&pmt[8..10], &[0xFF, 0xFF]);
        assert_eq!(pmt.len(), 16);
    }
}
