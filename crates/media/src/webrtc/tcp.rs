//! ICE over TCP (RFC 6544), for clients whose networks let no UDP through: a passive
//! TCP candidate beside each UDP one, on a TCP port of its own (by default the UDP
//! port's number).
//!
//! Each connection carries a peer's packets framed by RFC 4571 (a 2-byte big-endian
//! length before each). Its first packet must be a STUN binding request naming a
//! session momo made (its ICE username fragment, as on UDP, [`super::route`]); the
//! connection is then that session's, and everything it carries goes to it, marked as
//! TCP so the session answers on the same connection. A connection that names no
//! session within the connect timeout, or sends anything else first, is closed and
//! counted; no more connections are open at once than peers are allowed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::{Buf, BytesMut};
use str0m::net::Protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{lock, Datagram, Route, WebRtc, PEER_QUEUE};

/// The TCP side of the server: where it listens and its open connections.
#[derive(Debug)]
pub(crate) struct TcpSide {
    pub local: SocketAddr,
    /// Each connection's writer, by the peer's address (the session's destination).
    conns: Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>,
    /// Connections open, those not yet routed included (bounded by the peers allowed).
    open: Arc<AtomicUsize>,
}

/// Counts a connection open while it lives.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("webrtc_tcp_connections").decrement(1.0);
    }
}

impl TcpSide {
    pub fn new(local: SocketAddr) -> TcpSide {
        TcpSide {
            local,
            conns: Mutex::new(HashMap::new()),
            open: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Queues one packet to the connection of `to`; dropped (and counted) when there is
    /// none or it is backed up.
    pub fn send(&self, data: &[u8], to: SocketAddr) {
        let sent = lock(&self.conns)
            .get(&to)
            .is_some_and(|tx| tx.try_send(data.to_vec()).is_ok());
        if !sent {
            metrics::counter!("webrtc_datagrams_unsent_total").increment(1);
        }
    }

    /// Counts one more connection, unless `max` are open.
    fn admit(&self, max: usize) -> Option<Open> {
        let admitted = self
            .open
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        admitted.then(|| {
            metrics::gauge!("webrtc_tcp_connections").increment(1.0);
            Open(self.open.clone())
        })
    }
}

/// The next whole packet framed in `buf` (RFC 4571), taken out of it; `None` until one
/// has arrived whole. An empty frame is a packet of no bytes.
pub fn next_frame(buf: &mut BytesMut) -> Option<Vec<u8>> {
    if buf.len() < 2 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
    if buf.len() < 2 + len {
        return None;
    }
    buf.advance(2);
    Some(buf.split_to(len).to_vec())
}

/// `data` framed for a TCP connection.
pub fn frame(data: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(data.len()).ok()?;
    let mut out = Vec::with_capacity(2 + data.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    Some(out)
}

/// Accepts connections until the server goes.
pub(crate) async fn accept(server: Weak<WebRtc>, listener: TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors and the like: wait a moment rather than spin.
                tracing::debug!("webrtc tcp accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(server) = server.upgrade() else {
            return;
        };
        let Some(tcp) = server.tcp.get() else { return };
        let Some(open) = tcp.admit(server.config.max_peers) else {
            metrics::counter!("webrtc_tcp_refused_total").increment(1);
            continue;
        };
        tokio::spawn(async move {
            connection(server, stream, peer).await;
            drop(open);
        });
    }
}

/// Why a connection was let go before it named a session.
fn refuse(reason: &'static str) {
    metrics::counter!("webrtc_datagrams_dropped_total", "reason" => reason).increment(1);
}

/// One peer's connection: routed by its first packet, then read and written until
/// either side ends it.
async fn connection(server: Arc<WebRtc>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = BytesMut::with_capacity(4096);
    let first = tokio::time::timeout(server.config.connect_timeout, async {
        loop {
            if let Some(packet) = next_frame(&mut buf) {
                return Some(packet);
            }
            match rd.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    })
    .await;
    let Ok(Some(first)) = first else {
        return refuse("tcp_silent");
    };
    let Some(route) = server.route_tcp(&first) else {
        return refuse("tcp_unknown");
    };
    let Some(tcp) = server.tcp.get() else { return };
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(PEER_QUEUE);
    lock(&tcp.conns).insert(peer, tx);
    let writer = async move {
        while let Some(packet) = rx.recv().await {
            let Some(framed) = frame(&packet) else {
                continue;
            };
            if wr.write_all(&framed).await.is_err() {
                return;
            }
        }
    };
    let reader = read_packets(&route, peer, rd, buf, first);
    tokio::select! {
        _ = writer => {}
        _ = reader => {}
    }
    lock(&tcp.conns).remove(&peer);
}

/// Hands `first` and every packet after it to the session of `route`, until the
/// connection or the session ends.
async fn read_packets(
    route: &Route,
    peer: SocketAddr,
    mut rd: tokio::net::tcp::OwnedReadHalf,
    mut buf: BytesMut,
    first: Vec<u8>,
) {
    let mut packet = Some(first);
    loop {
        while let Some(data) = packet.take().or_else(|| next_frame(&mut buf)) {
            let d = Datagram {
                proto: Protocol::Tcp,
                source: peer,
                at: std::time::Instant::now(),
                data,
            };
            match route.tx.try_send(d) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    metrics::counter!("webrtc_datagrams_dropped_total", "reason" => "queue")
                        .increment(1);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_out_whole_however_the_bytes_arrive() {
        let mut wire = frame(b"hello").unwrap();
        wire.extend(frame(b"").unwrap());
        wire.extend(frame(&[7; 300]).unwrap());
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        // One byte at a time: nothing until a frame is whole.
        for b in wire {
            buf.extend_from_slice(&[b]);
            while let Some(p) = next_frame(&mut buf) {
                out.push(p);
            }
        }
        assert_eq!(out, vec![b"hello".to_vec(), Vec::new(), vec![7; 300]]);
        assert!(buf.is_empty());
    }

    #[test]
    fn no_more_connections_are_open_than_peers_allowed() {
        let side = TcpSide::new("127.0.0.1:9".parse().unwrap());
        let a = side.admit(2).unwrap();
        let _b = side.admit(2).unwrap();
        assert!(side.admit(2).is_none(), "a third waits for one to close");
        drop(a);
        assert!(side.admit(2).is_some());
    }

    #[test]
    fn a_frame_longer_than_what_came_waits_and_a_packet_too_big_is_not_framed() {
        let mut buf = BytesMut::from(&[0xFF, 0xFF, 1, 2, 3][..]);
        assert_eq!(next_frame(&mut buf), None, "65535 bytes announced, 3 came");
        assert_eq!(buf.len(), 5, "kept for when the rest comes");
        let mut one = BytesMut::from(&[0x00][..]);
        assert_eq!(next_frame(&mut one), None, "half a length");
        assert!(frame(&vec![0; 70_000]).is_none());
    }
}
