//! Bytes on the WebRTC ports: reading a STUN binding request's username fragment (which
//! peer a datagram is for) and cutting a TCP connection's stream into packets (RFC 4571)
//! never panic, whatever arrives; every packet cut out is framed back to the same bytes.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use media::webrtc::tcp::{frame, next_frame};

fuzz_target!(|data: &[u8]| {
    if let Some(ufrag) = media::webrtc::route::stun_ufrag(data) {
        assert!(!ufrag.is_empty() && !ufrag.contains(':'));
    }
    let mut buf = BytesMut::from(data);
    let mut rebuilt = Vec::new();
    while let Some(packet) = next_frame(&mut buf) {
        let _ = media::webrtc::route::stun_ufrag(&packet);
        rebuilt.extend(frame(&packet).expect("a packet cut out fits a frame"));
    }
    rebuilt.extend_from_slice(&buf);
    assert_eq!(rebuilt, data);
});
