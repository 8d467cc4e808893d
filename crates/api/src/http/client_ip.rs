//! The client's IP address: the TCP peer, or, when the operator says a proxy of theirs
//! stands in front (`auth.trust_forwarded_for`) and the request comes from one of
//! `auth.trusted_proxies`, the rightmost `X-Forwarded-For` entry that is not itself a
//! trusted proxy, as nginx's realip module finds it. The leftmost entry is whatever the
//! client wrote, so it is never believed on its own.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use kit::cidr::{real_ip_from_headers, Cidr};

/// The proxies whose `X-Forwarded-For` is believed: none unless the operator trusts
/// forwarded addresses (`auth.trust_forwarded_for`), then `auth.trusted_proxies`.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Option<Arc<[Cidr]>>);

impl TrustedProxies {
    /// `trust` off: the TCP peer is the client, whatever the headers say.
    pub fn new(trust: bool, ranges: Vec<Cidr>) -> TrustedProxies {
        TrustedProxies(trust.then(|| ranges.into()))
    }

    /// The ranges, whether or not forwarded addresses are believed.
    pub fn ranges(&self) -> &[Cidr] {
        self.0.as_deref().unwrap_or(&[])
    }
}

/// The address requests are limited by. `None` when it cannot be known (in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S> FromRequestParts<S> for ClientIp
where
    TrustedProxies: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let Some(proxies) = TrustedProxies::from_ref(state).0 else {
            return Ok(ClientIp(peer));
        };
        Ok(ClientIp(peer.map(|peer| {
            real_ip_from_headers(peer, &parts.headers, &proxies)
        })))
    }
}
