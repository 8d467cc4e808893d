//! goim's TCP transport: native apps talk to goim's comet over plain TCP, the same
//! packets as over WebSocket without its framing. Off unless the operator names an
//! address (`[chat] tcp`, `momo serve --chat-tcp ADDR`); its connections share the
//! gateway's caps with the WebSocket ones.

use std::sync::Arc;

use bytes::Bytes;
use tokio::net::TcpListener;

use super::conn::{self, Transport};
use super::Gateway;

/// Accepts connections on `listener` and serves each as a chat connection until
/// `shutdown` resolves (connections already open stay until they close).
pub async fn serve(
    listener: TcpListener,
    gw: Arc<Gateway>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    kit::net::accept_until(&listener, "chat tcp", shutdown, |socket, peer| {
        // Over the caps: closed at once (there is no status line to answer with).
        let Ok(permit) = gw.admit(peer.ip()) else {
            drop(socket);
            return;
        };
        let _ = socket.set_nodelay(true);
        let gw = gw.clone();
        tokio::spawn(async move {
            let _permit = permit;
            conn::serve(socket, Bytes::new(), Some(peer.ip()), Transport::Tcp, gw).await;
        });
    })
    .await;
}
