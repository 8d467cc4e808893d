//! Any bytes as a chat frame, binary and text: decoding never panics nor allocates
//! beyond the input; what decodes re-encodes to the same frame (binary) or to text that
//! decodes to the same packet (JSON); the body parsers answer Ok or an error.
#![no_main]

use bytes::{Bytes, BytesMut};
use im::proto::{self, AuthBody, ChangeRoomBody, Limits, OpsBody, ProtoError, SendMsgBody};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

fuzz_target!(|data: &[u8]| {
    // Small limits too, so the limit checks are reached often.
    for limits in [
        Limits::default(),
        Limits {
            max_body: 8,
            max_packets_per_frame: 3,
        },
    ] {
        binary(data, &limits);
        if let Ok(text) = std::str::from_utf8(data) {
            json(text, &limits);
        }
    }
    let _ = AuthBody::parse(data);
    if let Ok(c) = ChangeRoomBody::parse(data) {
        assert!(c
            .room
            .is_none_or(|r| proto::parse_room(&format!("live://{r}")) == Some(r)));
    }
    let _ = OpsBody::parse(data);
    let _ = SendMsgBody::parse(data);
});

fn binary(data: &[u8], limits: &Limits) {
    let copied = proto::decode_frame(data, limits);
    let shared = proto::decode_frame_bytes(&Bytes::copy_from_slice(data), limits);
    assert_eq!(copied, shared);
    let Ok(packets) = copied else { return };
    assert!(!packets.is_empty() && packets.len() <= limits.max_packets_per_frame);
    let mut again = BytesMut::new();
    for p in &packets {
        assert!(p.body.len() <= limits.max_body);
        proto::encode(p, &mut again);
    }
    // A frame is packets back to back and nothing else, so it re-encodes byte for byte.
    assert_eq!(&again[..], data);
    for p in &packets {
        let text = proto::encode_text(p);
        // RawValue checks the grammar only: a body such as 1e400 is valid JSON that
        // serde_json::Value could not hold.
        serde_json::from_str::<&RawValue>(&text).expect("encode_text writes JSON");
    }
}

fn json(text: &str, limits: &Limits) {
    let p = match proto::decode_text(text, limits) {
        Ok(p) => p,
        Err(ProtoError::FrameTooLarge(n)) => {
            assert!(n > limits.max_text_frame());
            return;
        }
        Err(_) => return,
    };
    assert!(p.body.len() <= limits.max_body);
    let again = proto::encode_text(&p);
    assert!(again.len() <= limits.max_text_frame(), "{again}");
    assert_eq!(
        proto::decode_text(&again, limits).as_ref(),
        Ok(&p),
        "{again}"
    );
    let frame = proto::encode_to_bytes(&p);
    assert_eq!(proto::decode_frame(&frame, limits), Ok(vec![p]));
}
