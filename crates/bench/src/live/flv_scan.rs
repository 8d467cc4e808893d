//! Counting FLV tags without reading them: the 11-byte tag headers are parsed, the
//! bodies are stepped over.
//!
//! An HTTP-FLV viewer in the bench needs to know, per tag, its type, timestamp and size,
//! and for video tags whether it is a keyframe or a sequence header, which the first
//! few body bytes tell. So the scanner keeps up to [`PEEK`] bytes of each body (copied
//! into a fixed array; the only copy it makes) and skips the rest by count, together
//! with the 4-byte PreviousTagSize after it. State between reads is a few integers and
//! two small arrays, whatever the tag sizes: no body is ever buffered. This is what
//! lets thousands of viewers share a core with the server they measure.
//!
//! [`media::flv::FlvReader`] is the full demuxer (it hands out every body); this is its
//! counting-only sibling for the load generator.

use thiserror::Error;

/// Body bytes kept for the caller: enough for the classic AVC header (5 bytes) and the
/// Enhanced RTMP one with its composition time (8), which
/// [`VideoTag::parse`](media::flv::VideoTag::parse) reads.
pub const PEEK: usize = 8;

const FILE_HEADER: usize = 9;
const TAG_HEADER: usize = 11;
const PREVIOUS_TAG_SIZE: u64 = 4;
/// Most header bytes past the standard 9 that a stream may declare before it is taken
/// for something else than FLV.
const MAX_HEADER_EXTRA: u64 = 4096;

/// What the scanner tells about one tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagHead<'a> {
    /// 8 audio, 9 video, 18 script (the filter bit is cleared).
    pub tag_type: u8,
    /// The full 32-bit timestamp (24 bits plus the extended byte), in milliseconds.
    pub timestamp: u32,
    /// The body's size, from the DataSize field.
    pub size: u32,
    /// The first `min(size, PEEK)` bytes of the body.
    pub peek: &'a [u8],
}

/// Why the stream cannot be FLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FlvScanError {
    #[error("the stream does not start with an FLV header")]
    NotFlv,
    #[error("the FLV header declares a data offset of {0}")]
    BadDataOffset(u32),
}

/// The FLV framing as a state machine over bytes in any slicing.
#[derive(Debug, Clone)]
pub struct FlvScanner {
    state: State,
    /// Bytes of the file header, tag header or peek gathered so far.
    held: [u8; TAG_HEADER],
    have: usize,
    /// The tag whose body is being peeked at.
    tag: (u8, u32, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FileHeader,
    /// Bytes to step over: header extra, a body's rest, a PreviousTagSize.
    Skip(u64),
    TagHeader,
    /// Gathering this many bytes of the body.
    Peek(usize),
    Failed(FlvScanError),
}

impl Default for FlvScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl FlvScanner {
    pub fn new() -> Self {
        FlvScanner {
            state: State::FileHeader,
            held: [0; TAG_HEADER],
            have: 0,
            tag: (0, 0, 0),
        }
    }

    /// Takes the next bytes of the stream and calls `on_tag` for every tag whose header
    /// (and peek) is complete within them. After an error the scanner stays failed.
    pub fn push(
        &mut self,
        mut data: &[u8],
        mut on_tag: impl FnMut(TagHead<'_>),
    ) -> Result<(), FlvScanError> {
        while !data.is_empty() {
            match self.state {
                State::Failed(e) => return Err(e),
                State::Skip(left) => {
                    let n = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    data = &data[n..];
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::TagHeader
                    } else {
                        State::Skip(left)
                    };
                }
                State::FileHeader => {
                    if !self.gather(&mut data, FILE_HEADER) {
                        continue;
                    }
                    self.state = match self.file_header() {
                        Ok(skip) => State::Skip(skip),
                        Err(e) => State::Failed(e),
                    };
                }
                State::TagHeader => {
                    if !self.gather(&mut data, TAG_HEADER) {
                        continue;
                    }
                    let h = &self.held;
                    let size = u32::from_be_bytes([0, h[1], h[2], h[3]]);
                    let timestamp = u32::from_be_bytes([h[7], h[4], h[5], h[6]]);
                    self.tag = (h[0] & 0x1F, timestamp, size);
                    self.state = State::Peek((size as usize).min(PEEK));
                    if size == 0 {
                        self.emit(0, &mut on_tag);
                    }
                }
                State::Peek(want) => {
                    if self.gather(&mut data, want) {
                        self.emit(want, &mut on_tag);
                    }
                }
            }
        }
        match self.state {
            State::Failed(e) => Err(e),
            _ => Ok(()),
        }
    }

    /// Copies bytes from `data` into `held` until it has `want`; true once it has.
    fn gather(&mut self, data: &mut &[u8], want: usize) -> bool {
        let n = (want - self.have).min(data.len());
        self.held[self.have..self.have + n].copy_from_slice(&data[..n]);
        self.have += n;
        *data = &data[n..];
        if self.have < want {
            return false;
        }
        self.have = 0;
        true
    }

