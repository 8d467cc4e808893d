//! RTMP publishers and players over tokio, for tests and the bench.
//!
//! [`RtmpConnection`] moves bytes between a `TcpStream` and a
//! [`ClientSession`]; [`RtmpPublisher`] and [`RtmpPlayer`] wrap it for the two jobs,
//! and [`publish_frames`] and [`play`] are the one-call forms:
//!
//! ```no_run
//! # async fn demo(frames: Vec<media::frame::Frame>) -> Result<(), media::client::rtmp::ClientIoError> {
//! use media::client::rtmp::{play, publish_frames};
//!
//! let addr = "127.0.0.1:1935";
//! let mut player = play(addr, "live", "42").await?;
//! tokio::spawn(publish_frames(addr, "live", "secret-key", frames, true));
//! while let Some(frame) = player.next_frame().await? {
//!     println!("{:?} at {} ms", frame.kind, frame.timestamp);
//! }
//! # Ok(()) }
//! ```
//!
//! No task is spawned and nothing is buffered beyond one read: a player that is not
//! asked for its next frame does not read its socket, which is how tests make a viewer
//! fall behind. Per frame, a player costs one socket read (often several frames per
//! read) and the session's decoding; a publisher costs one encode and one write.
//!
//! There are no timeouts here: callers that must not hang wrap calls in
//! `tokio::time::timeout`.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::time::Instant;

use crate::frame::Frame;
use crate::rtmp::client::{ClientError, ClientEvent, ClientSession};

/// How much one socket read may take.
const READ_BUFFER: usize = 64 * 1024;

/// Why a client connection failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientIoError {
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// The server broke the protocol.
    #[error("protocol: {0}")]
    Protocol(#[from] ClientError),
    /// The server refused to connect, publish or play, with this status.
    #[error("refused: {code} ({description})")]
    Refused {
        /// For example `NetStream.Publish.BadName`.
        code: String,
        /// The server's explanation.
        description: String,
    },
    /// The server closed the connection before publishing or playing started.
    #[error("the server closed the connection")]
    Closed,
}

/// One RTMP client connection: a socket and the session that speaks on it.
#[derive(Debug)]
pub struct RtmpConnection {
    socket: TcpStream,
    session: ClientSession,
    buf: BytesMut,
}

impl RtmpConnection {
    /// Connects to `addr` (with `TCP_NODELAY`, as encoders do) for `session`.
    pub async fn connect(
        addr: impl ToSocketAddrs,
        session: ClientSession,
    ) -> Result<Self, ClientIoError> {
        let socket = TcpStream::connect(addr).await?;
        socket.set_nodelay(true)?;
        Ok(Self::over(socket, session))
    }

    /// Speaks `session` over a socket the caller connected (for example with a small
    /// receive buffer, to make a slow viewer).
    pub fn over(socket: TcpStream, session: ClientSession) -> Self {
        RtmpConnection {
            socket,
            session,
            buf: BytesMut::with_capacity(READ_BUFFER),
        }
    }

    /// The session, for its state.
    pub fn session(&self) -> &ClientSession {
        &self.session
    }

