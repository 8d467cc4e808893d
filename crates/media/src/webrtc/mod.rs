//! WebRTC on one UDP port: WHEP playback of any live stream and WHIP publishing into
//! the hub.
//!
//! `POST /whep/{room}` with an SDP offer makes a viewer ([`play`]): an ICE-lite,
//! DTLS-SRTP session (str0m, sans-IO, driven here like the media servers drive their
//! sessions, [`session`]) that plays the room's stream from the hub — the same
//! subscription and GOP cache as every other output, so a new viewer starts on the
//! cached keyframe at once. H.264 is passed through: each access unit is packetized
//! once per stream (FU-A / STAP-A, parameter sets before keyframes; [`rtp`]) and every
//! viewer's str0m session, in RTP mode, only writes headers, keeps what NACKs need and
//! encrypts. AAC becomes Opus once per stream ([`audio`]).
//!
//! `POST /whip/{stream key}` makes a publisher ([`ingest`]): H.264 and Opus in, FLV
//! frames into the hub as from RTMP, with keyframes asked for periodically and when a
//! WebRTC viewer asks.
//!
//! All peers share one UDP socket. One task reads it and routes each datagram by a
//! table ([`route`]): STUN binding requests by the ICE username fragment momo chose for
//! the session, everything else by the source address a valid request came from.
//! Datagrams nobody claims are dropped and counted. Clients without UDP connect over
//! TCP instead ([`tcp`], a passive candidate beside each UDP one).

pub mod audio;
pub mod http;
pub mod ingest;
pub mod peers;
pub mod play;
pub mod route;
pub mod rtp;
pub mod sdp;
pub(crate) mod session;
pub mod tcp;
pub use peers::Opened;
pub use sdp::{answer_offer, parse_offer, Candidates, Purpose};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::hub::Hub;

/// Settings of WebRTC output.
#[derive(Debug, Clone)]
pub struct WebRtcConfig {
    /// The addresses clients reach the UDP port at, given to them as host candidates.
    pub candidates: Vec<IpAddr>,
    /// Most peers at once; more get 503.
    pub max_peers: usize,
    /// A peer that has not connected (ICE and DTLS) this long after its offer is let go.
    pub connect_timeout: Duration,
    /// The ffmpeg that bridges AAC and Opus; empty for video only.
    pub ffmpeg: String,
    /// How often a WHIP publisher is asked for a keyframe.
    pub keyframe_interval: Duration,
}

impl Default for WebRtcConfig {
    fn default() -> Self {
        Self {
            candidates: Vec::new(),
            max_peers: 2_000,
            connect_timeout: Duration::from_secs(15),
            ffmpeg: "ffmpeg".into(),
            keyframe_interval: Duration::from_secs(2),
        }
    }
}

/// Datagrams waiting for one peer before more are dropped.
const PEER_QUEUE: usize = 256;
/// Datagrams waiting for the shared socket to take them (a burst: keyframes going to
/// many viewers at once) before more are dropped.
const SEND_BACKLOG: usize = 32_768;
/// The socket buffers asked for (the kernel caps them at its `wmem_max`/`rmem_max`).
const SOCKET_BUFFER: usize = 4 << 20;
/// The largest datagram read.
const MAX_DATAGRAM: usize = 2048;

/// One datagram for a peer.
#[derive(Debug)]
pub(crate) struct Datagram {
    proto: str0m::net::Protocol,
    source: SocketAddr,
    at: std::time::Instant,
    data: Vec<u8>,
}

/// How the socket's reader reaches a peer.
#[derive(Debug, Clone)]
struct Route {
    session: u64,
    tx: mpsc::Sender<Datagram>,
}

#[derive(Debug, Default)]
struct Routes {
    by_ufrag: HashMap<String, Route>,
    by_addr: HashMap<SocketAddr, Route>,
    /// Each session's ufrag, to clean up after it.
    ufrags: HashMap<u64, String>,
    /// Each session's stop signal (`DELETE`).
    stops: HashMap<u64, tokio::sync::watch::Sender<bool>>,
    /// Each session by the unguessable name its URL carries.
    names: HashMap<String, u64>,
}

