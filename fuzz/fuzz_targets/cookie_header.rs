//! Any bytes as `Cookie` headers: finding a cookie never panics, and what it finds is a
//! trimmed, non-empty value without a `;`.
#![no_main]

use axum::http::{header, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], &[u8], &str)| {
    let (first, second, name) = input;
    let mut headers = HeaderMap::new();
    for raw in [first, second] {
        if let Ok(v) = HeaderValue::from_bytes(raw) {
            headers.append(header::COOKIE, v);
        }
    }
    if let Some(v) = app::web::session::cookie(&headers, name) {
        assert!(!v.is_empty() && !v.contains(';') && v.trim() == v, "{v:?}");
    }
});
