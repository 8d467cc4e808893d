//! Any signature header and body as a payment callback: verification refuses it with a
//! clear 4xx, never panics, and never accepts a callback it did not sign. The first byte
//! splits the input into header and body.
#![no_main]

use app::wallet::payments::{DevProvider, PaymentProvider, SIGNATURE_HEADER};
use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let provider = DevProvider::new(b"fuzz-payment-secret", 300);
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let at = (split as usize).min(rest.len());
    let (header, body) = rest.split_at(at);
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(header) {
        headers.insert(SIGNATURE_HEADER, v);
    }
    let err = provider
        .verify(&headers, body, 1_000)
        .expect_err("an unsigned callback was accepted");
    assert!(err.status.is_client_error());
});
