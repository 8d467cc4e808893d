//! HTTP-FLV without the HTTP server in the way.
//!
//! A viewer of `/live/{room}.flv` holds its connection for as long as it watches, and
//! through the general HTTP server that connection keeps that server's read and write
//! buffers (16 KiB) and its per-frame machinery for hours. [`SniffingListener`] sits in
//! front of the HTTP server: it looks at (peeks, without consuming) the first request of
//! each new connection, and when that is a plain `GET /live/{room}.flv` it serves the
//! stream itself, through the same viewer loop as RTMP players (`server::viewer`): the
//! response head, then the FLV tags written straight to the socket, batched per flush
//! interval, until the stream ends or the viewer leaves (`Connection: close`). Every
//! other connection, including WebSocket-FLV upgrades and FLV requests later on a
//! kept-alive connection, goes to the HTTP server unchanged, whose own HTTP-FLV handler
//! answers the same way.
//!
//! It is also where the HTTP listener's connection caps are applied: each accepted
//! connection takes a permit (held by the FLV viewer, or handed on with the connection);
//! one over a cap is answered `503` with momo's JSON error and closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use bytes::Bytes;
use kit::conn_limits::{ConnLimits, ConnPermit, Refusal};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::http::{flv_header, not_live, Outputs};
use super::viewer::{Ended, FlvTags, IoSink, ReadPeer, Sink, Viewer};
use crate::hub::Protocol;

/// The longest request head looked at; longer ones go to the HTTP server.
const MAX_HEAD: usize = 8192;
/// How long a new connection may take to send its first request head before it is
/// handed to the HTTP server as it is.
const SNIFF_WAIT: Duration = Duration::from_secs(10);
const PREFIX: &[u8] = b"GET /live/";

/// What the first bytes of a connection are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    /// Not an HTTP-FLV play request this module serves.
    Other,
    /// Could still be one; more bytes are needed.
    NeedMore,
    /// `GET /live/{room}.flv[?query]`, whose head is `head_len` bytes.
    Flv {
        room: String,
        query: Option<String>,
        head_len: usize,
    },
}

/// Decides from the bytes a connection sent so far (sans-IO).
pub fn sniff(head: &[u8]) -> Sniffed {
    let n = head.len().min(PREFIX.len());
    if head[..n] != PREFIX[..n] {
        return Sniffed::Other;
    }
    if head.len() < PREFIX.len() {
        return Sniffed::NeedMore;
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(head) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => return Sniffed::NeedMore,
        // Too long, too many headers or not HTTP: the HTTP server answers it.
        _ => return Sniffed::Other,
    };
    if req
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("upgrade"))
    {
        return Sniffed::Other;
    }
    let Some(target) = req.path.and_then(|p| p.strip_prefix("/live/")) else {
        return Sniffed::Other;
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (target, None),
    };
    match path.strip_suffix(".flv") {
        // Escapes and deeper paths are left to the HTTP server's router.
        Some(room) if !room.is_empty() && !room.contains(['/', '%']) => Sniffed::Flv {
            room: room.to_string(),
            query,
            head_len,
        },
        _ => Sniffed::Other,
    }
}

/// A connection handed on to the HTTP server, with its place under the caps.
type Handed = (TcpStream, SocketAddr, Option<ConnPermit>);

/// A listener for the HTTP server that serves fresh HTTP-FLV connections itself and
/// hands every other connection on.
pub struct SniffingListener {
    rx: mpsc::Receiver<Handed>,
    local: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

impl SniffingListener {
    /// `limits`, when given, caps the connections (see the module documentation).
    pub fn new(
        listener: TcpListener,
        outputs: Outputs,
        write_timeout: Duration,
        limits: Option<Arc<ConnLimits>>,
    ) -> Self {
        let local = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, rx) = mpsc::channel(1024);
        let accept = tokio::spawn(accept_loop(listener, outputs, write_timeout, limits, tx));
        SniffingListener { rx, local, accept }
    }

    /// The next connection for the HTTP server, with its permit; the permit must live as
    /// long as the connection.
    pub async fn accept(&mut self) -> Handed {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept loop only ends with the listener.
            None => std::future::pending().await,
        }
    }
}

impl Drop for SniffingListener {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl axum::serve::Listener for SniffingListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    /// Through `axum::serve` a permit cannot follow its connection: use it without caps.
    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        let (sock, addr, _) = SniffingListener::accept(self).await;
        (sock, addr)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    mut listener: TcpListener,
    outputs: Outputs,
    write_timeout: Duration,
    limits: Option<Arc<ConnLimits>>,
    tx: mpsc::Sender<Handed>,
) {
    loop {
        let (sock, addr) = axum::serve::Listener::accept(&mut listener).await;
        let permit = match limits.as_ref().map(|l| l.try_acquire(addr.ip())) {
            Some(Err(refusal)) => {
                refuse(sock, refusal);
                continue;
            }
            Some(Ok(permit)) => Some(permit),
            None => None,
        };
        let (tx, outputs) = (tx.clone(), outputs.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(SNIFF_WAIT, first_head(&sock)).await {
                Ok(Ok(Sniffed::Flv {
                    room,
                    query,
                    head_len,
                })) => {
                    let viewer = Direct {
                        outputs,
                        write_timeout,
                    };
                    viewer.serve(sock, &room, query.as_deref(), head_len).await;
                    drop(permit);
                }
                Ok(Err(_)) => {}
                _ => {
                    let _ = tx.send((sock, addr, permit)).await;
                }
            }
        });
    }
}

