//! Where a viewer's bytes go: a byte stream (a socket's write half), a WebSocket, or
//! the body of an HTTP response.

use std::io::{self, IoSlice};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use bytes::Bytes;
use futures::SinkExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Takes a viewer's batches of shared buffers.
pub(crate) trait Sink {
    /// Writes `parts` in order: all of them, or an error.
    async fn write(&mut self, parts: &[Bytes]) -> io::Result<()>;
}

/// A byte stream such as a socket's write half, written with vectored writes: no copy
/// per viewer, usually one system call per batch. A write that does not finish within
/// `timeout` fails with [`io::ErrorKind::TimedOut`].
pub(crate) struct IoSink<W> {
    pub io: W,
    pub timeout: Duration,
}

impl<W: AsyncWrite + Unpin> Sink for IoSink<W> {
    async fn write(&mut self, parts: &[Bytes]) -> io::Result<()> {
        write_parts(&mut self.io, parts, self.timeout).await
    }
}

/// Writes the shared buffers `parts` to `wr` with vectored writes, giving up after
/// `timeout` without progress to the end.
async fn write_parts<W: AsyncWrite + Unpin>(
    wr: &mut W,
    parts: &[Bytes],
    timeout: Duration,
) -> io::Result<()> {
    let write = async {
        let mut slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            let n = wr.write_vectored(rest).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut rest, n);
        }
        Ok(())
    };
    match tokio::time::timeout(timeout, write).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "write timeout")),
    }
}

/// WebSocket-FLV: one binary message per part, the batch flushed together.
impl Sink for WebSocket {
    async fn write(&mut self, parts: &[Bytes]) -> io::Result<()> {
        for part in parts {
            self.feed(Message::Binary(part.clone()))
                .await
                .map_err(io::Error::other)?;
        }
        SinkExt::flush(self).await.map_err(io::Error::other)
    }
}

/// The body of an HTTP response, which the HTTP server takes from the other end of the
/// channel as fast as the client reads.
pub(crate) struct BodySink(pub mpsc::Sender<Bytes>);

impl Sink for BodySink {
    async fn write(&mut self, parts: &[Bytes]) -> io::Result<()> {
        for part in parts {
            self.0
                .send(part.clone())
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        }
        Ok(())
    }
}
