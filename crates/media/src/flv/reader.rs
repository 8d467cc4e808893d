//! Reading FLV as it arrives: push bytes in any slicing, poll frames out.
//!
//! The reader never trusts a size before it has checked it: a tag that announces more
//! than `max_tag_size` fails the stream at once, and a tag whose body is still on its way
//! is simply waited for. Memory is bounded by one tag (at most `max_tag_size` plus its
//! 15 bytes of framing) plus whatever the caller pushed since it last polled; call
//! [`FlvReader::poll`] until it returns `Ok(None)` after every [`FlvReader::push`].
//!
//! Cost: each frame's payload is split off the input buffer without copying the body
//! again; the only copy is the one `push` makes into that buffer.

use bytes::{Buf, BytesMut};

use super::error::FlvError;
use super::tag::{FlvHeader, HEADER_LEN, MAX_TAG_BODY, PREVIOUS_TAG_SIZE_LEN, TAG_HEADER_LEN};
use crate::frame::{Frame, FrameKind};

/// Most header bytes past the 9 standard ones that a file may declare. The extra bytes
/// are skipped without being buffered; the limit only catches streams that are not
/// really FLV before they swallow everything that follows.
const MAX_HEADER_EXTRA: u32 = 4096;

/// A streaming FLV demuxer: the FLV file header, then tags, in whatever pieces the
/// network or file hands over.
///
/// Tags of unknown types and encrypted ("filtered") tags are skipped without being
/// buffered. PreviousTagSize fields are read past but not checked: too many writers get
/// them wrong for a mismatch to mean anything.
///
/// After an error the reader stays failed and every later `poll` returns the same error:
/// an FLV stream that lost its framing cannot be resynchronised reliably.
#[derive(Debug)]
pub struct FlvReader {
    buf: BytesMut,
    state: State,
    /// Bytes still to be discarded from future input. Only non-zero while `buf` is empty.
    skip: usize,
    max_tag_size: usize,
    header: Option<FlvHeader>,
}

#[derive(Debug, Clone)]
enum State {
    Header,
    PreviousTagSize,
    TagHeader,
    Body {
        kind: FrameKind,
        timestamp: u32,
        size: usize,
    },
    Failed(FlvError),
}

impl Default for FlvReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FlvReader {
    /// A reader that accepts any tag the format can express (up to 16 MiB − 1).
    pub fn new() -> Self {
        Self::with_max_tag_size(MAX_TAG_BODY)
    }

    /// A reader that refuses tags whose body is larger than `max_tag_size` bytes, for
    /// sources that should never need that much (a publisher at a few Mbit/s sends
    /// keyframes of a few hundred KiB).
    pub fn with_max_tag_size(max_tag_size: usize) -> Self {
        FlvReader {
            buf: BytesMut::new(),
            state: State::Header,
            skip: 0,
            max_tag_size: max_tag_size.min(MAX_TAG_BODY),
            header: None,
        }
    }

    /// The file header, once it has been read.
    pub fn header(&self) -> Option<FlvHeader> {
        self.header
    }

    /// Bytes held while waiting for the rest of a header or tag.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// True when everything pushed so far has been consumed as whole tags: the place
    /// where a file may end without being truncated.
    pub fn is_at_tag_boundary(&self) -> bool {
        self.buf.is_empty()
            && self.skip == 0
            && matches!(self.state, State::PreviousTagSize | State::TagHeader)
    }

