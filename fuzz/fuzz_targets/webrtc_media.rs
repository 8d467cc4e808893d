//! What momo reads of WebRTC media: a WHIP publisher's H.264 access units (Annex B)
//! turned into FLV frames, Opus packets' TOC, the slice type of an RTMP source's
//! pictures (B-frame detection) and their packetization for WHEP viewers, and the Ogg
//! pages of the audio bridge; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::webrtc::audio::{ogg::OggReader, opus};
use media::webrtc::ingest::h264::H264ToFlv;

fuzz_target!(|data: &[u8]| {
    let mut h264 = H264ToFlv::new();
    for (i, unit) in data.split(|&b| b == 0xFE).enumerate() {
        let _ = h264.push(unit, i as u32 * 40);
    }
    let _ = opus::samples(data);
    for size in 1..=4 {
        let _ = media::flv::slice::is_b_picture(data, size);
    }
    let mut avc = media::flv::AvcConfig {
        profile: 66,
        compatibility: 0,
        level: 30,
        nalu_length_size: 4,
        sps: vec![bytes::Bytes::from_static(&[0x67, 0x42, 0x00, 0x1e, 0xab])],
        pps: vec![bytes::Bytes::from_static(&[0x68, 0xce, 0x38, 0x80])],
    };
    for size in [1, 2, 4] {
        avc.nalu_length_size = size;
        let keyframe = data.first().is_some_and(|b| b & 1 == 1);
        let _ = media::webrtc::rtp::h264_payloads(data, &avc, keyframe);
    }
    let mut ogg = OggReader::new();
    ogg.push(data);
    while let Ok(Some(_)) = ogg.next_page() {}
});