/// WebRTC output: the UDP socket, its peers and the hub they play from.
pub struct WebRtc {
    hub: Arc<Hub>,
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    /// The address datagrams are handed to a session as arriving at: the first
    /// advertised candidate. A session takes STUN only at one of its own candidates,
    /// and the socket may be bound elsewhere (every address, `0.0.0.0`, or a private one
    /// behind a 1:1 NAT); one socket answers for all candidates, so any of them will do.
    receive_at: SocketAddr,
    config: WebRtcConfig,
    routes: Mutex<Routes>,
    next_session: AtomicU64,
    /// Datagrams the socket could not take at once, for the writer task; while it has
    /// any, every datagram goes through it, so none overtakes another.
    backlog: mpsc::Sender<(Vec<u8>, SocketAddr)>,
    backlogged: Arc<std::sync::atomic::AtomicBool>,
    /// Each stream's AAC-to-Opus bridge, while a viewer holds it.
    bridges: Mutex<HashMap<String, std::sync::Weak<audio::to_opus::AudioBridge>>>,
    /// ICE over TCP, once [`WebRtc::serve_tcp`] was given a listener.
    tcp: std::sync::OnceLock<tcp::TcpSide>,
}

impl std::fmt::Debug for WebRtc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtc")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// Why an offer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    #[error("the offer is not valid SDP: {0}")]
    BadSdp(String),
    #[error("the offer has no H.264 video")]
    NoH264,
    #[error("HEVC (H.265) is not accepted; publish H.264")]
    Hevc,
    #[error("the offer's audio is not Opus")]
    NoOpus,
    #[error("this stream is not live")]
    NotLive,
    #[error("too many WebRTC peers on this node")]
    Full,
    #[error("WebRTC is not available: {0}")]
    Unavailable(String),
}

impl WebRtc {
    /// Serves WebRTC on `socket` (bound by the caller) for `hub`'s streams.
    pub fn start(
        hub: Arc<Hub>,
        socket: UdpSocket,
        mut config: WebRtcConfig,
    ) -> std::io::Result<Arc<WebRtc>> {
        // One crypto provider for the process: pure Rust, nothing to link.
        session::install_crypto();
        let local = socket.local_addr()?;
        let sock = socket2::SockRef::from(&socket);
        let _ = sock.set_send_buffer_size(SOCKET_BUFFER);
        let _ = sock.set_recv_buffer_size(SOCKET_BUFFER);
        let socket = Arc::new(socket);
        let (backlog, backlog_rx) = mpsc::channel(SEND_BACKLOG);
        let backlogged = Arc::new(std::sync::atomic::AtomicBool::new(false));
        tokio::spawn(write_backlog(
            socket.clone(),
            backlog_rx,
            backlogged.clone(),
        ));
        if config.candidates.is_empty() {
            config.candidates.push(local.ip());
        }
        let receive_at = SocketAddr::new(config.candidates[0], local.port());
        let server = Arc::new(WebRtc {
            hub,
            socket,
            local,
            receive_at,
            config,
            routes: Mutex::new(Routes::default()),
            next_session: AtomicU64::new(1),
            backlog,
            backlogged,
            bridges: Mutex::new(HashMap::new()),
            tcp: std::sync::OnceLock::new(),
        });
        tokio::spawn(read_socket(Arc::downgrade(&server), server.socket.clone()));
        Ok(server)
    }

    /// Where the UDP socket listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serves ICE over TCP on `listener` too (bound by the caller): sessions are
    /// answered with a passive TCP candidate at each advertised address. Once.
    pub fn serve_tcp(self: &Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let local = listener.local_addr()?;
        if self.tcp.set(tcp::TcpSide::new(local)).is_err() {
            return Err(std::io::Error::other("ICE over TCP is served already"));
        }
        tokio::spawn(tcp::accept(Arc::downgrade(self), listener));
        Ok(())
    }

