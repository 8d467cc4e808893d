//! Getting thousands of client connections out of one machine: local source addresses
//! and the open-files limit.
//!
//! A TCP connection is named by its four-tuple, and a client socket bound to a source
//! address before `connect` gets an ephemeral port unique to that address: about 28k
//! per address with Linux's default range (32768–60999). Every address in 127.0.0.0/8
//! is this machine's, so spreading clients over 127.0.0.2, 127.0.0.3, … lifts that
//! limit. Each step also takes addresses no earlier step used, so the previous step's
//! sockets lingering in TIME_WAIT never collide with new ones.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{bail, Context, Result};
use tokio::net::{TcpSocket, TcpStream};

/// Hands out loopback source addresses, never the same twice in a run.
#[derive(Debug)]
pub struct SourceAddrs {
    next: u32,
    per_addr: usize,
}

impl SourceAddrs {
    /// At most `per_addr` clients per address.
    pub fn new(per_addr: usize) -> Self {
        SourceAddrs {
            next: 0,
            per_addr: per_addr.max(1),
        }
    }

    /// Addresses for `clients` connections: client `i` uses `result[i / per_addr]`.
    pub fn take(&mut self, clients: usize) -> Result<Vec<Ipv4Addr>> {
        let n = clients.div_ceil(self.per_addr);
        let addrs = (0..n as u32)
            .map(|k| nth(self.next + k))
            .collect::<Option<Vec<_>>>()
            .context("ran out of 127.x.y.z source addresses")?;
        self.next += n as u32;
        Ok(addrs)
    }

    pub fn per_addr(&self) -> usize {
        self.per_addr
    }
}

/// The `k`-th address: 127.0.0.2 … 127.0.0.251, then 127.0.1.2 …, skipping .0, .1 and
/// the top of each /24 (nothing needs them, and 127.0.0.1 is everyone else's).
fn nth(k: u32) -> Option<Ipv4Addr> {
    let (hi, lo) = (k / 250, k % 250);
    let b2 = u8::try_from(hi % 256).ok()?;
    let b1 = u8::try_from(hi / 256).ok()?;
    Some(Ipv4Addr::new(127, b1, b2, (lo + 2) as u8))
}

/// Connects to `server` from `source` (any port), without Nagle's delay.
pub async fn connect_from(source: Ipv4Addr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Raises this process's soft limit on open files to the hard limit, and checks that
/// `needed` descriptors fit. Child processes (the servers) inherit the raised limit.
pub fn raise_open_files(needed: u64) -> Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own; nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        bail!("getrlimit: {}", std::io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit reads the struct we pass; lowering nothing, raising the
        // soft limit to the hard one is always allowed.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            bail!("setrlimit: {}", std::io::Error::last_os_error());
        }
    }
    let have = lim.rlim_cur;
    if have < needed {
        bail!(
            "{needed} connections need about that many open files, and this process may \
             open {have} (ulimit -Hn); lower --connections or raise the hard limit"
        );
    }
    Ok(have)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_skip_the_shared_one_and_never_repeat() {
        let mut s = SourceAddrs::new(5000);
        let a = s.take(10_000).unwrap();
        assert_eq!(
            a,
            [Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 3)]
        );
        let b = s.take(19_000).unwrap();
        assert_eq!(b.len(), 4);
        assert_eq!(b[0], Ipv4Addr::new(127, 0, 0, 4));
        assert_eq!(nth(249), Some(Ipv4Addr::new(127, 0, 0, 251)));
        assert_eq!(nth(250), Some(Ipv4Addr::new(127, 0, 1, 2)));
        assert_eq!(nth(250 * 256), Some(Ipv4Addr::new(127, 1, 0, 2)));
        assert_eq!(s.take(1).unwrap().len(), 1);
    }

    #[test]
    fn the_open_files_limit_is_checked() {
        let have = raise_open_files(16).unwrap();
        assert!(have >= 16);
        assert!(raise_open_files(u64::MAX).is_err());
    }

    #[tokio::test]
    async fn connects_from_another_loopback_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        let source = Ipv4Addr::new(127, 0, 0, 9);
        let (client, accepted) = tokio::join!(connect_from(source, server), listener.accept());
        assert_eq!(client.unwrap().local_addr().unwrap().ip(), source);
        assert_eq!(accepted.unwrap().1.ip(), source);
    }
}
