//! Any bytes as what a client sends on the chat WebSocket, fed in two pieces split at
//! every kind of point: the frame decoder never panics, never buffers more than the
//! message limit allows, and what it returns is whole (text is UTF-8, control payloads
//! are short).
#![no_main]

use im::ws::{Decoder, Message};
use libfuzzer_sys::fuzz_target;

const MAX: usize = 300;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut d = Decoder::new(MAX);
    for part in [&data[..split], &data[split..]] {
        d.buffer().extend_from_slice(part);
        loop {
            match d.next_message() {
                Ok(Some(Message::Text(t))) => {
                    assert!(t.len() <= MAX);
                    assert!(std::str::from_utf8(&t).is_ok());
                }
                Ok(Some(Message::Binary(b))) => assert!(b.len() <= MAX),
                Ok(Some(Message::Ping(p))) => assert!(p.len() <= 125),
                Ok(Some(Message::Pong | Message::Close(_))) => {}
                Ok(None) => break,
                Err(_) => return,
            }
            // Whatever waits in the buffer is at most one frame in progress plus the input.
            assert!(d.buffer().len() <= data.len());
        }
    }
});
