//! The first bytes of an uploaded file: the container sniff and the MP4 box walk that
//! decides whether it is faststart never panic or loop, whatever the bytes.
#![no_main]

use app::videos::probe::{faststart, sniff, Faststart};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sniff(data);
    if let Faststart::NeedFrom(at) = faststart(data) {
        assert!(at as usize >= data.len() || data.len() - (at as usize) < 16);
    }
});
