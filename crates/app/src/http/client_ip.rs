//! The client's IP address: the TCP peer, or, when the operator says a proxy of theirs
//! stands in front (`auth.trust_forwarded_for`) and the request comes from one of
//! `auth.trusted_proxies`, the rightmost `X-Forwarded-For` entry that is not itself a
//! trusted proxy, as nginx's realip module finds it. The leftmost entry is whatever the
//! client wrote, so it is never believed on its own.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use kit::cidr::Cidr;

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
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(ClientIp(peer.map(|peer| {
            real_ip(peer, &forwarded, state.trusted_proxies())
        })))
    }
}

/// The client behind `peer`: walking `X-Forwarded-For` (every header, in order) from the
/// right, the first hop that is not a trusted proxy. A hop that is not an address stops
/// the walk at the last trusted one; a request from an untrusted peer is that peer.
pub fn real_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[Cidr]) -> IpAddr {
    let mut client = peer;
    let hops = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .rev();
    for hop in hops {
        if !Cidr::any_contains(trusted, client) {
            break;
        }
        match hop.parse::<IpAddr>() {
            Ok(ip) => client = ip,
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let trusted = kit::cidr::parse_all(&["127.0.0.0/8", "10.0.0.0/8"]).unwrap();
        let lb = ip("127.0.0.1");
        // The client wrote a fake first entry; the proxies appended the real address.
        assert_eq!(
            real_ip(lb, &["6.6.6.6, 203.0.113.9, 10.0.0.2"], &trusted),
            ip("203.0.113.9")
        );
        // Split over two headers, as a chain of proxies may send it.
        assert_eq!(
            real_ip(lb, &["6.6.6.6", "203.0.113.9"], &trusted),
            ip("203.0.113.9")
        );
        // A direct client is its own address, whatever it claims.
        assert_eq!(
            real_ip(ip("198.51.100.4"), &["1.2.3.4"], &trusted),
            ip("198.51.100.4")
        );
        // Nothing forwarded, or garbage: the last trusted hop.
        assert_eq!(real_ip(lb, &[], &trusted), lb);
        assert_eq!(real_ip(lb, &["nonsense"], &trusted), lb);
        assert_eq!(
            real_ip(lb, &["203.0.113.9, junk, 10.0.0.7"], &trusted),
            ip("10.0.0.7")
        );
        // Every hop trusted: the leftmost.
        assert_eq!(
            real_ip(lb, &["10.1.1.1, 10.0.0.2"], &trusted),
            ip("10.1.1.1")
        );
    }
}
