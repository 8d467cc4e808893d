//! The client's IP address: the TCP peer, or, when the operator says a proxy of theirs
//! stands in front (`auth.trust_forwarded_for`) and the request comes from one of
//! `auth.trusted_proxies`, the rightmost `X-Forwarded-For` entry that is not itself a
//! trusted proxy, as nginx's realip module finds it. The leftmost entry is whatever the
//! client wrote, so it is never believed on its own.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use kit::cidr::real_ip_from_headers;

use crate::AppState;

/// The address requests are limited by. `None` when it cannot be known (in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if !state.settings().auth.trust_forwarded_for {
            return Ok(ClientIp(peer));
        }
        Ok(ClientIp(peer.map(|peer| {
            real_ip_from_headers(peer, &parts.headers, state.trusted_proxies())
        })))
    }
}
