//! Any bytes as AMF0: decoding never panics, overflows the stack or allocates beyond the
//! input, and what decodes encodes to bytes that decode and encode the same again.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use media::amf0;

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    while !input.is_empty() {
        let before = input.len();
        match amf0::decode(&mut input) {
            Ok(_) => assert!(input.len() < before),
            Err(_) => break,
        }
    }
    if let Ok(values) = amf0::decode_all(data) {
        let mut once = BytesMut::new();
        amf0::encode_all(&values, &mut once);
        let again = amf0::decode_all(&once).expect("our own encoding decodes");
        let mut twice = BytesMut::new();
        amf0::encode_all(&again, &mut twice);
        assert_eq!(once, twice);
    }
});
