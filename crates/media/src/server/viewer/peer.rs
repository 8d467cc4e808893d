//! What a viewer's client says while it watches: for FLV viewers nothing but leaving;
//! for RTMP players control messages the session answers (see `server::rtmp`).

use std::convert::Infallible;

use axum::extract::ws::{Message, WebSocket};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::sink::BodySink;

/// The client's side of a viewer's connection.
pub(crate) trait Peer<S> {
    type Error;

    /// Waits for the client: `Ok(true)` when it sent something, `Ok(false)` when it has
    /// gone. Raced against the stream's frames, so it must be cancel safe: it only
    /// takes input; acting on it is [`Peer::act`]'s job.
    async fn listen(&mut self, sink: &mut S) -> Result<bool, Self::Error>;

    /// Acts on what [`Peer::listen`] took, answering through `sink` if need be;
    /// `Ok(false)` ends the viewing.
    async fn act(&mut self, _sink: &mut S) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// An HTTP-FLV client on a socket: it sends nothing more, and the end of what it sends
/// (or an error) is its leaving.
pub(crate) struct ReadPeer<R>(pub R);

impl<R: AsyncRead + Unpin, S> Peer<S> for ReadPeer<R> {
    type Error = Infallible;

    async fn listen(&mut self, _sink: &mut S) -> Result<bool, Infallible> {
        let mut ignored = [0u8; 64];
        Ok(matches!(self.0.read(&mut ignored).await, Ok(n) if n > 0))
    }
}

/// A WebSocket-FLV client: players send nothing we need; a close or an error ends it.
pub(crate) struct WsPeer;

impl Peer<WebSocket> for WsPeer {
    type Error = Infallible;

    async fn listen(&mut self, socket: &mut WebSocket) -> Result<bool, Infallible> {
        Ok(match socket.recv().await {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => false,
            Some(Ok(_)) => true,
        })
    }
}

/// An HTTP-FLV client through the HTTP server: gone when the server drops the body.
pub(crate) struct BodyPeer;

impl Peer<BodySink> for BodyPeer {
    type Error = Infallible;

    async fn listen(&mut self, sink: &mut BodySink) -> Result<bool, Infallible> {
        sink.0.closed().await;
        Ok(false)
    }
}
