//! Any text as the `X-Original-URI` a proxy passes to `GET /api/v1/auth/check`: finding
//! its `token` parameter never panics, and a token found is non-empty and fits in a
//! header value once `Bearer ` is put before it, or is skipped by the check.
#![no_main]

use axum::http::HeaderValue;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|uri: &str| {
    if let Some(token) = app::accounts::check::token_in_uri(uri) {
        assert!(!token.is_empty());
        // The check builds a header from it; a token that cannot be one is ignored there.
        let _ = HeaderValue::from_str(&format!("Bearer {token}"));
    }
});
