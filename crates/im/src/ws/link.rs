//! A connection's socket as everyone who writes to it sees it: the connection's own task
//! (replies) and whoever fans a message out (rooms, pushes).
//!
//! A writer with frames for the connection writes them at once, from its own thread, when
//! nothing is waiting and the socket takes them (the usual case: one non-blocking write,
//! no task woken, no timer armed). What the socket does not take waits in the link's
//! queue, and the connection's task is woken to write it when the socket drains, within
//! the write timeout. Frames are whole and in order: a frame goes to the socket only
//! after everything queued before it.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Most frames handed to one vectored write.
const WRITE_SLICES: usize = 64;

/// Why a link stopped taking frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// The socket failed or the link was closed.
    Closed,
    /// The peer read nothing for the write timeout.
    TimedOut,
}

#[derive(Debug, Default)]
struct Out {
    queue: VecDeque<Bytes>,
    /// Offers kept back while the connection's task writes a reply that must go first.
    held: Option<Vec<Bytes>>,
    closed: bool,
}

impl Out {
    /// Takes no more frames and lets go of those waiting.
    fn shut(&mut self) {
        self.closed = true;
        self.queue.clear();
        self.held = None;
    }
}

/// One connection's socket, shared.
#[derive(Debug)]
pub struct Link {
    sock: TcpStream,
    out: Mutex<Out>,
    /// Wakes the connection's task when frames wait for the socket to drain.
    wake: Notify,
}

impl Link {
    pub fn new(sock: TcpStream) -> Link {
        // A chat frame goes out when written, not when the peer acknowledges the last
        // one (Nagle's algorithm would hold it for the peer's delayed ACK).
        let _ = sock.set_nodelay(true);
        Link {
            sock,
            out: Mutex::new(Out::default()),
            wake: Notify::new(),
        }
    }

    /// The socket, for the connection's task to read from.
    pub fn socket(&self) -> &TcpStream {
        &self.sock
    }

    fn out(&self) -> MutexGuard<'_, Out> {
        self.out.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands `frames` over for writing, dropping those that would make more than `limit`
    /// frames wait (what a reader who fell behind loses). Returns how many were taken.
    pub fn offer(&self, frames: &[Bytes], limit: usize) -> usize {
        let mut out = self.out();
        if out.closed {
            return 0;
        }
        let waiting = out.queue.len() + out.held.as_ref().map_or(0, Vec::len);
        let taken = frames.len().min(limit.saturating_sub(waiting));
        if let Some(held) = &mut out.held {
            held.extend(frames[..taken].iter().cloned());
            return taken;
        }
        if out.queue.is_empty() && taken > 0 {
            // The usual case: straight from the caller's frames to the socket.
            self.send_now(&mut out, &frames[..taken]);
            return taken;
        }
        out.queue.extend(frames[..taken].iter().cloned());
        taken
    }

    /// Offers `joined`, several messages' frames back to back, as one frame when nothing
    /// waits: `None` (nothing done) when frames are queued or offers held, so that the
    /// caller offers them one by one and the queue's limit counts messages. What a
    /// write leaves of `joined` waits as one entry.
    pub fn offer_joined(&self, joined: &Bytes, limit: usize) -> Option<usize> {
        let mut out = self.out();
        if out.closed || limit == 0 {
            return Some(0);
        }
        if !out.queue.is_empty() || out.held.is_some() {
            return None;
        }
        self.send_now(&mut out, std::slice::from_ref(joined));
        Some(1)
    }

    /// Writes `frames` to the socket with nothing queued before them; queues what it
    /// does not take and wakes the connection's task to write it.
    fn send_now(&self, out: &mut Out, frames: &[Bytes]) {
        match self.write_frames(frames) {
            Ok(written) => {
                if queue_rest(&mut out.queue, frames, written) {
                    self.wake.notify_one();
                }
            }
            Err(_) => {
                out.shut();
                self.wake.notify_one();
            }
        }
    }

