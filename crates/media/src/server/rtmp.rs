//! The RTMP server: the tokio layer around [`ServerSession`]. It moves bytes between a
//! socket and the session, asks [`PublishAuth`] about publishers, hands their frames to
//! the hub, and writes the hub's frames to players.
//!
//! Per player and frame it writes the frame's shared chunk bytes (encoded once per frame
//! for all players); it never waits for a player on the publish path, since players read
//! from their own bounded queue in their own task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::auth::{PublishAuth, PublishRefusal};
use super::signed_play::PlaySigning;
use crate::hub::{Hub, HubError, Protocol, Publisher, StopReason, Subscription};
use crate::rtmp::play::{encode_frame_for, PLAY_STREAM_ID};
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
    player: Option<(u32, Subscription)>,
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
            let media_deadline = self.last_media + self.config.media_timeout;
            let publishing = self.publisher.is_some();
            let room = buf.capacity() - buf.len();
            if publishing && room < 4096 {
                buf.reserve(16 * 1024);
            } else if room < 256 {
                buf.reserve(512);
            }
            tokio::select! {
                read = tokio::time::timeout(self.config.idle_timeout, rd.read_buf(&mut buf)) => {
                    match read {
                        Err(_) => break Err("idle timeout".into()),
                        Ok(Err(e)) => break Err(format!("read failed: {e}")),
                        Ok(Ok(0)) => break Ok(()),
                        Ok(Ok(_)) => {
                            let input = buf.split().freeze();
                            if let Err(e) = self.session.handle_input(&input) {
                                metrics::counter!("media_protocol_errors_total").increment(1);
                                break Err(format!("protocol error: {e}"));
                            }
                        }
                    }
                }
                _ = tokio::time::sleep_until(media_deadline), if publishing => {
                    break Err("no media from the publisher".into());
                }
                _ = cut(&self.publisher), if publishing => {
                    break Err("the stream was cut by an operator".into());
                }
                packet = recv(&mut self.player) => match packet {
                    Some(first) => {
                        if let Err(e) = self.play(&mut wr, first).await {
                            break Err(e);
                        }
                    }
                    None => {
                        // The stream ended: tell the player, then hang up.
                        if let Some((id, _)) = self.player.take() {
                            let _ = self.session.notify_unpublished(id);
                        }
                        self.closing = true;
                    }
                },
            }
        };
        if let Some((_, mut p)) = self.publisher.take() {
            if let Err(e) = &result {
                p.set_stop_reason(StopReason::Disconnected(e.clone()));
            }
        }
        result
    }

    async fn flush(&mut self, wr: &mut tokio::net::tcp::OwnedWriteHalf) -> Result<(), String> {
        while let Some(out) = self.session.poll_output() {
            self.write(wr, &out).await?;
        }
        Ok(())
    }

    async fn write(
        &self,
        wr: &mut tokio::net::tcp::OwnedWriteHalf,
        bytes: &[u8],
    ) -> Result<(), String> {
        match tokio::time::timeout(self.config.write_timeout, wr.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write failed: {e}")),
            Err(_) => Err("write timeout".into()),
        }
    }

    async fn write_parts(
        &self,
        wr: &mut tokio::net::tcp::OwnedWriteHalf,
        parts: &[Bytes],
    ) -> Result<(), String> {
        super::write_parts(wr, parts, self.config.write_timeout)
            .await
            .map_err(|e| format!("write failed: {e}"))
    }

    /// Writes `first` and whatever else is already queued for the player in one write,
    /// then rests for the flush interval (see [`RtmpConfig::flush_interval`]).
    async fn play(
        &mut self,
        wr: &mut tokio::net::tcp::OwnedWriteHalf,
        first: Arc<crate::hub::Packet>,
    ) -> Result<(), String> {
        let Some((stream_id, _)) = &self.player else {
            return Ok(());
        };
        let stream_id = *stream_id;
        let mut parts: Vec<Bytes> = Vec::new();
        let mut next = Some(first);
        while let Some(packet) = next {
            parts.push(if stream_id == PLAY_STREAM_ID {
                packet.rtmp_chunks().clone()
            } else {
                encode_frame_for(&packet.frame, stream_id).unwrap_or_default()
            });
            next = self
                .player
                .as_mut()
                .and_then(|(_, sub)| sub.rx.try_recv().ok());
        }
        let len: usize = parts.iter().map(Bytes::len).sum();
        self.write_parts(wr, &parts).await?;
        metrics::counter!("media_bytes_out_total", "protocol" => "rtmp").increment(len as u64);
        super::rest(self.config.flush_interval).await;
        Ok(())
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
                } => self.on_play(stream_id, &name)?,
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
                }
            }
        }
        Ok(())
    }

    async fn on_publish(&mut self, stream_id: u32, app: &str, key: &str) -> Result<(), String> {
        let key = key.split('?').next().unwrap_or_default();
        if self.publisher.is_some() || self.player.is_some() {
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

    fn on_play(&mut self, stream_id: u32, name: &str) -> Result<(), String> {
        let (room, query) = name.split_once('?').unwrap_or((name, ""));
        if self.player.is_some() || self.publisher.is_some() {
            self.closing = true;
            return Ok(());
        }
        if let Some(signing) = &self.config.play_signing {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            if let Err(refusal) = signing.check(room, query, now) {
                metrics::counter!("media_play_refused_total").increment(1);
                self.session
                    .reject_play(stream_id, StatusCode::PlayFailed, &refusal.to_string())
                    .map_err(|e| e.to_string())?;
                self.closing = true;
                return Ok(());
            }
        }
        match self
            .hub
            .subscribe_from(room, Protocol::Rtmp, Some(self.peer.ip()))
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

/// The next frame for the player, or pending forever when not playing.
/// Resolves when the publisher's stream is cut.
async fn cut(publisher: &Option<(u32, Publisher)>) {
    match publisher {
        Some((_, p)) => p.stream().cut_requested().await,
        None => std::future::pending().await,
    }
}

async fn recv(player: &mut Option<(u32, Subscription)>) -> Option<Arc<crate::hub::Packet>> {
    match player {
        Some((_, sub)) => sub.rx.recv().await,
        None => std::future::pending().await,
    }
}
