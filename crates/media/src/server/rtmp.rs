//! The RTMP server: the tokio layer around [`ServerSession`]. It moves bytes between a
//! socket and the session, asks [`PublishAuth`] about publishers, hands their frames to
//! the hub, and writes the hub's frames to players.
//!
//! Players run the viewer loop (`server::viewer`) with RTMP framing: per player and
//! frame it writes the frame's shared chunk bytes (encoded once per frame for all
//! players); it never waits for a player on the publish path, since players read
//! from their own bounded queue in their own task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::auth::{PublishAuth, PublishRefusal};
use super::signed_play::PlaySigning;
use super::viewer::{Ended, IoSink, Peer, RtmpChunks, Sink, Viewer};
use crate::hub::{Hub, HubError, Protocol, Publisher, StopReason, Subscription};
use crate::rtmp::reply::StatusCode;
use crate::rtmp::session::{Event, ServerSession, SessionConfig};

/// Settings of the RTMP server.
#[derive(Debug, Clone)]
pub struct RtmpConfig {
    /// The application name in `rtmp://host/{app}/{key}`.
    pub app: String,
    /// Caps on simultaneous connections, in all and per client address; more are
    /// closed at once (RTMP has no way to say why before its handshake).
    pub connections: kit::conn_limits::ConnCaps,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// A publisher that sends no media for this long is disconnected.
    pub media_timeout: Duration,
    /// A player whose socket takes this long to accept a write is disconnected.
    pub write_timeout: Duration,
    /// When set, `play` needs a signed name (`{room}?expires=…&sign=…`).
    pub play_signing: Option<PlaySigning>,
    /// After writing to a player, wait this long before writing again, so that the
    /// frames of that time go out in one write: fewer wake-ups and system calls per
    /// viewer, for at most this much added delay. Zero writes every frame at once.
    pub flush_interval: Duration,
}

impl Default for RtmpConfig {
    fn default() -> Self {
        Self {
            app: "live".into(),
            connections: kit::conn_limits::ConnCaps {
                max_total: 10_000,
                max_per_address: 500,
                exempt: Vec::new(),
            },
            idle_timeout: Duration::from_secs(60),
            media_timeout: Duration::from_secs(15),
            write_timeout: Duration::from_secs(10),
            play_signing: None,
            flush_interval: super::DEFAULT_VIEWER_FLUSH,
        }
    }
}

/// Accepts RTMP connections on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    hub: Arc<Hub>,
    auth: Arc<dyn PublishAuth>,
    config: RtmpConfig,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let limits = kit::conn_limits::ConnLimits::new("rtmp", config.connections.clone());
    let config = Arc::new(config);
    kit::net::accept_until(&listener, "rtmp", shutdown, |socket, peer| {
        let Ok(permit) = limits.try_acquire(peer.ip()) else {
            metrics::counter!("media_connections_refused_total").increment(1);
            drop(socket);
            return;
        };
        let _ = socket.set_nodelay(true);
        let (hub, auth, config) = (hub.clone(), auth.clone(), config.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let mut conn = Connection::new(hub, auth, config, peer);
            match conn.run(socket).await {
                Ok(()) => tracing::debug!(%peer, "rtmp connection closed"),
                Err(e) => tracing::info!(%peer, "rtmp connection closed: {e}"),
            }
        });
    })
    .await;
}

/// One client connection, publisher or player.
struct Connection {
    hub: Arc<Hub>,
    auth: Arc<dyn PublishAuth>,
    config: Arc<RtmpConfig>,
    peer: SocketAddr,
    session: ServerSession,
    publisher: Option<(u32, Publisher)>,
    /// A play accepted and not started yet: the main loop hands it to the viewer loop.
    player: Option<(u32, Subscription)>,
    /// The message stream played while the viewer loop runs.
    playing: Option<u32>,
    last_media: Instant,
    closing: bool,
}

impl Connection {
    fn new(
        hub: Arc<Hub>,
        auth: Arc<dyn PublishAuth>,
        config: Arc<RtmpConfig>,
        peer: SocketAddr,
    ) -> Self {
        Self {
            hub,
            auth,
            config,
            peer,
            session: ServerSession::new(SessionConfig::default()),
            publisher: None,
            player: None,
            playing: None,
            last_media: Instant::now(),
            closing: false,
        }
    }