    /// One vectored write of the first [`WRITE_SLICES`] of `frames`; how many bytes the
    /// socket took (0 when it is full).
    fn write_frames<'b>(&self, frames: impl IntoIterator<Item = &'b Bytes>) -> io::Result<usize> {
        let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
        let mut n = 0;
        for (slot, b) in slices.iter_mut().zip(frames) {
            *slot = IoSlice::new(b);
            n += 1;
        }
        loop {
            return match self.sock.try_write_vectored(&slices[..n]) {
                Ok(0) => Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => Ok(written),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }

    /// Hands one frame over that must not be lost (a reply); `false` when the link is
    /// closed. Call [`Link::flush`] to wait until it is written.
    pub fn push(&self, frame: Bytes) -> bool {
        let mut out = self.out();
        if out.closed {
            return false;
        }
        let was_empty = out.queue.is_empty();
        out.queue.push_back(frame);
        if was_empty {
            self.write_now(&mut out);
        }
        true
    }

    /// Keeps offers back (replies still go out) until [`Link::release`].
    pub fn hold(&self) {
        let mut out = self.out();
        if out.held.is_none() {
            out.held = Some(Vec::new());
        }
    }

    /// Lets the offers kept back since [`Link::hold`] go, after what is queued.
    pub fn release(&self) {
        let mut out = self.out();
        let Some(held) = out.held.take() else { return };
        if out.closed || held.is_empty() {
            return;
        }
        let was_empty = out.queue.is_empty();
        out.queue.extend(held);
        if was_empty {
            self.write_now(&mut out);
        }
    }

    /// Writes what the socket takes now; wakes the connection's task for the rest.
    fn write_now(&self, out: &mut Out) {
        match self.write_queued(out) {
            Ok(true) => {}
            Ok(false) => self.wake.notify_one(),
            Err(_) => {
                out.shut();
                self.wake.notify_one();
            }
        }
    }

    /// Writes queued frames until the socket would block; `Ok(true)` when none is left.
    fn write_queued(&self, out: &mut Out) -> io::Result<bool> {
        while !out.queue.is_empty() {
            let written = self.write_frames(out.queue.iter())?;
            if written == 0 {
                return Ok(false);
            }
            let mut left = written;
            while left > 0 {
                let front = out.queue.front_mut().expect("written bytes were queued");
                if front.len() <= left {
                    left -= front.len();
                    out.queue.pop_front();
                } else {
                    front.advance(left);
                    left = 0;
                }
            }
        }
        Ok(true)
    }

    /// Whether frames wait for the socket.
    pub fn pending(&self) -> bool {
        !self.out().queue.is_empty()
    }

    /// Resolves when a writer left frames for the socket to drain (or the link failed).
    pub async fn wanted(&self) {
        self.wake.notified().await
    }

    /// Writes everything queued, waiting for the socket as long as it makes progress
    /// within `timeout` (zero: no limit).
    pub async fn flush(&self, timeout: Duration) -> Result<(), LinkError> {
        loop {
            {
                let mut out = self.out();
                if out.closed {
                    return Err(LinkError::Closed);
                }
                match self.write_queued(&mut out) {
                    Ok(true) => return Ok(()),
                    Ok(false) => {}
                    Err(_) => {
                        out.shut();
                        return Err(LinkError::Closed);
                    }
                }
            }
            let ready = self.sock.writable();
            let ready = if timeout.is_zero() {
                ready.await
            } else {
                match tokio::time::timeout(timeout, ready).await {
                    Ok(r) => r,
                    Err(_) => return Err(LinkError::TimedOut),
                }
            };
            if ready.is_err() {
                return Err(LinkError::Closed);
            }
        }
    }

    /// Takes no more frames, drops those waiting and shuts the socket down both ways.
    pub fn close(&self) {
        self.out().shut();
        shutdown(&self.sock);
        self.wake.notify_one();
    }
}

/// Queues what is left of `frames` after the first `written` bytes; `true` if anything
/// was.
fn queue_rest(queue: &mut VecDeque<Bytes>, frames: &[Bytes], mut written: usize) -> bool {
    for frame in frames {
        if written >= frame.len() {
            written -= frame.len();
            continue;
        }
        queue.push_back(frame.slice(written..));
        written = 0;
    }
    !queue.is_empty()
}

#[cfg(unix)]
fn shutdown(sock: &TcpStream) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is owned by `sock`, open for as long as it lives.
    unsafe {
        libc::shutdown(sock.as_raw_fd(), libc::SHUT_RDWR);
    }
}

