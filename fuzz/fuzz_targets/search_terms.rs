//! Any text as a search query or a title: cutting it into terms never panics, every
//! term is plain ASCII letters and digits (so no search syntax reaches FTS5 or
//! tsquery), a query has at most its cap of terms, and a text is found by itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use store::search::{index_text, query_terms, MAX_QUERY_TERMS};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let terms = query_terms(s);
    assert!(terms.len() <= MAX_QUERY_TERMS);
    for t in &terms {
        assert!(!t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric()), "{t:?}");
    }
    let indexed = index_text([s]);
    let words: Vec<&str> = indexed.split(' ').collect();
    for t in &terms {
        assert!(words.iter().any(|w| w.starts_with(t.as_str())), "{t} not in {indexed}");
    }
});