    /// Where ICE over TCP listens, if it is served.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.get().map(|t| t.local)
    }

    /// Where a session takes a datagram of `proto` as arriving (see `receive_at`).
    fn arrives_at(&self, proto: str0m::net::Protocol) -> SocketAddr {
        match (proto, self.tcp.get()) {
            (str0m::net::Protocol::Tcp, Some(tcp)) => {
                SocketAddr::new(self.receive_at.ip(), tcp.local.port())
            }
            _ => self.receive_at,
        }
    }

    /// Sends one of a session's packets the way it came: on the shared UDP socket, or
    /// on the peer's TCP connection.
    pub(crate) fn transmit(&self, t: &str0m::net::Transmit) {
        match (t.proto, self.tcp.get()) {
            (str0m::net::Protocol::Udp, _) => self.send(&t.contents, t.destination),
            (_, Some(tcp)) => tcp.send(&t.contents, t.destination),
            (_, None) => metrics::counter!("webrtc_datagrams_unsent_total").increment(1),
        }
    }

    fn routes(&self) -> std::sync::MutexGuard<'_, Routes> {
        lock(&self.routes)
    }

    /// Peers now.
    pub fn peers(&self) -> usize {
        self.routes().stops.len()
    }

    /// The host candidates of this node: each advertised address at the UDP socket's
    /// port, and at the TCP listener's when it serves one.
    fn candidates(&self) -> Candidates {
        let at = |port: u16| {
            self.config
                .candidates
                .iter()
                .map(|ip| SocketAddr::new(*ip, port))
                .collect()
        };
        Candidates {
            udp: at(self.local.port()),
            tcp: self
                .tcp
                .get()
                .map(|t| at(t.local.port()))
                .unwrap_or_default(),
        }
    }

    /// Ends the session named `name` in its URL (its `DELETE`); whether there was one.
    pub fn close(&self, name: &str) -> bool {
        let routes = self.routes();
        match routes.names.get(name).and_then(|s| routes.stops.get(s)) {
            Some(stop) => {
                let _ = stop.send(true);
                true
            }
            None => false,
        }
    }

    /// Registers a new peer's routes, URL name and stop signal.
    fn register(&self, ufrag: &str, name: &str) -> Result<Registered, OfferError> {
        let mut routes = self.routes();
        if routes.stops.len() >= self.config.max_peers {
            return Err(OfferError::Full);
        }
        let session = self.next_session.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(PEER_QUEUE);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        routes
            .by_ufrag
            .insert(ufrag.to_owned(), Route { session, tx });
        routes.ufrags.insert(session, ufrag.to_owned());
        routes.stops.insert(session, stop_tx);
        routes.names.insert(name.to_owned(), session);
        metrics::gauge!("webrtc_peers").increment(1.0);
        Ok(Registered {
            session,
            datagrams: rx,
            stop: stop_rx,
        })
    }

    /// Forgets session `session`'s routes.
    fn unregister(&self, session: u64) {
        let mut routes = self.routes();
        if let Some(ufrag) = routes.ufrags.remove(&session) {
            routes.by_ufrag.remove(&ufrag);
        }
        routes.by_addr.retain(|_, r| r.session != session);
        routes.names.retain(|_, s| *s != session);
        if routes.stops.remove(&session).is_some() {
            metrics::gauge!("webrtc_peers").decrement(1.0);
        }
    }

    /// The session a TCP connection's first packet names (a STUN binding request).
    fn route_tcp(&self, packet: &[u8]) -> Option<Route> {
        let ufrag = route::stun_ufrag(packet)?;
        self.routes().by_ufrag.get(ufrag).cloned()
    }

    /// The peer `datagram` from `source` is for.
    fn route(&self, source: SocketAddr, datagram: &[u8]) -> Option<Route> {
        let mut routes = self.routes();
        if let Some(ufrag) = route::stun_ufrag(datagram) {
            let found = routes.by_ufrag.get(ufrag).cloned()?;
            routes.by_addr.insert(source, found.clone());
            return Some(found);
        }
        routes.by_addr.get(&source).cloned()
    }
}

/// Locks `m`, whatever a panic elsewhere left in it (the tables stay usable).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A registered peer's session number, datagrams and stop signal.
struct Registered {
    session: u64,
    datagrams: mpsc::Receiver<Datagram>,
    stop: tokio::sync::watch::Receiver<bool>,
}

/// Sends what the socket could not take at once, waiting for it to drain; clears the
/// flag once nothing is left.
async fn write_backlog(
    socket: Arc<UdpSocket>,
    mut backlog: mpsc::Receiver<(Vec<u8>, SocketAddr)>,
    backlogged: Arc<std::sync::atomic::AtomicBool>,
) {
    while let Some((datagram, to)) = backlog.recv().await {
        if socket.send_to(&datagram, to).await.is_err() {
            metrics::counter!("webrtc_datagrams_unsent_total").increment(1);
        }
        if backlog.is_empty() {
            backlogged.store(false, Ordering::Relaxed);
        }
    }
}

/// Reads the shared socket and hands each datagram to its peer, until the server goes.
async fn read_socket(server: std::sync::Weak<WebRtc>, socket: Arc<UdpSocket>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, source) = match socket.recv_from(&mut buf).await {
            Ok(read) => read,
            Err(e) => {
                // ICMP errors from a peer that went away surface here; keep reading.
                tracing::debug!("webrtc socket: {e}");
                continue;
            }
        };
        let Some(server) = server.upgrade() else {
            return;
        };
        let datagram = &buf[..n];
        match server.route(source, datagram) {
            Some(route) => {
                let d = Datagram {
                    proto: str0m::net::Protocol::Udp,
                    source,
                    at: std::time::Instant::now(),
                    data: datagram.to_vec(),
                };
                if route.tx.try_send(d).is_err() {
                    metrics::counter!("webrtc_datagrams_dropped_total", "reason" => "queue")
                        .increment(1);
                }
            }
            None => {
                metrics::counter!("webrtc_datagrams_dropped_total", "reason" => "unknown")
                    .increment(1);
            }
        }
    }
}
