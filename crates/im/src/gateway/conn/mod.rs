//! One chat connection's task: the I/O around its [`Session`].
//!
//! The connection is an upgraded WebSocket or goim's plain TCP ([`Transport`]). The task
//! reads the socket and cuts its bytes into packets (`reader`), feeds them to the
//! session, does what the session hands out in order (writes its replies, asks the
//! gateway and the app its questions through `host`, broadcasts), and waits for the
//! next bytes, the session's deadline, a kick, or the socket taking what it could not
//! take at once. What the protocol says (auth first, heartbeats, rooms, sends,
//! conversations, the inbox, how a connection ends) is the session's, in
//! [`crate::gateway::session`]. Pushed messages do not pass through this task: whoever
//! pushes writes them to the socket (see [`crate::ws::link`]).

mod host;
mod reader;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::watch;

use self::host::Host;
use self::reader::{read_more, Bad, In, Reader};
use super::session::{Close, Now, Output, Session, SessionConfig};
use super::{Gateway, GatewayConfig, Kick, Wire};
use crate::proto::{self, Packet};
use crate::ws::frame as wsf;
use crate::ws::link::LinkError;
use crate::ws::Link;

/// How long the goodbye (error reply, close frame) may take to write.
const GOODBYE: Duration = Duration::from_secs(1);

/// How a connection reached the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// An upgraded WebSocket (`/ws`, or goim's `/sub`); `token` is the access token its
    /// URL carried, for an auth body without one.
    WebSocket { token: Option<String> },
    /// goim's plain TCP: packets straight on the stream.
    Tcp,
}

type Sink = Arc<Link>;

/// Why a connection ended, for logs and metrics.
#[derive(Debug)]
enum End {
    Closed,
    Error(&'static str, String),
}

/// How a connection ends: why, and the WebSocket close code to say it with.
struct Ending {
    end: End,
    code: u16,
}

impl Ending {
    /// A failed write or flush: the close is a normal one.
    fn write_failed(end: End) -> Ending {
        Ending {
            end,
            code: wsf::CLOSE_NORMAL,
        }
    }
}

/// The time now, as the session takes it (tokio's clock, so that paused tests agree).
fn now() -> Now {
    Now::at(tokio::time::Instant::now().into_std(), kit::time::now_ms())
}

/// The session's settings for a connection over `transport`.
fn session_config(gw: &Gateway, transport: &Transport) -> SessionConfig {
    let (wire, url_token) = match transport {
        Transport::WebSocket { token } => (Wire::WsBinary, token.clone()),
        Transport::Tcp => (Wire::Tcp, None),
    };
    SessionConfig {
        url_token,
        history: gw.history().is_some(),
        inbox: gw.inbox().is_some(),
        ..SessionConfig::new(gw.config(), wire)
    }
}

/// Serves one connection until it closes: an upgraded WebSocket, or goim's TCP. `early`
/// holds bytes the client sent right after its upgrade request, already read by the HTTP
/// server; `client` is its client's address, when known.
pub async fn serve(
    sock: TcpStream,
    early: Bytes,
    client: Option<std::net::IpAddr>,
    transport: Transport,
    gw: Arc<Gateway>,
) {
    let limits = proto::Limits {
        max_body: gw.config().max_body,
        ..proto::Limits::default()
    };
    let mut reader = Reader::new(&transport, limits);
    reader.buffer().extend_from_slice(&early);
    // It may hold on to the HTTP server's whole read buffer.
    drop(early);
    let sink: Sink = Arc::new(Link::new(sock));
    let mut session = Session::new(session_config(&gw, &transport), now());
    let mut conn = Conn {
        host: Host::new(gw.clone(), sink.clone(), client),
        cfg: gw.config().clone(),
        sink,
        reader,
        limits,
        timer: Box::pin(tokio::time::sleep(std::time::Duration::ZERO)),
        armed: None,
    };
    let ending = conn.run(&mut session).await;
    if let Some(id) = conn.host.id {
        gw.unregister(id);
        if let End::Error(code, why) = &ending.end {
            metrics::counter!("im_closed_total", "reason" => *code).increment(1);
            let user = session.identity().map_or(0, |w| w.user_id);
            tracing::debug!(user, code, "chat connection closed: {why}");
        }
    }
    goodbye(&conn.sink, session.wire(), ending.code).await;
}

/// The I/O of one connection.
struct Conn {
    host: Host,
    cfg: GatewayConfig,
    sink: Sink,
    reader: Reader,
    limits: proto::Limits,
    /// The session's deadline as a timer kept across waits and moved only when the
    /// deadline moves: a wake-up to flush a room's messages does not register a new
    /// timer.
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// The deadline `timer` is set to; `None`: no deadline (the timer is ignored).
    armed: Option<std::time::Instant>,
}

impl Conn {
    /// Feeds `session` until it closes or a write fails.
    async fn run(&mut self, session: &mut Session) -> Ending {
        loop {
            if let Some(ending) = self.perform(session).await {
                return ending;
            }
            // Whatever whole packets the buffer holds, first.
            match self.reader.next(&self.limits) {
                Ok(Some(In::Packets(wire, packets))) => {
                    session.handle_packets(wire, packets, now())
                }
                Ok(Some(In::Ping(data))) => {
                    let pong = wsf::encode(wsf::OP_PONG, &data);
                    if !session.is_open() {
                        self.sink.push(pong);
                    } else if let Err(e) = self.send(pong).await {
                        return Ending::write_failed(e);
                    }
                }
                Ok(Some(In::Pong)) => {}
                Ok(Some(In::Close)) => session.handle_peer_closed(),
                Err(Bad::Packet(e, wire)) => session.handle_bad_packet(e, wire, now()),
                Err(Bad::Frame(e)) => session.handle_bad_frame(e, now()),
                Ok(None) => {
                    if session.is_open() {
                        self.reader.shrink();
                    }
                    if let Some(ending) = self.wait(session).await {
                        return ending;
                    }
                }
            }
        }
    }

