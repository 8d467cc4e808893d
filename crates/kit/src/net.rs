//! TCP for momo's servers: [`WriteTimeout`], a stream that gives up on a peer that stops
//! reading (a write that cannot make progress for `timeout` fails, and the server closes
//! the connection), and [`bind_with_backlog`].
//!
//! Without it, an HTTP-FLV viewer (or any client) that keeps its connection open but
//! never reads holds the connection, its task and its subscription forever: the server's
//! socket buffer fills, the write pends, and nothing ever wakes it. The hub already keeps
//! such a viewer from slowing anyone else; this frees what it holds.
//!
//! Cost: one timer armed per write that would block, none on writes that go through.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::time::Sleep;

/// An I/O stream whose writes fail with `TimedOut` after pending for `timeout`.
#[derive(Debug)]
pub struct WriteTimeout<S> {
    inner: S,
    timeout: Duration,
    /// Armed when a write first pends; disarmed by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteTimeout<S> {
    pub fn new(inner: S, timeout: Duration) -> Self {
        WriteTimeout {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// The stream inside, for a protocol that takes the connection over.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// What to answer when the inner write pended: still pending, or timed out.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if self.timeout.is_zero() {
            return Poll::Pending;
        }
        let timeout = self.timeout;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        ready!(timer.as_mut().poll(cx));
        self.stalled = None;
        metrics::counter!("http_write_timeouts_total").increment(1);
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the peer read nothing for {} s", timeout.as_secs_f32()),
        )))
    }

    fn progressed<T>(
        &mut self,
        r: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.stalled = None;
                Poll::Ready(r)
            }
            Poll::Pending => self.pending(cx),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.progressed(r, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.progressed(r, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.progressed(r, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    #[tokio::test]
    async fn a_write_to_a_peer_that_never_reads_fails_after_the_timeout() {
        let (a, _b) = tokio::io::duplex(1024);
        let mut w = WriteTimeout::new(a, Duration::from_millis(200));
        let started = std::time::Instant::now();
        let chunk = vec![0u8; 64 * 1024];
        let err = w.write_all(&chunk).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[tokio::test]
    async fn a_slow_reader_that_keeps_reading_is_not_timed_out() {
        let (a, mut b) = tokio::io::duplex(1024);
        let mut w = WriteTimeout::new(a, Duration::from_millis(300));
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 512];
            let mut total = 0;
            while total < 64 * 1024 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                total += tokio::io::AsyncReadExt::read(&mut b, &mut buf)
                    .await
                    .unwrap();
            }
        });
        w.write_all(&vec![1u8; 64 * 1024]).await.unwrap();
        reader.await.unwrap();
    }
}

/// Binds a TCP listener on `addr` (`host:port`; the first address it resolves to that
/// binds) with a listen queue of `backlog` connections (the kernel caps it at
/// `net.core.somaxconn`).
///
/// tokio's own `bind` asks for 128, the standard library's figure: when a popular stream
/// starts and a thousand players arrive at 500 a second, a quarter of a second in which
/// the accept loop does not run overflows such a queue, the kernel drops the handshakes,
/// and those players wait a second for their SYN to be sent again. nginx asks for 511.
pub async fn bind_with_backlog(addr: &str, backlog: u32) -> io::Result<TcpListener> {
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address to bind");
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(a) {
            Ok(()) => return socket.listen(backlog.max(1)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Accepts connections on `listener` until `shutdown` resolves, handing each, with its
/// peer's address, to `each`. A failed accept (out of file descriptors, say) is logged
/// under `name` and tried again a little later rather than ending the loop.
pub async fn accept_until(
    listener: &TcpListener,
    name: &'static str,
    shutdown: impl Future<Output = ()>,
    mut each: impl FnMut(tokio::net::TcpStream, std::net::SocketAddr),
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => each(socket, peer),
                Err(e) => {
                    tracing::warn!("{name} accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

#[cfg(test)]
mod backlog_tests {
    #[tokio::test]
    async fn a_listener_holds_a_burst_it_has_not_accepted_yet() {
        let listener = super::bind_with_backlog("127.0.0.1:0", 1024).await.unwrap();
        let addr = listener.local_addr().unwrap();
        // 400 handshakes while nothing accepts: more than tokio's default queue of 128
        // would hold (the kernel drops those, and the clients wait a second to retry).
        let mut conns = Vec::new();
        for _ in 0..400 {
            let c = tokio::time::timeout(
                std::time::Duration::from_millis(500),
                tokio::net::TcpStream::connect(addr),
            )
            .await
            .expect("the handshake completes at once")
            .unwrap();
            conns.push(c);
        }
        for _ in 0..400 {
            listener.accept().await.unwrap();
        }
    }
}
