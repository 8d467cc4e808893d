//! Address ranges (`10.0.0.0/8`, `::1/128`, or a bare address) as an operator writes
//! them for trusted proxies and connection-limit exemptions.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 network: an address and how many leading bits of it count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why a range could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an address range (write 10.0.0.0/8, ::1/128 or a single address)")]
pub struct BadCidr(String);

impl Cidr {
    /// Whether `ip` is inside the range. IPv4 addresses written as IPv6
    /// (`::ffff:10.0.0.1`, as a dual-stack socket reports them) count as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// Whether any of `ranges` holds `ip`.
    pub fn any_contains(ranges: &[Cidr], ip: IpAddr) -> bool {
        ranges.iter().any(|r| r.contains(ip))
    }
}

impl FromStr for Cidr {
    type Err = BadCidr;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadCidr(s.to_string());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Reads every range of `list`; the first that cannot be read is the error.
pub fn parse_all<S: AsRef<str>>(list: &[S]) -> Result<Vec<Cidr>, BadCidr> {
    list.iter().map(|s| s.as_ref().parse()).collect()
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

/// [`real_ip`] with the request's `X-Forwarded-For` headers, all of them in order.
pub fn real_ip_from_headers(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[Cidr],
) -> IpAddr {
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    real_ip(peer, &forwarded, trusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_hold_what_their_prefix_says() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "mapped IPv4 counts");
        let one: Cidr = "192.168.1.7".parse().unwrap();
        assert!(one.contains(ip("192.168.1.7")));
        assert!(!one.contains(ip("192.168.1.8")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!(!all.contains(ip("::1")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        assert!("::1/128".parse::<Cidr>().unwrap().contains(ip("::1")));
    }

    #[test]
    fn malformed_ranges_are_refused() {
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "host",
            "1.2.3.4/x",
            "/8",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
        assert!(parse_all(&["127.0.0.0/8", "nope"]).is_err());
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let trusted = parse_all(&["127.0.0.0/8", "10.0.0.0/8"]).unwrap();
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
