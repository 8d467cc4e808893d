//! Any bytes as an FLV stream, in any slicing: the reader never panics and keeps to its
//! limits, every frame it yields survives a trip through the tag writer, and every frame
//! goes through the tag inspectors, the codec-config parsers, the TS muxer and the HLS
//! segmenter without a panic, leaving whole 188-byte packets or nothing.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use media::flv::{
    encode_tag, AudioSpecificConfig, AudioTag, AvcConfig, FlvHeader, FlvReader, VideoTag,
};
use media::frame::FrameKind;
use media::hls::{Segmenter, SegmenterConfig};
use media::ts::{TsMuxer, PACKET_SIZE};

const MAX_TAG: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    // First byte: bit 0 puts a valid file header in front (so the fuzzer spends its time
    // on tags), the other bits pick how the input is sliced.
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let header = FlvHeader {
        has_audio: true,
        has_video: true,
    }
    .encode();
    let mut input = Vec::with_capacity(stream.len() + header.len());
    if control & 1 == 1 {
        input.extend_from_slice(&header);
    }
    input.extend_from_slice(stream);
    let chunk = usize::from(control >> 1) * 37 + 1;

    let mut reader = FlvReader::with_max_tag_size(MAX_TAG);
    let mut muxer = TsMuxer::new();
    let mut hls = Segmenter::new(SegmenterConfig {
        target_duration_ms: 100,
        window: 3,
    });
    let mut ts = BytesMut::new();
    for piece in input.chunks(chunk) {
        reader.push(piece);
        loop {
            let frame = match reader.poll() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(_) => {
                    assert_eq!(reader.buffered(), 0);
                    return;
                }
            };
            assert!(frame.payload.len() <= MAX_TAG);

            let mut again = FlvReader::new();
            again.push(&header);
            again.push(&encode_tag(&frame));
            assert_eq!(again.poll().unwrap().as_ref(), Some(&frame));

            match frame.kind {
                FrameKind::Video => {
                    if let Ok(tag) = VideoTag::parse(&frame.payload) {
                        if tag.is_sequence_header() {
                            if let Ok(config) = AvcConfig::parse(tag.data) {
                                let _ = config.first_sps();
                            }
                        }
                    }
                }
                FrameKind::Audio => {
                    if let Ok(tag) = AudioTag::parse(&frame.payload) {
                        if tag.is_sequence_header() {
                            let _ = AudioSpecificConfig::parse(tag.data);
                        }
                    }
                }
                FrameKind::Script => {}
            }

            let before = ts.len();
            if muxer.write_frame(&frame, &mut ts).is_err() {
                assert_eq!(ts.len(), before, "a refused frame writes nothing");
            }
            assert_eq!(ts.len() % PACKET_SIZE, 0);
            hls.push(&frame);
            if let Some(name) = hls.segments().last().map(|s| s.name()) {
                assert!(hls.segment(&name).is_some());
            }
        }
        assert!(reader.buffered() <= MAX_TAG + 15 + chunk);
    }
    let _ = hls.playlist();
});