    async fn run(&mut self, socket: TcpStream) -> Result<(), String> {
        let (mut rd, mut wr) = socket.into_split();
        // Players send next to nothing after the handshake, and there are thousands of
        // them: a small read buffer, which grows for a publisher.
        let mut buf = BytesMut::with_capacity(512);
        let result = loop {
            if let Err(e) = self.process_events().await {
                break Err(e);
            }
            if let Err(e) = self.flush(&mut wr).await {
                break Err(e);
            }
            if self.closing {
                break Ok(());
            }
            if let Some((stream_id, sub)) = self.player.take() {
                match self.play(stream_id, sub, &mut rd, &mut wr, &mut buf).await {
                    Ok(()) => continue,
                    Err(e) => break Err(e),
                }
            }
            let media_deadline = self.last_media + self.config.media_timeout;
            let publishing = self.publisher.is_some();
            self.make_room(&mut buf);
            tokio::select! {
                read = self.read(&mut rd, &mut buf) => match read {
                    Err(e) => break Err(e),
                    Ok(false) => break Ok(()),
                    Ok(true) => {
                        if let Err(e) = self.handle_input(&mut buf) {
                            break Err(e);
                        }
                    }
                },
                _ = tokio::time::sleep_until(media_deadline), if publishing => {
                    break Err("no media from the publisher".into());
                }
                why = told_to_hang_up(&self.publisher), if publishing => {
                    break Err(why.into());
                }
            }
        };
        if let Some((_, mut p)) = self.publisher.take() {
            if let Err(e) = &result {
                p.set_stop_reason(StopReason::Disconnected(e.clone()));
            }
        }
        result
    }

    /// Plays `sub` on message stream `stream_id` through the viewer loop, which also
    /// reads what the client sends and answers it, until the client closes the stream,
    /// the stream ends (then the player is told and the connection closes) or the
    /// connection fails.
    async fn play(
        &mut self,
        stream_id: u32,
        mut sub: Subscription,
        rd: &mut OwnedReadHalf,
        wr: &mut OwnedWriteHalf,
        buf: &mut BytesMut,
    ) -> Result<(), String> {
        let sink = IoSink {
            io: wr,
            timeout: self.config.write_timeout,
        };
        let framing = RtmpChunks { stream_id };
        let mut viewer = Viewer::new(framing, sink, self.config.flush_interval, "rtmp");
        self.playing = Some(stream_id);
        let ended = viewer
            .run(
                &mut sub,
                &mut Playing {
                    conn: self,
                    rd,
                    buf,
                },
            )
            .await;
        self.playing = None;
        match ended {
            Ended::StreamOver => {
                let _ = self.session.notify_unpublished(stream_id);
                self.closing = true;
                Ok(())
            }
            Ended::Left => Ok(()),
            Ended::WriteFailed(e) => Err(write_error(e)),
            Ended::Peer(e) => Err(e),
        }
    }

    /// Grows the read buffer when it is nearly full: by a little for a player, by a
    /// lot for a publisher.
    fn make_room(&self, buf: &mut BytesMut) {
        let room = buf.capacity() - buf.len();
        if self.publisher.is_some() && room < 4096 {
            buf.reserve(16 * 1024);
        } else if room < 256 {
            buf.reserve(512);
        }
    }

    /// Reads what the client sent into `buf`; `Ok(false)` when it closed the connection.
    async fn read(&self, rd: &mut OwnedReadHalf, buf: &mut BytesMut) -> Result<bool, String> {
        match tokio::time::timeout(self.config.idle_timeout, rd.read_buf(buf)).await {
            Err(_) => Err("idle timeout".into()),
            Ok(Err(e)) => Err(format!("read failed: {e}")),
            Ok(Ok(0)) => Ok(false),
            Ok(Ok(_)) => Ok(true),
        }
    }

    /// Hands what was read to the session.
    fn handle_input(&mut self, buf: &mut BytesMut) -> Result<(), String> {
        let input = buf.split().freeze();
        self.session.handle_input(&input).map_err(|e| {
            metrics::counter!("media_protocol_errors_total").increment(1);
            format!("protocol error: {e}")
        })
    }

    async fn flush(&mut self, wr: &mut OwnedWriteHalf) -> Result<(), String> {
        while let Some(out) = self.session.poll_output() {
            self.write(wr, &out).await?;
        }
        Ok(())
    }

    async fn write(&self, wr: &mut OwnedWriteHalf, bytes: &[u8]) -> Result<(), String> {
        match tokio::time::timeout(self.config.write_timeout, wr.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write failed: {e}")),
            Err(_) => Err("write timeout".into()),
        }
    }

