//! Any bytes as an event from the bus (another node's, over NATS): decoding answers an
//! event or an error and never panics; what decodes encodes back to an envelope that
//! decodes to the same event. Any text as a subject or a pattern: refused or usable, and
//! matching never panics.
#![no_main]

use bus::{decode, encode, kind_of, Event, Pattern, Subject};
use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Sample {
    room_id: i64,
    text: String,
    tags: Vec<String>,
}

impl Event for Sample {
    const KIND: &'static str = "sample";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::new("momo.ctx.fuzz.sample").expect("a valid subject")
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = kind_of(data);
    if let Ok(event) = decode::<Sample>(data) {
        assert_eq!(decode::<Sample>(&encode(&event)), Ok(event));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let (subject, pattern) = match text.split_once('|') {
            Some((s, p)) => (Subject::new(s), Pattern::new(p)),
            None => (Subject::new(text), Pattern::new(text)),
        };
        if let (Ok(s), Ok(p)) = (subject, pattern) {
            let _ = p.matches(&s);
            assert!(Pattern::from(&s).matches(&s));
        }
    }
});