    /// The session, to queue frames or finish; [`flush`](Self::flush) afterwards.
    pub fn session_mut(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    /// Writes everything the session has queued.
    pub async fn flush(&mut self) -> Result<(), ClientIoError> {
        while let Some(bytes) = self.session.poll_output() {
            self.socket.write_all(&bytes).await?;
        }
        Ok(())
    }

    /// The next event, reading (and writing what the session answers) as needed;
    /// `None` once the server closed the connection.
    pub async fn next_event(&mut self) -> Result<Option<ClientEvent>, ClientIoError> {
        loop {
            self.flush().await?;
            if let Some(event) = self.session.poll_event() {
                return Ok(Some(event));
            }
            if !self.read().await? {
                return Ok(None);
            }
        }
    }

    /// Reads once and hands the bytes to the session; `false` at end of stream.
    async fn read(&mut self) -> Result<bool, ClientIoError> {
        self.buf.clear();
        if self.socket.read_buf(&mut self.buf).await? == 0 {
            return Ok(false);
        }
        self.session.handle_input(&self.buf)?;
        Ok(true)
    }

    /// Handles whatever the server sent without waiting for more; `false` if the
    /// server closed the connection.
    fn read_ready(&mut self) -> Result<bool, ClientIoError> {
        loop {
            self.buf.clear();
            match self.socket.try_read_buf(&mut self.buf) {
                Ok(0) => return Ok(false),
                Ok(_) => self.session.handle_input(&self.buf)?,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Waits for `NetStream.Publish.Start` or `NetStream.Play.Start`.
    async fn started(&mut self) -> Result<(), ClientIoError> {
        loop {
            match self.next_event().await? {
                Some(ClientEvent::PublishStarted | ClientEvent::PlayStarted) => return Ok(()),
                Some(ClientEvent::Status { code, description }) if self.session.is_over() => {
                    return Err(ClientIoError::Refused { code, description })
                }
                Some(_) => {}
                None => return Err(ClientIoError::Closed),
            }
        }
    }
}

/// The `tcUrl` encoders send: the URL up to the application.
fn tc_url(socket: &TcpStream, app: &str) -> Result<String, ClientIoError> {
    Ok(format!("rtmp://{}/{app}", socket.peer_addr()?))
}

/// A publisher whose publish the server accepted.
#[derive(Debug)]
pub struct RtmpPublisher {
    conn: RtmpConnection,
    /// When the first paced frame was sent, and its timestamp.
    clock: Option<(Instant, u32)>,
    frames_sent: u64,
    bytes_sent: u64,
}

impl RtmpPublisher {
    /// Connects to `addr` and publishes `key` in application `app`; fails with
    /// [`ClientIoError::Refused`] when the server says no.
    pub async fn connect(
        addr: impl ToSocketAddrs,
        app: &str,
        key: &str,
    ) -> Result<Self, ClientIoError> {
        let socket = TcpStream::connect(addr).await?;
        socket.set_nodelay(true)?;
        Self::over(socket, app, key).await
    }

    /// Publishes over a socket the caller connected.
    pub async fn over(socket: TcpStream, app: &str, key: &str) -> Result<Self, ClientIoError> {
        let session = ClientSession::publisher(app, &tc_url(&socket, app)?, key);
        let mut conn = RtmpConnection::over(socket, session);
        conn.started().await?;
        Ok(RtmpPublisher {
            conn,
            clock: None,
            frames_sent: 0,
            bytes_sent: 0,
        })
    }

    /// Sends one frame as fast as the socket takes it.
    pub async fn send(&mut self, frame: &Frame) -> Result<(), ClientIoError> {
        self.conn.session.send_frame(frame)?;
        self.conn.flush().await?;
        self.frames_sent += 1;
        self.bytes_sent += frame.payload.len() as u64;
        // Take in acknowledgements and pings as they come, without waiting for them.
        if !self.conn.read_ready()? {
            return Err(ClientIoError::Closed);
        }
        self.conn.flush().await
    }

    /// Sends one frame when its timestamp comes due, like a live encoder: the first
    /// paced frame goes at once and sets the clock, later ones wait until as many
    /// milliseconds have passed as their timestamps say. A looping publisher keeps its
    /// timestamps increasing across loops and stays in real time.
    pub async fn send_paced(&mut self, frame: &Frame) -> Result<(), ClientIoError> {
        self.until_due(frame).await?;
        self.send(frame).await
    }

    /// Waits until `frame` is due by [`RtmpPublisher::send_paced`]'s clock (reading
    /// what the server says meanwhile), without sending it.
    pub async fn until_due(&mut self, frame: &Frame) -> Result<(), ClientIoError> {
        let (start, base) = *self
            .clock
            .get_or_insert_with(|| (Instant::now(), frame.timestamp));
        // Audio may trail video by a few milliseconds: never wait for negative time.
        let offset = (frame.timestamp.wrapping_sub(base) as i32).max(0) as u64;
        let due = start + Duration::from_millis(offset);
        while Instant::now() < due {
            tokio::select! {
                _ = tokio::time::sleep_until(due) => break,
                read = self.conn.read() => {
                    if !read? {
                        return Err(ClientIoError::Closed);
                    }
                    self.conn.flush().await?;
                }
            }
        }
        Ok(())
    }

    /// Sends `frames` in order, paced if `realtime`.
    pub async fn send_all(
        &mut self,
        frames: &[Frame],
        realtime: bool,
    ) -> Result<(), ClientIoError> {
        for frame in frames {
            if realtime {
                self.send_paced(frame).await?;
            } else {
                self.send(frame).await?;
            }
        }
        Ok(())
    }

    /// Frames sent so far.
    pub fn frames_sent(&self) -> u64 {
        self.frames_sent
    }

    /// Payload bytes sent so far.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    /// Stops publishing politely (`FCUnpublish`, `deleteStream`) and closes the
    /// connection. Dropping the publisher instead is an abrupt disconnect, which a
    /// server treats as a network failure.
    pub async fn finish(mut self) -> Result<(), ClientIoError> {
        self.conn.session.finish()?;
        self.conn.flush().await?;
        self.conn.socket.shutdown().await?;
        Ok(())
    }
}

/// What [`publish_frames`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishReport {
    /// Frames sent.
    pub frames: u64,
    /// Payload bytes sent.
    pub bytes: u64,
    /// From the accepted publish to the last frame written.
    pub elapsed: Duration,
}

/// Publishes `frames` to `rtmp://{addr}/{app}/{key}`, in real time if `realtime` (each
/// frame when its timestamp comes due) or as fast as the socket takes them, then stops
/// publishing politely.
pub async fn publish_frames(
    addr: impl ToSocketAddrs,
    app: &str,
    key: &str,
    frames: Vec<Frame>,
    realtime: bool,
) -> Result<PublishReport, ClientIoError> {
    let mut publisher = RtmpPublisher::connect(addr, app, key).await?;
    let started = Instant::now();
    publisher.send_all(&frames, realtime).await?;
    let report = PublishReport {
        frames: publisher.frames_sent(),
        bytes: publisher.bytes_sent(),
        elapsed: started.elapsed(),
    };
    publisher.finish().await?;
    Ok(report)
}

/// A player whose play the server accepted.
#[derive(Debug)]
pub struct RtmpPlayer {
    conn: RtmpConnection,
    ended: bool,
}

impl RtmpPlayer {
    /// Connects to `addr` and plays `name` in application `app`; fails with
    /// [`ClientIoError::Refused`] when the server says no (a stream that is not live
    /// is `NetStream.Play.StreamNotFound`).
    pub async fn connect(
        addr: impl ToSocketAddrs,
        app: &str,
        name: &str,
    ) -> Result<Self, ClientIoError> {
        let socket = TcpStream::connect(addr).await?;
        socket.set_nodelay(true)?;
        Self::over(socket, app, name).await
    }

    /// Plays over a socket the caller connected.
    pub async fn over(socket: TcpStream, app: &str, name: &str) -> Result<Self, ClientIoError> {
        let session = ClientSession::player(app, &tc_url(&socket, app)?, name);
        let mut conn = RtmpConnection::over(socket, session);
        conn.started().await?;
        Ok(RtmpPlayer { conn, ended: false })
    }

    /// The next frame; `None` once the stream ended or the server closed the
    /// connection.
    pub async fn next_frame(&mut self) -> Result<Option<Frame>, ClientIoError> {
        while !self.ended {
            match self.conn.next_event().await? {
                Some(ClientEvent::Frame(frame)) => return Ok(Some(frame)),
                Some(ClientEvent::StreamEnded) | None => self.ended = true,
                Some(other) => tracing::debug!(?other, "rtmp player event"),
            }
        }
        Ok(None)
    }

    /// Bytes received so far, handshake and protocol included.
    pub fn bytes_in(&self) -> u64 {
        self.conn.session.bytes_in()
    }

    /// The frames as a `Stream`, ending when the stream ends.
    pub fn into_stream(self) -> impl futures::Stream<Item = Result<Frame, ClientIoError>> {
        futures::stream::try_unfold(self, |mut player| async move {
            Ok(player.next_frame().await?.map(|frame| (frame, player)))
        })
    }
}

/// Plays `rtmp://{addr}/{app}/{name}`: the same as [`RtmpPlayer::connect`].
pub async fn play(
    addr: impl ToSocketAddrs,
    app: &str,
    name: &str,
) -> Result<RtmpPlayer, ClientIoError> {
    RtmpPlayer::connect(addr, app, name).await
}
