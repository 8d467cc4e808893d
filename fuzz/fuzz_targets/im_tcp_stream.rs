//! Any bytes as goim's plain-TCP stream, fed in pieces of every size the input chooses:
//! cutting never panics, never buffers more than one packet past the limits, and every
//! packet it yields re-encodes to exactly the bytes it was cut from.
#![no_main]

use im::proto::{self, Limits, StreamDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, stream)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_body: 64,
        max_packets_per_frame: 1,
    };
    let mut d = StreamDecoder::new(limits);
    let mut rebuilt = Vec::new();
    for piece in stream.chunks(usize::from(step).max(1)) {
        d.buffer().extend_from_slice(piece);
        loop {
            match d.next_packet() {
                Ok(Some(p)) => {
                    assert!(p.body.len() <= limits.max_body);
                    rebuilt.extend_from_slice(&proto::encode_to_bytes(&p));
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    // What came out is the stream's prefix, byte for byte; the rest waits in the buffer.
    assert_eq!(&stream[..rebuilt.len()], &rebuilt[..]);
    assert_eq!(rebuilt.len() + d.buffer().len(), stream.len());
});