    /// Checks the 9 held header bytes; returns what to skip up to the first tag.
    fn file_header(&self) -> Result<u64, FlvScanError> {
        if &self.held[..3] != b"FLV" {
            return Err(FlvScanError::NotFlv);
        }
        let offset = u32::from_be_bytes([self.held[5], self.held[6], self.held[7], self.held[8]]);
        let extra = u64::from(offset)
            .checked_sub(FILE_HEADER as u64)
            .filter(|&e| e <= MAX_HEADER_EXTRA)
            .ok_or(FlvScanError::BadDataOffset(offset))?;
        Ok(extra + PREVIOUS_TAG_SIZE)
    }

    /// Reports the current tag with `peeked` body bytes held, then skips the rest of
    /// its body and its PreviousTagSize.
    fn emit(&mut self, peeked: usize, on_tag: &mut impl FnMut(TagHead<'_>)) {
        let (tag_type, timestamp, size) = self.tag;
        on_tag(TagHead {
            tag_type,
            timestamp,
            size,
            peek: &self.held[..peeked],
        });
        self.state = State::Skip(u64::from(size) - peeked as u64 + PREVIOUS_TAG_SIZE);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use media::flv::{encode_tag, FlvHeader};
    use media::frame::{Frame, FrameKind};

    use super::*;

    fn frame(kind: FrameKind, timestamp: u32, payload: &[u8]) -> Frame {
        Frame {
            kind,
            timestamp,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    /// An FLV stream as momo sends it: header, then tags written by `encode_tag`.
    fn stream(frames: &[Frame]) -> Vec<u8> {
        let mut out = FlvHeader {
            has_audio: true,
            has_video: true,
        }
        .encode()
        .to_vec();
        for f in frames {
            out.extend_from_slice(&encode_tag(f));
        }
        out
    }

    /// (type, timestamp, size, peek) of one tag.
    type Seen = (u8, u32, u32, Vec<u8>);

    /// Every tag, feeding `step` bytes at a time.
    fn scan(input: &[u8], step: usize) -> Result<Vec<Seen>, FlvScanError> {
        let mut scanner = FlvScanner::new();
        let mut tags = Vec::new();
        for piece in input.chunks(step) {
            scanner.push(piece, |t| {
                tags.push((t.tag_type, t.timestamp, t.size, t.peek.to_vec()))
            })?;
        }
        Ok(tags)
    }

    #[test]
    fn reports_every_tag_header_in_any_slicing() {
        let big = vec![0x27; 5000];
        let frames = [
            frame(FrameKind::Script, 0, b"\x02\x00\x0aonMetaData"),
            frame(FrameKind::Video, 0, &[0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1F]),
            frame(FrameKind::Audio, 23, &[0xAF, 0x01, 0x21]),
            frame(FrameKind::Video, 0x0123_4567, &big),
        ];
        let input = stream(&frames);
        let want = vec![
            (18, 0, 13, b"\x02\x00\x0aonMet".to_vec()),
            (9, 0, 9, vec![0x17, 0, 0, 0, 0, 1, 0x64, 0]),
            (8, 23, 3, vec![0xAF, 0x01, 0x21]),
            (9, 0x0123_4567, 5000, vec![0x27; PEEK]),
        ];
        for step in [1, 2, 3, 7, 11, 15, 64, 4096, input.len()] {
            assert_eq!(scan(&input, step).unwrap(), want, "step {step}");
        }
    }

    #[test]
    fn an_empty_tag_is_reported_with_an_empty_peek() {
        let input = stream(&[
            frame(FrameKind::Audio, 5, &[]),
            frame(FrameKind::Audio, 6, &[0xAF]),
        ]);
        assert_eq!(
            scan(&input, 1).unwrap(),
            vec![(8, 5, 0, vec![]), (8, 6, 1, vec![0xAF])]
        );
    }

    #[test]
    fn a_tag_is_reported_once_its_peek_is_in_not_its_body() {
        let input = stream(&[frame(FrameKind::Video, 40, &[0x27; 100])]);
        // File header (13) + tag header (11) + 8 body bytes: reported already.
        assert_eq!(scan(&input[..13 + 11 + PEEK], 4).unwrap().len(), 1);
        assert!(scan(&input[..13 + 11 + PEEK - 1], 4).unwrap().is_empty());
    }

    #[test]
    fn a_longer_file_header_is_skipped() {
        let mut input = b"FLV\x01\x05\x00\x00\x00\x0Cxyz\x00\x00\x00\x00".to_vec();
        input.extend_from_slice(&encode_tag(&frame(FrameKind::Audio, 1, &[0xAF, 1])));
        assert_eq!(scan(&input, 5).unwrap(), vec![(8, 1, 2, vec![0xAF, 1])]);
    }

    #[test]
    fn what_is_not_flv_fails_and_stays_failed() {
        let mut s = FlvScanner::new();
        assert_eq!(
            s.push(b"HTTP/1.1 200 OK\r\n", |_| {}),
            Err(FlvScanError::NotFlv)
        );
        assert_eq!(s.push(b"FLV", |_| {}), Err(FlvScanError::NotFlv));
        assert_eq!(
            scan(b"FLV\x01\x05\x00\x00\x00\x03", 9),
            Err(FlvScanError::BadDataOffset(3))
        );
    }
}
