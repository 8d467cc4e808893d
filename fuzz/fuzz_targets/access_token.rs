//! Any string as a bearer token: verification refuses it with a 401, never panics
//! (and a random string is never accepted).
#![no_main]

use app::accounts::tokens::Tokens;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tokens = Tokens::new(b"fuzz-secret-fuzz-secret-fuzz-secret!", 60);
    if let Ok(s) = std::str::from_utf8(data) {
        let err = tokens.verify(s).expect_err("a forged token was accepted");
        assert_eq!(err.status.as_u16(), 401);
    }
});
