//! Any string as a pagination cursor: decoding never panics, and what decodes
//! encodes back to a cursor that decodes the same.
#![no_main]

use app::http::Cursor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = Cursor::decode(s) {
            assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
        }
    }
});
