//! Any bytes and chunk size changes into the chunk decoder: it never panics, keeps to
//! its limits, and the messages it delivers survive a trip through the encoder.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use media::rtmp::chunk::{ChunkDecoder, ChunkEncoder, ChunkLimits, Message};

const LIMITS: ChunkLimits = ChunkLimits {
    max_chunk_size: 1 << 24,
    max_message_len: 1 << 16,
    max_chunk_streams: 8,
    max_buffered: 1 << 18,
};

fuzz_target!(|data: &[u8]| {
    let mut decoder = ChunkDecoder::new(LIMITS);
    let mut messages: Vec<Message> = Vec::new();
    let mut input = data;
    // A small program: each op byte says what to do with the bytes after it.
    'run: while let Some((&op, rest)) = input.split_first() {
        input = rest;
        match op & 3 {
            0 if input.len() >= 4 => {
                let size = u32::from_be_bytes([input[0], input[1], input[2], input[3]]);
                input = &input[4..];
                let before = decoder.chunk_size();
                match decoder.set_chunk_size(size) {
                    Ok(()) => assert_eq!(decoder.chunk_size(), size),
                    Err(_) => assert_eq!(decoder.chunk_size(), before),
                }
            }
            1 if !input.is_empty() => {
                decoder.abort(u32::from(input[0]));
                input = &input[1..];
            }
            _ => {
                let n = usize::from(op >> 2).max(1) * 8;
                let (piece, rest) = input.split_at(n.min(input.len()));
                input = rest;
                if decoder.push(piece).is_err() {
                    break;
                }
                loop {
                    match decoder.poll() {
                        Ok(Some(m)) => {
                            assert!(m.payload.len() <= LIMITS.max_message_len as usize);
                            assert!((2..=65599).contains(&m.csid));
                            messages.push(m);
                        }
                        Ok(None) => break,
                        Err(_) => break 'run,
                    }
                }
                assert!(decoder.buffered() <= LIMITS.max_buffered);
            }
        }
    }

    // Whatever came out goes back in through the encoder and must come out unchanged.
    let chunk_size = 1 + (data.len() as u32 % 300);
    let mut encoder = ChunkEncoder::new();
    encoder.set_chunk_size(chunk_size).unwrap();
    let mut wire = BytesMut::new();
    for m in &messages {
        encoder.encode(m, &mut wire).unwrap();
    }
    let mut again = ChunkDecoder::new(ChunkLimits {
        max_buffered: usize::MAX,
        ..LIMITS
    });
    again.set_chunk_size(chunk_size).unwrap();
    again.push(&wire).unwrap();
    for m in &messages {
        assert_eq!(again.poll().unwrap().as_ref(), Some(m));
    }
    assert_eq!(again.poll().unwrap(), None);
});
