//! Caps on open connections, in all and per client address, for a listener (HTTP, the
//! chat gateway, RTMP). A connection takes a [`ConnPermit`] when it is accepted and gives
//! it back when it is dropped; one over a cap is refused at once, in the protocol's own
//! way, by the caller.
//!
//! Memory is one map entry per address with an open connection, so it is bounded by the
//! global cap. Addresses in `exempt` (the operator's own proxies, which carry many
//! clients) count toward the global cap only.
//!
//! Metrics: `connections_open{listener}` and
//! `connections_refused_total{listener, reason="total"|"per_address"}`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::cidr::Cidr;

/// The caps of one listener. A cap of 0 means none.
#[derive(Debug, Clone, Default)]
pub struct ConnCaps {
    pub max_total: usize,
    pub max_per_address: usize,
    pub exempt: Vec<Cidr>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The listener has all the connections it takes.
    Total,
    /// This address has all the connections one address may have.
    PerAddress,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Total => "total",
            Refusal::PerAddress => "per_address",
        }
    }
}

/// Counts the open connections of one listener; see the module documentation.
#[derive(Debug)]
pub struct ConnLimits {
    name: &'static str,
    caps: ConnCaps,
    state: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl ConnLimits {
    /// Limits named `name` (the `listener` label of their metrics).
    pub fn new(name: &'static str, caps: ConnCaps) -> Arc<Self> {
        Arc::new(ConnLimits {
            name,
            caps,
            state: Mutex::new(Counts::default()),
        })
    }

    /// A permit for a connection from `ip`, or why not.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<ConnPermit, Refusal> {
        let ip = ip.to_canonical();
        let per_address = !Cidr::any_contains(&self.caps.exempt, ip);
        let mut s = self.lock();
        let refusal = if self.caps.max_total > 0 && s.total >= self.caps.max_total {
            Some(Refusal::Total)
        } else if per_address
            && self.caps.max_per_address > 0
            && s.by_address.get(&ip).copied().unwrap_or(0) >= self.caps.max_per_address
        {
            Some(Refusal::PerAddress)
        } else {
            None
        };
        if let Some(r) = refusal {
            drop(s);
            metrics::counter!("connections_refused_total", "listener" => self.name, "reason" => r.as_str())
                .increment(1);
            return Err(r);
        }
        s.total += 1;
        if per_address {
            *s.by_address.entry(ip).or_insert(0) += 1;
        }
        drop(s);
        metrics::gauge!("connections_open", "listener" => self.name).increment(1.0);
        Ok(ConnPermit {
            limits: self.clone(),
            ip: per_address.then_some(ip),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    fn release(&self, ip: Option<IpAddr>) {
        let mut s = self.lock();
        s.total = s.total.saturating_sub(1);
        if let Some(ip) = ip {
            if let Some(n) = s.by_address.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    s.by_address.remove(&ip);
                }
            }
        }
        drop(s);
        metrics::gauge!("connections_open", "listener" => self.name).decrement(1.0);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // A panic while counting leaves counts that are still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One open connection's place under the caps; given back on drop.
#[derive(Debug)]
pub struct ConnPermit {
    limits: Arc<ConnLimits>,
    ip: Option<IpAddr>,
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        self.limits.release(self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_address_gets_its_share_and_the_rest_get_theirs() {
        let l = ConnLimits::new(
            "t",
            ConnCaps {
                max_total: 4,
                max_per_address: 2,
                exempt: vec!["10.0.0.0/8".parse().unwrap()],
            },
        );
        let a1 = l.try_acquire(ip("203.0.113.1")).unwrap();
        let _a2 = l.try_acquire(ip("203.0.113.1")).unwrap();
        assert_eq!(
            l.try_acquire(ip("203.0.113.1")).unwrap_err(),
            Refusal::PerAddress
        );
        assert_eq!(
            l.try_acquire(ip("::ffff:203.0.113.1")).unwrap_err(),
            Refusal::PerAddress,
            "the same address written as IPv6"
        );
        // A proxy of ours is not held to one address's share.
        let _p1 = l.try_acquire(ip("10.0.0.5")).unwrap();
        let _p2 = l.try_acquire(ip("10.0.0.5")).unwrap();
        assert_eq!(
            l.try_acquire(ip("198.51.100.1")).unwrap_err(),
            Refusal::Total
        );
        drop(a1);
        assert_eq!(l.open(), 3);
        let _b = l.try_acquire(ip("198.51.100.1")).unwrap();
    }

    #[test]
    fn permits_given_back_leave_no_entries() {
        let l = ConnLimits::new(
            "t",
            ConnCaps {
                max_total: 0,
                max_per_address: 1,
                exempt: vec![],
            },
        );
        for i in 0..1000u32 {
            let p = l.try_acquire(IpAddr::from(i.to_be_bytes())).unwrap();
            drop(p);
        }
        assert_eq!(l.open(), 0);
        assert!(l.lock().by_address.is_empty());
    }
}