#[cfg(not(unix))]
fn shutdown(_sock: &TcpStream) {}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn pair() -> (Link, TcpStream) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(addr), l.accept());
        (Link::new(server.unwrap().0), client.unwrap())
    }

    /// With `frames` handed to `link` and some still waiting, flushes it while the peer
    /// reads, and checks the peer got every frame whole and in order.
    async fn read_back_in_order(link: Link, mut peer: TcpStream, frames: &[Bytes]) {
        assert!(link.pending());
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            peer.read_to_end(&mut all).await.unwrap();
            all
        });
        link.flush(Duration::from_secs(10)).await.unwrap();
        link.close();
        let all = reader.await.unwrap();
        assert_eq!(all, frames.concat(), "every frame, whole and in order");
    }

    #[tokio::test]
    async fn frames_arrive_whole_and_in_order_past_a_full_socket() {
        let (link, peer) = pair().await;
        // More than the socket buffers hold: the rest waits in the queue.
        let frames: Vec<Bytes> = (0..200u8)
            .map(|i| Bytes::from(vec![i; 64 * 1024]))
            .collect();
        for f in &frames {
            assert!(link.push(f.clone()));
        }
        read_back_in_order(link, peer, &frames).await;
    }

    #[tokio::test]
    async fn offered_frames_the_socket_does_not_take_at_once_follow_whole() {
        let (link, peer) = pair().await;
        // Offers of more than the socket buffers hold: part is written at once, a
        // frame may be cut, the rest waits for the connection's task.
        let frames: Vec<Bytes> = (0..200u8)
            .map(|i| Bytes::from(vec![i; 64 * 1024 + 7]))
            .collect();
        // Offers of at most 64 frames, as a room lane makes them.
        for chunk in frames.chunks(50) {
            assert_eq!(link.offer(chunk, 256), chunk.len());
        }
        read_back_in_order(link, peer, &frames).await;
    }

    #[tokio::test]
    async fn held_offers_follow_the_reply_written_meanwhile() {
        let (link, mut peer) = pair().await;
        link.hold();
        assert_eq!(link.offer(&[Bytes::from_static(b"b")], 8), 1);
        assert!(link.push(Bytes::from_static(b"a")));
        link.flush(Duration::from_secs(1)).await.unwrap();
        link.release();
        assert_eq!(link.offer(&[Bytes::from_static(b"c")], 8), 1);
        link.flush(Duration::from_secs(1)).await.unwrap();
        let mut got = [0u8; 3];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"abc");
    }

    #[tokio::test]
    async fn a_peer_that_does_not_read_loses_offers_and_times_out() {
        let (link, _peer) = pair().await;
        let big = Bytes::from(vec![1u8; 256 * 1024]);
        let mut taken = 0;
        for _ in 0..100 {
            taken += link.offer(std::slice::from_ref(&big), 8);
        }
        // The socket took some; then at most 8 waited and the rest were dropped.
        assert!(taken < 100, "{taken}");
        assert!(link.pending());
        assert_eq!(
            link.flush(Duration::from_millis(200)).await,
            Err(LinkError::TimedOut)
        );
        link.close();
        assert_eq!(link.offer(&[big], 8), 0);
        assert!(!link.push(Bytes::from_static(b"x")));
    }
}
