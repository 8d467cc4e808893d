//! WHEP offers: str0m's SDP parser and momo's answer to whatever parses, for a stream
//! that is not live; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = media::webrtc::parse_offer(text);
    }
});
