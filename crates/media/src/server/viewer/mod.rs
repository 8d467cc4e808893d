//! One viewer's loop, whatever it watches over: RTMP play, HTTP-FLV (from the socket or
//! through the HTTP server) and WebSocket-FLV all run [`Viewer::run`].
//!
//! A viewer waits for a frame from its queue in the hub, takes every frame queued behind
//! it, writes them all at once and rests until the next flush tick; meanwhile it
//! listens to its client, which for an FLV viewer can only leave and for an RTMP player
//! sends control messages the session answers. The framing ([`FlvTags`],
//! [`RtmpChunks`]) says what bytes a frame is; the sink ([`IoSink`], a WebSocket,
//! [`BodySink`]) where they go; the peer ([`Peer`]) what the client says.
//!
//! Cost per viewer and flush tick: one wake-up (every viewer wakes on the same shared
//! tick), one `Vec` of the queued frames' shared encodings (a reference count each, no
//! copy), and one write: a single vectored system call on a socket.

mod framing;
mod peer;
mod sink;
#[cfg(test)]
mod tests;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::hub::{Packet, Subscription};
pub(crate) use framing::{FlvTags, Framing, RtmpChunks};
pub(crate) use peer::{BodyPeer, Peer, ReadPeer, WsPeer};
pub(crate) use sink::{BodySink, IoSink, Sink};

/// Why a viewer's loop ended.
#[derive(Debug)]
pub(crate) enum Ended<E> {
    /// The stream is over: its queue closed.
    StreamOver,
    /// The client stopped watching.
    Left,
    /// A write failed or timed out.
    WriteFailed(io::Error),
    /// The peer failed (for RTMP: a read, a timeout, a protocol error).
    Peer(E),
}

/// One viewer: its framing, its sink and how long it rests between writes.
pub(crate) struct Viewer<F, S> {
    framing: F,
    sink: S,
    flush: Duration,
    /// The `protocol` label of `media_bytes_out_total`.
    protocol: &'static str,
    /// Bytes written in front of the first batch, in the same write.
    preamble: Option<Bytes>,
}

impl<F: Framing, S: Sink> Viewer<F, S> {
    pub(crate) fn new(framing: F, sink: S, flush: Duration, protocol: &'static str) -> Self {
        Viewer {
            framing,
            sink,
            flush,
            protocol,
            preamble: None,
        }
    }

    /// Puts `bytes` (an FLV file header) in front of the first batch.
    pub(crate) fn with_preamble(mut self, bytes: Bytes) -> Self {
        self.preamble = Some(bytes);
        self
    }

    pub(crate) fn sink(&mut self) -> &mut S {
        &mut self.sink
    }

    pub(crate) fn into_sink(self) -> S {
        self.sink
    }

    /// Plays `sub` to the client until the stream ends, the client leaves or fails, or a
    /// write fails.
    pub(crate) async fn run<P: Peer<S>>(
        &mut self,
        sub: &mut Subscription,
        peer: &mut P,
    ) -> Ended<P::Error> {
        loop {
            tokio::select! {
                packet = sub.rx.recv() => {
                    let Some(first) = packet else { return Ended::StreamOver };
                    if let Err(e) = self.send(first, &mut sub.rx).await {
                        return Ended::WriteFailed(e);
                    }
                    rest(self.flush).await;
                }
                heard = peer.listen(&mut self.sink) => {
                    let go_on = match heard {
                        Ok(true) => peer.act(&mut self.sink).await,
                        other => other,
                    };
                    match go_on {
                        Ok(true) => {}
                        Ok(false) => return Ended::Left,
                        Err(e) => return Ended::Peer(e),
                    }
                }
            }
        }
    }

    /// Writes `first` and every frame already queued behind it in one write.
    async fn send(
        &mut self,
        first: Arc<Packet>,
        queue: &mut mpsc::Receiver<Arc<Packet>>,
    ) -> io::Result<()> {
        let mut parts: Vec<Bytes> = self.preamble.take().into_iter().collect();
        parts.push(self.framing.frame(&first));
        while let Ok(packet) = queue.try_recv() {
            parts.push(self.framing.frame(&packet));
        }
        self.sink.write(&parts).await?;
        let len: usize = parts.iter().map(Bytes::len).sum();
        metrics::counter!("media_bytes_out_total", "protocol" => self.protocol)
            .increment(len as u64);
        Ok(())
    }
}

/// Rests a viewer until the next multiple of `flush` (counted from the process's first
/// call), so that every viewer wakes on the same ticks: the runtime then wakes once per
/// tick for all of them instead of once per viewer, at a phase of its own.
pub(crate) async fn rest(flush: Duration) {
    static EPOCH: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();
    if flush.is_zero() {
        return;
    }
    let epoch = *EPOCH.get_or_init(tokio::time::Instant::now);
    let period = flush.as_nanos().max(1);
    let since = epoch.elapsed().as_nanos();
    let next = (since / period + 1) * period;
    let wait = Duration::from_nanos((next - since).min(u64::MAX as u128) as u64);
    tokio::time::sleep(wait).await;
}
