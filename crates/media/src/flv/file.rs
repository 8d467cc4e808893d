//! A whole `.flv` file into frames at once, for tests and the bench publisher.

use super::error::FlvError;
use super::reader::FlvReader;
use super::tag::FlvHeader;
use crate::frame::Frame;

/// Reads a complete FLV file held in memory: its header and every audio, video and
/// script frame, in file order.
///
/// Strict on purpose: a file that stops inside its header or a tag is an error
/// (`Truncated`), so a test fixture or benchmark input that was cut short is noticed
/// instead of silently losing its tail. A missing final PreviousTagSize is accepted.
pub fn read_all(data: &[u8]) -> Result<(FlvHeader, Vec<Frame>), FlvError> {
    let mut reader = FlvReader::new();
    reader.push(data);
    let mut frames = Vec::new();
    while let Some(frame) = reader.poll()? {
        frames.push(frame);
    }
    let header = reader.header().ok_or(FlvError::Truncated("FLV header"))?;
    if !reader.is_at_tag_boundary() {
        return Err(FlvError::Truncated("FLV tag"));
    }
    Ok((header, frames))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::flv::tag::encode_tag;
    use crate::frame::FrameKind;

    fn file() -> (Vec<u8>, Frame) {
        let f = Frame {
            kind: FrameKind::Audio,
            timestamp: 23,
            payload: Bytes::from_static(&[0xAF, 0x01, 0x21]),
        };
        let mut bytes = FlvHeader {
            has_audio: true,
            has_video: false,
        }
        .encode()
        .to_vec();
        bytes.extend_from_slice(&encode_tag(&f));
        (bytes, f)
    }

    #[test]
    fn whole_file_yields_header_and_frames() {
        let (bytes, f) = file();
        let (header, frames) = read_all(&bytes).unwrap();
        assert!(header.has_audio && !header.has_video);
        assert_eq!(frames, vec![f]);
    }

    #[test]
    fn file_without_final_previous_tag_size_is_accepted() {
        let (bytes, f) = file();
        let (_, frames) = read_all(&bytes[..bytes.len() - 4]).unwrap();
        assert_eq!(frames, vec![f]);
    }

    #[test]
    fn file_cut_inside_a_tag_is_truncated() {
        let (bytes, _) = file();
        assert_eq!(
            read_all(&bytes[..bytes.len() - 6]),
            Err(FlvError::Truncated("FLV tag"))
        );
    }

    #[test]
    fn file_cut_inside_the_header_is_truncated() {
        assert_eq!(read_all(b"FLV\x01"), Err(FlvError::Truncated("FLV header")));
        assert_eq!(read_all(b""), Err(FlvError::Truncated("FLV header")));
    }
}