    async fn process_events(&mut self) -> Result<(), String> {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::ConnectRequested { app, .. } => {
                    if app != self.config.app {
                        tracing::info!(peer = %self.peer, %app, "rtmp connect to an unknown app");
                        self.closing = true;
                    }
                }
                Event::PublishRequested {
                    stream_id,
                    app,
                    key,
                } => self.on_publish(stream_id, &app, &key).await?,
                Event::PlayRequested {
                    stream_id, name, ..
                } => self.on_play(stream_id, &name).await?,
                Event::Frame(frame) => {
                    if let Some((_, p)) = &self.publisher {
                        self.last_media = Instant::now();
                        p.push(frame);
                    }
                }
                Event::Unpublished { stream_id } => {
                    if matches!(&self.publisher, Some((id, _)) if *id == stream_id) {
                        if let Some((_, mut p)) = self.publisher.take() {
                            p.set_stop_reason(StopReason::Unpublished);
                        }
                    }
                }
                Event::Closed { stream_id } => {
                    if matches!(&self.player, Some((id, _)) if *id == stream_id) {
                        self.player = None;
                    }
                    if self.playing == Some(stream_id) {
                        self.playing = None;
                    }
                }
            }
        }
        Ok(())
    }

    async fn on_publish(&mut self, stream_id: u32, app: &str, key: &str) -> Result<(), String> {
        let key = key.split('?').next().unwrap_or_default();
        if self.publisher.is_some() || self.is_playing() {
            return self.refuse_publish(
                stream_id,
                "already_busy",
                "this connection is already in use",
            );
        }
        let room = match self.auth.authorize(app, key).await {
            Ok(room) => room,
            Err(refusal) => {
                let reason = match &refusal {
                    PublishRefusal::UnknownKey => "unknown_key",
                    PublishRefusal::Banned => "banned",
                    PublishRefusal::Unavailable(_) => "unavailable",
                };
                return self.refuse_publish(stream_id, reason, &refusal.to_string());
            }
        };
        match self.hub.publish(&room) {
            Ok(publisher) => {
                self.session
                    .accept_publish(stream_id)
                    .map_err(|e| e.to_string())?;
                tracing::info!(peer = %self.peer, %room, "publishing");
                self.last_media = Instant::now();
                self.publisher = Some((stream_id, publisher));
                Ok(())
            }
            Err(HubError::AlreadyPublishing(_)) => self.refuse_publish(
                stream_id,
                "already_live",
                "this room already has a publisher",
            ),
        }
    }

    /// Whether a play was accepted on this connection and has not been closed.
    fn is_playing(&self) -> bool {
        self.player.is_some() || self.playing.is_some()
    }

    fn refuse_publish(
        &mut self,
        stream_id: u32,
        reason: &'static str,
        text: &str,
    ) -> Result<(), String> {
        metrics::counter!("media_publish_failures_total", "reason" => reason).increment(1);
        tracing::info!(peer = %self.peer, reason, "publish refused");
        self.session
            .reject_publish(stream_id, text)
            .map_err(|e| e.to_string())?;
        self.closing = true;
        Ok(())
    }

    async fn on_play(&mut self, stream_id: u32, name: &str) -> Result<(), String> {
        let (room, query) = name.split_once('?').unwrap_or((name, ""));
        if self.is_playing() || self.publisher.is_some() {
            self.closing = true;
            return Ok(());
        }
        if let Some(signing) = &self.config.play_signing {
            let now = kit::time::now_secs();
            if let Err(refusal) = signing.check(room, query, now) {
                metrics::counter!("media_play_refused_total").increment(1);
                self.session
                    .reject_play(stream_id, StatusCode::PlayFailed, &refusal.to_string())
                    .map_err(|e| e.to_string())?;
                self.closing = true;
                return Ok(());
            }
        }
        // Another node's pull: a player, but its viewers are counted where they watch.
        let protocol = if query.split('&').any(|p| p == crate::hub::pull::RELAY_MARK) {
            Protocol::Relay
        } else {
            Protocol::Rtmp
        };
        match self
            .hub
            .subscribe_or_pull(room, protocol, Some(self.peer.ip()))
            .await
        {
            Some(sub) => {
                self.session
                    .accept_play(stream_id)
                    .map_err(|e| e.to_string())?;
                self.player = Some((stream_id, sub));
            }
            None => {
                self.session
                    .reject_play(
                        stream_id,
                        StatusCode::PlayStreamNotFound,
                        "this stream is not live",
                    )
                    .map_err(|e| e.to_string())?;
                self.closing = true;
            }
        }
        Ok(())
    }
}

/// Resolves when the publisher must hang up (an operator cut its stream, or a newer
/// publisher took it over), with why.
async fn told_to_hang_up(publisher: &Option<(u32, Publisher)>) -> &'static str {
    let Some((_, p)) = publisher else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = p.stream().cut_requested() => "the stream was cut by an operator",
        _ = p.superseded() => "a newer publisher took the stream over",
    }
}

/// The client of a connection in the viewer loop: reads it, hands the input to the
/// session and writes the session's answers through the viewer's sink.
struct Playing<'a> {
    conn: &'a mut Connection,
    rd: &'a mut OwnedReadHalf,
    buf: &'a mut BytesMut,
}

impl<W: AsyncWrite + Unpin> Peer<IoSink<W>> for Playing<'_> {
    type Error = String;

    async fn listen(&mut self, _sink: &mut IoSink<W>) -> Result<bool, String> {
        self.conn.make_room(self.buf);
        let more = self.conn.read(self.rd, self.buf).await?;
        if !more {
            self.conn.closing = true;
        }
        Ok(more)
    }

    async fn act(&mut self, sink: &mut IoSink<W>) -> Result<bool, String> {
        self.conn.handle_input(self.buf)?;
        self.conn.process_events().await?;
        while let Some(out) = self.conn.session.poll_output() {
            sink.write(&[out]).await.map_err(write_error)?;
        }
        Ok(!self.conn.closing && self.conn.playing.is_some())
    }
}

fn write_error(e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::TimedOut {
        "write timeout".into()
    } else {
        format!("write failed: {e}")
    }
}
