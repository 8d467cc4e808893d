//! WebRTC offers, for playing (WHEP) and for publishing (WHIP): str0m's SDP parser and
//! momo's codec checks and answer to whatever parses; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::webrtc::{parse_offer, Purpose};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_offer(text, Purpose::Play);
        let _ = parse_offer(text, Purpose::Publish);
    }
});