    /// Waits for bytes, the session's deadline, a kick, or the socket wanting the rest
    /// of a write.
    async fn wait(&mut self, session: &mut Session) -> Option<Ending> {
        let open = session.is_open();
        let deadline = session.poll_timeout();
        if deadline != self.armed {
            if let Some(d) = deadline {
                self.timer.as_mut().reset(tokio::time::Instant::from_std(d));
            }
            self.armed = deadline;
        }
        let timed = self.armed.is_some();
        tokio::select! {
            more = read_more(&self.sink, &mut self.reader) => {
                if more {
                    session.handle_read(now());
                } else {
                    session.handle_peer_closed();
                }
            }
            _ = self.timer.as_mut(), if timed => session.handle_timeout(now()),
            _ = self.sink.wanted(), if open => {
                if let Err(e) = self.flush().await {
                    return Some(Ending::write_failed(e));
                }
            }
            kick = kicked(self.host.kicked.as_mut()), if open => match kick {
                Kick::Reconnect { after_ms } => session.handle_drain(after_ms),
                Kick::Out | Kick::Stay => session.handle_kick(),
            },
        }
        None
    }

    /// Does what the session hands out, in order, until it waits for an input;
    /// `Some` when the connection ends.
    async fn perform(&mut self, session: &mut Session) -> Option<Ending> {
        while let Some(out) = session.poll_output() {
            match out {
                Output::Send(p) => {
                    if let Err(e) = self.write(session.wire(), &p).await {
                        return Some(Ending::write_failed(e));
                    }
                }
                Output::Hold => self.sink.hold(),
                Output::Release => self.sink.release(),
                Output::PushRoom { room, op, body } => {
                    self.host.gw.push_room_everywhere(&room, op, body);
                }
                Output::Ask(ask) => {
                    let answer = self.host.answer(ask, session.wire()).await;
                    if session.answer(answer, now()).is_err() {
                        debug_assert!(false, "the host answered another question");
                        let why = "the session did not ask for this answer".into();
                        return Some(Ending::write_failed(End::Error("internal", why)));
                    }
                }
                Output::Close(close) => return Some(self.last_words(session.wire(), close).await),
            }
        }
        None
    }

    /// Writes the packet a closing session ends with, if any.
    async fn last_words(&mut self, wire: Wire, close: Close) -> Ending {
        if let Some(last) = close.last {
            if last.wait {
                let _ = self.write(wire, &last.packet).await;
            } else {
                self.sink.push(wire.encode(&last.packet));
            }
        }
        let end = match close.error {
            Some((code, why)) => End::Error(code, why),
            None => End::Closed,
        };
        Ending {
            end,
            code: close.code,
        }
    }

    async fn write(&self, wire: Wire, p: &Packet) -> Result<(), End> {
        self.send(wire.encode(p)).await
    }

    /// Writes a whole frame, after whatever was queued before it.
    async fn send(&self, frame: Bytes) -> Result<(), End> {
        if !self.sink.push(frame) {
            return Err(End::Closed);
        }
        self.flush().await
    }

    /// Finishes writing what waits for the socket, within the write timeout.
    async fn flush(&self) -> Result<(), End> {
        match self.sink.flush(self.cfg.write_timeout).await {
            Ok(()) => Ok(()),
            Err(LinkError::Closed) => Err(End::Closed),
            Err(LinkError::TimedOut) => Err(End::Error(
                "write_timeout",
                "the client does not read".into(),
            )),
        }
    }
}

/// Resolves when the server disconnects the connection (or forgets it: `Out`), and why;
/// never before it is registered.
async fn kicked(kicked: Option<&mut watch::Receiver<Kick>>) -> Kick {
    match kicked {
        Some(k) => match k.changed().await {
            Ok(()) => *k.borrow_and_update(),
            Err(_) => Kick::Out,
        },
        None => std::future::pending().await,
    }
}

/// Sends a close frame over a WebSocket (best effort, briefly), finishes writing what
/// waits, and closes the socket.
async fn goodbye(sink: &Sink, wire: Wire, code: u16) {
    if wire.is_websocket() {
        sink.push(wsf::close(code));
    }
    let _ = sink.flush(GOODBYE).await;
    sink.close();
}
