//! The opening handshake (RFC 6455 section 4.2): which requests are WebSocket upgrades,
//! and the `Sec-WebSocket-Accept` that answers them.

use axum::http::{header, HeaderMap, Method};
use base64::Engine;
use sha1::{Digest, Sha1};

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Why a request cannot be upgraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    NotGet,
    NotUpgrade,
    BadVersion,
    NoKey,
}

impl HandshakeError {
    pub fn message(&self) -> &'static str {
        match self {
            HandshakeError::NotGet => "a WebSocket upgrade is a GET",
            HandshakeError::NotUpgrade => {
                "this is the WebSocket endpoint: send Connection: Upgrade and Upgrade: websocket"
            }
            HandshakeError::BadVersion => "only Sec-WebSocket-Version 13 is spoken",
            HandshakeError::NoKey => "Sec-WebSocket-Key is missing or not 16 bytes in base64",
        }
    }
}

/// Checks an upgrade request; returns the `Sec-WebSocket-Accept` value to answer with.
pub fn accept(method: &Method, headers: &HeaderMap) -> Result<String, HandshakeError> {
    if method != Method::GET {
        return Err(HandshakeError::NotGet);
    }
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .map(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
                .unwrap_or(false)
        })
    };
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return Err(HandshakeError::NotUpgrade);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err(HandshakeError::BadVersion);
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|v| v.as_bytes().trim_ascii())
        .filter(|k| {
            base64::engine::general_purpose::STANDARD
                .decode(k)
                .is_ok_and(|raw| raw.len() == 16)
        })
        .ok_or(HandshakeError::NoKey)?;
    Ok(accept_key(key))
}

/// `base64(SHA-1(key + GUID))`.
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn upgrade_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        h.insert(
            header::SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        h
    }

    #[test]
    fn the_rfc_example_key_is_answered() {
        // RFC 6455 section 1.3.
        assert_eq!(
            accept(&Method::GET, &upgrade_headers()).unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn requests_that_are_not_upgrades_are_refused() {
        assert_eq!(
            accept(&Method::POST, &upgrade_headers()),
            Err(HandshakeError::NotGet)
        );
        let mut h = upgrade_headers();
        h.remove(header::UPGRADE);
        assert_eq!(accept(&Method::GET, &h), Err(HandshakeError::NotUpgrade));
        let mut h = upgrade_headers();
        h.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
        assert_eq!(accept(&Method::GET, &h), Err(HandshakeError::BadVersion));
        let mut h = upgrade_headers();
        h.insert(header::SEC_WEBSOCKET_KEY, HeaderValue::from_static("short"));
        assert_eq!(accept(&Method::GET, &h), Err(HandshakeError::NoKey));
    }
}
