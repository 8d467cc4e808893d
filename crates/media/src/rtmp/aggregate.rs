//! Aggregate messages (type 22): several audio, video or data messages in one body,
//! laid out as FLV tags (type, length, timestamp, stream id, body, back pointer).
//!
//! Some encoders send them to save headers, and some servers (FMS, Wowza) send them to
//! players. Both ends of momo unpack them with [`split`]. The tags' own timestamps are
//! moved so that the first one is the aggregate's, as the spec says. Bodies are slices
//! of the aggregate's `Bytes`: no copy.

use bytes::Bytes;

/// FLV tag header: type (1), length (3), timestamp (3 + 1 extension), stream id (3).
const TAG_HEADER_LEN: usize = 11;
/// The back pointer after each tag body.
const BACK_POINTER_LEN: usize = 4;

/// One message inside an aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The message type id (8 audio, 9 video, 18 data …).
    pub type_id: u8,
    /// The absolute timestamp, already moved onto the aggregate's timeline.
    pub timestamp: u32,
    /// The message body.
    pub payload: Bytes,
}

/// The messages of an aggregate whose own timestamp is `timestamp`. A malformed tail
/// (a tag longer than what is left) ends the iteration; what came before it stands.
pub fn split(timestamp: u32, body: &Bytes) -> Parts<'_> {
    Parts {
        body,
        at: 0,
        timestamp,
        first_ts: None,
    }
}

/// Iterator over an aggregate's messages; see [`split`].
#[derive(Debug)]
pub struct Parts<'a> {
    body: &'a Bytes,
    at: usize,
    timestamp: u32,
    first_ts: Option<u32>,
}

impl Iterator for Parts<'_> {
    type Item = Part;

    fn next(&mut self) -> Option<Part> {
        let header = self.body.get(self.at..self.at + TAG_HEADER_LEN)?;
        let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
        let ts = u32::from_be_bytes([header[7], header[4], header[5], header[6]]);
        let start = self.at + TAG_HEADER_LEN;
        let Some(end) = start.checked_add(len).filter(|&end| end <= self.body.len()) else {
            // Stop for good, even if called again.
            self.at = self.body.len();
            return None;
        };
        let base = *self.first_ts.get_or_insert(ts);
        self.at = end + BACK_POINTER_LEN;
        Some(Part {
            type_id: header[0],
            timestamp: self.timestamp.wrapping_add(ts.wrapping_sub(base)),
            payload: self.body.slice(start..end),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(type_id: u8, ts: u32, data: &[u8], out: &mut Vec<u8>) {
        out.push(type_id);
        out.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(&ts.to_be_bytes()[1..]);
        out.push((ts >> 24) as u8);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(data);
        out.extend_from_slice(&(11 + data.len() as u32).to_be_bytes());
    }

    #[test]
    fn parts_keep_their_spacing_from_the_aggregate_timestamp() {
        let mut body = Vec::new();
        tag(9, 1000, b"ab", &mut body);
        tag(8, 1040, b"cde", &mut body);
        let parts: Vec<Part> = split(500, &Bytes::from(body)).collect();
        assert_eq!(
            parts,
            vec![
                Part {
                    type_id: 9,
                    timestamp: 500,
                    payload: Bytes::from_static(b"ab")
                },
                Part {
                    type_id: 8,
                    timestamp: 540,
                    payload: Bytes::from_static(b"cde")
                },
            ]
        );
    }

    #[test]
    fn a_truncated_tail_is_dropped() {
        let mut body = Vec::new();
        tag(9, 0, b"ok", &mut body);
        tag(9, 40, b"cut short", &mut body);
        body.truncate(body.len() - 8);
        let body = Bytes::from(body);
        let mut parts = split(0, &body);
        assert_eq!(
            parts.next().map(|p| p.payload),
            Some(Bytes::from_static(b"ok"))
        );
        assert_eq!(parts.next(), None);
        assert_eq!(parts.next(), None);
    }
}
