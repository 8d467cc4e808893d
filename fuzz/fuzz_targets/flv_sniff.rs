//! Any bytes as the start of a connection to the HTTP port: the HTTP-FLV sniffer never
//! panics, and what it takes for a play request is one: a whole head, no longer than the
//! input, for a room name with no path in it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::server::flv_direct::{sniff, Sniffed};

fuzz_target!(|data: &[u8]| {
    match sniff(data) {
        Sniffed::Flv {
            room,
            query,
            head_len,
        } => {
            assert!(head_len <= data.len());
            // A blank line ends the head (the parser takes \n for \r\n, as HTTP allows).
            let head = &data[..head_len];
            assert!(head.ends_with(b"\n\n") || head.ends_with(b"\n\r\n"));
            assert!(data.starts_with(b"GET /live/"));
            assert!(!room.is_empty() && !room.contains(['/', '%', '?']));
            assert!(query.is_none_or(|q| !q.contains(' ')));
        }
        Sniffed::NeedMore => assert!(data.len() < 8192),
        Sniffed::Other => {}
    }
});
