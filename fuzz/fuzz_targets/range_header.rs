//! Any bytes as an HTTP `Range` header, against any file size: parsing never panics, and
//! a range it grants always lies inside the file and is not empty.
#![no_main]

use app::http::range::{parse, ByteRange};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], u64)| {
    let (header, size) = input;
    if let ByteRange::Part(r) = parse(Some(header), size) {
        assert!(r.start < r.end, "{r:?} of {size}");
        assert!(r.end <= size, "{r:?} of {size}");
    }
});