/// Answers a connection over a cap `503` and closes it, without waiting for it: the
/// answer fits a fresh socket's send buffer, and one that does not take it is only
/// closed.
fn refuse(sock: TcpStream, refusal: Refusal) {
    let message = match refusal {
        Refusal::Total => "the server has all the connections it takes; try again soon",
        Refusal::PerAddress => "too many connections from your address; close some first",
    };
    let body = format!(r#"{{"error":{{"code":"too_many_connections","message":"{message}"}}}}"#);
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nRetry-After: 5\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = sock.try_write(answer.as_bytes());
}

/// Peeks at what the connection sent until [`sniff`] can tell.
async fn first_head(sock: &TcpStream) -> std::io::Result<Sniffed> {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut pause = Duration::from_millis(2);
    loop {
        sock.readable().await?;
        let n = match sock.peek(&mut buf).await {
            Ok(0) => return Ok(Sniffed::Other),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        match sniff(&buf[..n]) {
            // Peeking does not consume, so readiness stays: wait a little for the rest,
            // longer each time (a client that trickles its head costs few wake-ups).
            Sniffed::NeedMore => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(250));
            }
            verdict => return Ok(verdict),
        }
    }
}

/// An HTTP-FLV viewer served from its socket.
struct Direct {
    outputs: Outputs,
    write_timeout: Duration,
}

impl Direct {
    async fn serve(&self, mut sock: TcpStream, room: &str, query: Option<&str>, head: usize) {
        // The head was only peeked at: take it off the socket.
        let mut skip = vec![0u8; head];
        if sock.read_exact(&mut skip).await.is_err() {
            return;
        }
        drop(skip);
        if let Err(refused) = self.outputs.check(room, query) {
            return self.answer(sock, refused).await;
        }
        let peer = sock.peer_addr().ok().map(|a| a.ip());
        let Some(mut sub) = self
            .outputs
            .hub
            .subscribe_or_pull(room, Protocol::HttpFlv, peer)
            .await
        else {
            return self.answer(sock, not_live()).await;
        };
        let mut head =
            b"HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nCache-Control: no-cache\r\n\
            Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n"
                .to_vec();
        head.extend_from_slice(&flv_header());
        let (rd, wr) = sock.into_split();
        let sink = IoSink {
            io: wr,
            timeout: self.write_timeout,
        };
        let mut viewer = Viewer::new(FlvTags, sink, self.outputs.flush, "http_flv");
        // The answer at once, before the first frame: a player knows it is playing.
        let wrote = match viewer.sink().write(&[Bytes::from(head)]).await {
            Ok(()) => viewer.run(&mut sub, &mut ReadPeer(rd)).await,
            Err(e) => Ended::WriteFailed(e),
        };
        if matches!(&wrote, Ended::WriteFailed(e) if e.kind() == std::io::ErrorKind::TimedOut) {
            metrics::counter!("http_write_timeouts_total").increment(1);
        }
        let _ = viewer.into_sink().io.shutdown().await;
    }

    /// Writes a whole (small) answer such as a 404 and closes.
    async fn answer(&self, mut sock: TcpStream, res: Response) {
        let (parts, body) = res.into_parts();
        let body = axum::body::to_bytes(body, 64 * 1024)
            .await
            .unwrap_or_default();
        let mut out = format!(
            "HTTP/1.1 {} {}\r\n",
            parts.status.as_u16(),
            parts.status.canonical_reason().unwrap_or("")
        );
        for (name, value) in &parts.headers {
            if let Ok(v) = value.to_str() {
                out.push_str(&format!("{name}: {v}\r\n"));
            }
        }
        out.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        ));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&body);
        let _ = tokio::time::timeout(self.write_timeout, async {
            sock.write_all(&bytes).await?;
            sock.shutdown().await
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flv(room: &str, query: Option<&str>, head_len: usize) -> Sniffed {
        Sniffed::Flv {
            room: room.into(),
            query: query.map(Into::into),
            head_len,
        }
    }

    #[test]
    fn plain_flv_plays_are_recognised_and_everything_else_passed_on() {
        let req = b"GET /live/12.flv HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(sniff(req), flv("12", None, req.len()));
        // Bare line feeds, as HTTP parsers accept them (found by the fuzzer).
        let req = b"GET /live/0b.flv HTTP/1.0\n\r\n\x9ch";
        assert_eq!(sniff(req), flv("0b", None, req.len() - 2));
        let req = b"GET /live/12.flv?expires=9&sign=ab HTTP/1.1\r\nHost: x\r\n\r\nextra";
        assert_eq!(
            sniff(req),
            flv("12", Some("expires=9&sign=ab"), req.len() - 5)
        );
        for other in [
            &b"POST /live/12.flv HTTP/1.1\r\n\r\n"[..],
            b"GET /api/v1/rooms HTTP/1.1\r\n\r\n",
            b"GET /live/12/index.m3u8 HTTP/1.1\r\n\r\n",
            b"GET /live/12.flv HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            b"GET /live/a%2F.flv HTTP/1.1\r\n\r\n",
            b"GET /live/.flv HTTP/1.1\r\n\r\n",
            b"GET /live/12.flv HTTP/9.9\r\n\r\n",
            b"\x16\x03\x01\x02\x00",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ] {
            assert_eq!(
                sniff(other),
                Sniffed::Other,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
        for partial in [
            &b""[..],
            b"GE",
            b"GET /live/",
            b"GET /live/12.flv HTTP/1.1\r\nHo",
        ] {
            assert_eq!(sniff(partial), Sniffed::NeedMore);
        }
        // A head that never ends within the limit is the HTTP server's problem.
        let mut long = b"GET /live/1.flv HTTP/1.1\r\nX: ".to_vec();
        long.resize(MAX_HEAD, b'a');
        assert_eq!(sniff(&long), Sniffed::Other);
    }
}