    /// Hands the reader more input. Nothing is parsed until [`FlvReader::poll`].
    pub fn push(&mut self, mut data: &[u8]) {
        if matches!(self.state, State::Failed(_)) {
            return;
        }
        if self.skip > 0 {
            let n = self.skip.min(data.len());
            self.skip -= n;
            data = &data[n..];
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, `Ok(None)` when more input is needed, or the error that
    /// ended the stream.
    pub fn poll(&mut self) -> Result<Option<Frame>, FlvError> {
        loop {
            match self.state {
                State::Failed(ref e) => return Err(e.clone()),
                State::Header => {
                    if self.buf.len() < HEADER_LEN {
                        return Ok(None);
                    }
                    if &self.buf[..3] != b"FLV" {
                        return self.fail(FlvError::BadSignature);
                    }
                    let flags = self.buf[4];
                    let data_offset =
                        u32::from_be_bytes([self.buf[5], self.buf[6], self.buf[7], self.buf[8]]);
                    if data_offset < HEADER_LEN as u32
                        || data_offset - HEADER_LEN as u32 > MAX_HEADER_EXTRA
                    {
                        return self.fail(FlvError::BadHeaderSize(data_offset));
                    }
                    self.header = Some(FlvHeader {
                        has_audio: flags & 0x04 != 0,
                        has_video: flags & 0x01 != 0,
                    });
                    self.buf.advance(HEADER_LEN);
                    self.discard(data_offset as usize - HEADER_LEN);
                    self.state = State::PreviousTagSize;
                }
                State::PreviousTagSize => {
                    if self.buf.len() < PREVIOUS_TAG_SIZE_LEN {
                        return Ok(None);
                    }
                    self.buf.advance(PREVIOUS_TAG_SIZE_LEN);
                    self.state = State::TagHeader;
                }
                State::TagHeader => {
                    if self.buf.len() < TAG_HEADER_LEN {
                        return Ok(None);
                    }
                    let h = &self.buf[..TAG_HEADER_LEN];
                    let tag_type = h[0];
                    let filtered = tag_type & 0x20 != 0;
                    let kind = FrameKind::from_type_id(tag_type & 0x1F);
                    let size = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
                    let timestamp = u32::from_be_bytes([h[7], h[4], h[5], h[6]]);
                    if size > self.max_tag_size {
                        return self.fail(FlvError::TagTooLarge {
                            size,
                            max: self.max_tag_size,
                        });
                    }
                    self.buf.advance(TAG_HEADER_LEN);
                    match kind {
                        Some(kind) if !filtered => {
                            self.state = State::Body {
                                kind,
                                timestamp,
                                size,
                            };
                        }
                        _ => {
                            tracing::debug!(
                                tag_type,
                                size,
                                "skipping an encrypted or unknown FLV tag"
                            );
                            self.discard(size);
                            self.state = State::PreviousTagSize;
                        }
                    }
                }
                State::Body {
                    kind,
                    timestamp,
                    size,
                } => {
                    if self.buf.len() < size {
                        return Ok(None);
                    }
                    let payload = self.buf.split_to(size).freeze();
                    self.state = State::PreviousTagSize;
                    return Ok(Some(Frame {
                        kind,
                        timestamp,
                        payload,
                    }));
                }
            }
        }
    }

    fn fail(&mut self, e: FlvError) -> Result<Option<Frame>, FlvError> {
        self.buf = BytesMut::new();
        self.skip = 0;
        self.state = State::Failed(e.clone());
        Err(e)
    }

    /// Drops `n` bytes of input: what is buffered now, and the rest as it arrives.
    fn discard(&mut self, n: usize) {
        let now = n.min(self.buf.len());
        self.buf.advance(now);
        self.skip = n - now;
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::flv::tag::encode_tag;

    fn frame(kind: FrameKind, timestamp: u32, body: &[u8]) -> Frame {
        Frame {
            kind,
            timestamp,
            payload: Bytes::copy_from_slice(body),
        }
    }

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

    fn drain(r: &mut FlvReader) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(f) = r.poll().unwrap() {
            out.push(f);
        }
        out
    }

    #[test]
    fn frames_come_back_as_written_whatever_the_slicing() {
        let frames = vec![
            frame(FrameKind::Script, 0, b"\x02\x00\x0aonMetaData"),
            frame(FrameKind::Video, 0, &[0x17, 0, 0, 0, 0, 1, 2, 3]),
            frame(FrameKind::Audio, 0xFF00_0023, &[0xAF, 1, 9, 9]),
        ];
        let bytes = stream(&frames);
        for chunk in [1, 2, 3, 7, 13, bytes.len()] {
            let mut r = FlvReader::new();
            let mut got = Vec::new();
            for piece in bytes.chunks(chunk) {
                r.push(piece);
                got.extend(drain(&mut r));
            }
            assert_eq!(got, frames, "chunk size {chunk}");
            assert!(r.is_at_tag_boundary());
        }
    }

    #[test]
    fn header_flags_are_reported() {
        let mut r = FlvReader::new();
        r.push(
            &FlvHeader {
                has_audio: false,
                has_video: true,
            }
            .encode(),
        );
        assert_eq!(r.poll(), Ok(None));
        assert_eq!(
            r.header(),
            Some(FlvHeader {
                has_audio: false,
                has_video: true
            })
        );
    }

    #[test]
    fn wrong_signature_is_refused_and_stays_refused() {
        let mut r = FlvReader::new();
        r.push(b"GIF89a\x01\x00\x00\x00\x00\x00\x00");
        assert_eq!(r.poll(), Err(FlvError::BadSignature));
        r.push(&stream(&[]));
        assert_eq!(r.poll(), Err(FlvError::BadSignature));
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn header_size_below_nine_is_refused() {
        let mut r = FlvReader::new();
        r.push(b"FLV\x01\x05\x00\x00\x00\x05");
        assert_eq!(r.poll(), Err(FlvError::BadHeaderSize(5)));
    }

    #[test]
    fn extra_header_bytes_are_skipped() {
        let mut bytes = b"FLV\x01\x05\x00\x00\x00\x0cXYZ\x00\x00\x00\x00".to_vec();
        let f = frame(FrameKind::Audio, 5, &[0xAF, 1]);
        bytes.extend_from_slice(&encode_tag(&f));
        let mut r = FlvReader::new();
        r.push(&bytes);
        assert_eq!(drain(&mut r), vec![f]);
    }

    #[test]
    fn oversized_tag_fails_before_its_body_is_buffered() {
        let mut bytes = stream(&[]);
        bytes.extend_from_slice(&[9, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        let mut r = FlvReader::with_max_tag_size(1 << 20);
        r.push(&bytes);
        assert_eq!(
            r.poll(),
            Err(FlvError::TagTooLarge {
                size: 0x10_0001,
                max: 1 << 20
            })
        );
    }

    #[test]
    fn body_that_has_not_arrived_is_waited_for_without_growing() {
        let mut bytes = stream(&[]);
        // A video tag announcing 1000 bytes, of which only 10 arrive.
        bytes.extend_from_slice(&[9, 0, 0x03, 0xE8, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&[0; 10]);
        let mut r = FlvReader::new();
        r.push(&bytes);
        assert_eq!(r.poll(), Ok(None));
        assert_eq!(r.poll(), Ok(None));
        assert_eq!(r.buffered(), 10);
        assert!(!r.is_at_tag_boundary());
    }

    #[test]
    fn unknown_and_encrypted_tags_are_skipped() {
        let mut bytes = stream(&[]);
        // Tag type 15 (unknown), 3 bytes; then an encrypted audio tag (0x20 | 8), 2 bytes.
        bytes.extend_from_slice(&[15, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 14]);
        bytes.extend_from_slice(&[0x28, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 13]);
        let f = frame(FrameKind::Video, 7, &[0x27, 1, 0, 0, 0]);
        bytes.extend_from_slice(&encode_tag(&f));
        for chunk in [1, 5, bytes.len()] {
            let mut r = FlvReader::new();
            let mut got = Vec::new();
            for piece in bytes.chunks(chunk) {
                r.push(piece);
                got.extend(drain(&mut r));
            }
            assert_eq!(got, vec![f.clone()], "chunk size {chunk}");
        }
    }
}
