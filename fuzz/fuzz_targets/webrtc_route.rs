//! Datagrams on the shared WebRTC port: reading a STUN binding request's username
//! fragment (which peer a datagram is for) never panics, whatever arrives.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(ufrag) = media::webrtc::route::stun_ufrag(data) {
        assert!(!ufrag.is_empty() && !ufrag.contains(':'));
    }
});
