//! Any bytes, cut at any size, as a client's handshake: the server never panics, never
//! takes more than it was given, answers exactly once with S0+S1+S2 and stops at the
//! end of C2.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::rtmp::handshake::{Handshake, PACKET_LEN};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, mut input)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut).max(1) * 16;
    let mut hs = Handshake::with_seed(0);
    let mut answered = 0;
    let mut taken = 0;
    while !input.is_empty() {
        let n = cut.min(input.len());
        let Ok(progress) = hs.feed(&input[..n]) else {
            return;
        };
        assert!(progress.consumed <= n);
        taken += progress.consumed;
        if progress.output_ready {
            answered += hs.take_output().len();
        }
        if progress.done {
            assert_eq!(taken, 1 + 2 * PACKET_LEN);
            break;
        }
        assert_eq!(progress.consumed, n, "took less than given before the end");
        input = &input[n..];
    }
    assert!(answered == 0 || answered == 1 + 2 * PACKET_LEN);
    assert_eq!(answered != 0, taken > PACKET_LEN);
});
