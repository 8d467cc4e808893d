//! The HTTP server's connection loop, in place of `axum::serve`, for what that does not
//! offer: a client has `header_timeout` to send each request's head (counted from when
//! the connection is ready for one, so an idle kept-alive connection is closed after it
//! too, and a client trickling its head a byte at a time is cut off), and every
//! connection holds a permit of the HTTP listener's caps (in all and per client address)
//! for as long as it lives; one over a cap was answered 503 before it got here.
//!
//! Connections come from the [`SniffingListener`], which has already served fresh
//! HTTP-FLV viewers itself. On shutdown the loop stops accepting, asks every connection
//! to finish its request in flight and close, and resolves once all have.

use std::convert::Infallible;
use std::pin::pin;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use kit::net::WriteTimeout;
use media::server::flv_direct::SniffingListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct HttpTimeouts {
    /// Time to send a request's head (and the longest a kept-alive connection idles).
    pub header: Duration,
    /// A write that makes no progress this long closes the connection (zero: never).
    pub write: Duration,
}

/// Serves `router` on the connections of `incoming` until `shutdown` resolves, then until
/// the connections have finished.
pub async fn serve(
    mut incoming: SniffingListener,
    router: axum::Router,
    timeouts: HttpTimeouts,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (sock, addr, permit) = tokio::select! {
            conn = incoming.accept() => conn,
            _ = &mut shutdown => break,
        };
        let router = router.clone();
        let mut stop_rx = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let io = TokioIo::new(WriteTimeout::new(sock, timeouts.write));
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(addr));
                let router = router.clone();
                async move {
                    let res = router.oneshot(req.map(axum::body::Body::new)).await;
                    Ok::<_, Infallible>(res.unwrap_or_else(|e| match e {}))
                }
            });
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(timeouts.header);
            let builder = builder.http1_only();
            let mut conn = pin!(builder.serve_connection_with_upgrades(io, service));
            let mut stopping = false;
            loop {
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::trace!(%addr, "http connection ended: {e}");
                        }
                        break;
                    }
                    _ = stop_rx.changed(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    drop(incoming);
    let _ = stop_tx.send(());
    drop(stop_rx);
    stop_tx.closed().await;
}
