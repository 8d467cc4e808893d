//! The client side of one RTMP connection, as a state machine: a publisher that pushes
//! frames, or a player that receives them.
//!
//! It is the mirror of [`ServerSession`](crate::rtmp::ServerSession) and is driven the
//! same way: bytes from the socket go into [`ClientSession::handle_input`], bytes to
//! write come out of [`ClientSession::poll_output`], and what happened comes out of
//! [`ClientSession::poll_event`]. No socket, task or clock is inside; the tokio driver
//! is [`crate::client::rtmp`], and the unit tests drive a client against a server in
//! memory.
//!
//! The session walks the whole way by itself: handshake (C0+C1 is ready to write at
//! once), Set Chunk Size, `connect`, `createStream`, then `publish` or `play`. Along
//! the way it applies the server's chunk size, acknowledges the server's window and
//! answers pings. The application only waits for [`ClientEvent::PublishStarted`] and
//! then calls [`ClientSession::send_frame`], or for [`ClientEvent::PlayStarted`] and
//! then reads [`ClientEvent::Frame`]s.
//!
//! Cost per frame, which matters because the bench runs thousands of these: a player
//! pays the chunk decoder's copy of its input and nothing else (a frame in one chunk is
//! a slice of that buffer); a publisher pays one copy of the payload into the output
//! buffer, cut into chunks with compressed headers.
//!
//! Any error is fatal to the connection: close it.

mod command;
mod config;
mod event;
mod handshake;
mod reply;
#[cfg(test)]
mod tests;

pub use config::ClientConfig;
pub use event::ClientEvent;
pub use handshake::{ClientHandshake, ClientHandshakeError};
pub use reply::{Reply, ReplyError, Status};

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::aggregate;
use super::chunk::{ChunkDecoder, ChunkEncoder, ChunkError, Message};
use super::data::wrap_set_data_frame;
use super::message::{type_id, ControlError, ControlMessage, UserControl};
use super::play::csid_for;
use crate::amf0;
use crate::frame::{Frame, FrameKind};

/// Chunk stream for the client's commands.
const COMMAND_CSID: u32 = 3;

/// What the client is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Publish under this stream key.
    Publish {
        /// The stream key (`publish` argument).
        key: String,
    },
    /// Play this stream.
    Play {
        /// The stream name (`play` argument).
        name: String,
    },
}

/// Why the session cannot go on; close the connection.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server's handshake answer was not RTMP.
    #[error("handshake: {0}")]
    Handshake(#[from] ClientHandshakeError),
    /// The server's chunk stream broke a limit or the protocol.
    #[error("chunk stream: {0}")]
    Chunk(#[from] ChunkError),
    /// A protocol control message from the server was malformed.
    #[error("control message: {0}")]
    Control(#[from] ControlError),
    /// A command from the server was malformed.
    #[error("{0}")]
    Reply(#[from] ReplyError),
    /// The answer to `createStream` carried no usable stream id.
    #[error("the server's createStream answer carries no stream id")]
    NoStreamId,
    /// [`ClientSession::send_frame`] before `NetStream.Publish.Start`, after
    /// [`ClientSession::finish`], or on a player.
    #[error("frames can only be sent once publishing has started")]
    NotPublishing,
}

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// C0+C1 sent; waiting for S0+S1+S2.
    Handshake,
    /// `connect` sent.
    Connecting,
    /// `createStream` sent.
    CreatingStream,
    /// `publish` or `play` sent.
    Starting,
    /// Publishing or playing.
    Started,
    /// Refused, or finished by the application.
    Over,
}

/// One RTMP connection, client side.
#[derive(Debug)]
pub struct ClientSession {
    role: Role,
    app: String,
    tc_url: String,
    config: ClientConfig,
    phase: Phase,
    handshake: ClientHandshake,
    decoder: ChunkDecoder,
    encoder: ChunkEncoder,
    events: VecDeque<ClientEvent>,
    out: BytesMut,
    bytes_in: u64,
    acked_at: u64,
    /// Acknowledge every this many bytes: the server's window once it sent one.
    ack_window: u32,
    next_transaction: f64,
    connect_transaction: f64,
    create_stream_transaction: f64,
    /// The message stream from `createStream`; 0 until then.
    stream_id: u32,
}

impl ClientSession {
    /// A publisher for `rtmp://host/{app}/{key}`, with `tc_url` the URL up to the app
    /// (`rtmp://host:1935/live`), as encoders split it.
    pub fn publisher(app: &str, tc_url: &str, key: &str) -> Self {
        Self::new(
            Role::Publish { key: key.into() },
            app,
            tc_url,
            ClientConfig::default(),
        )
    }

    /// A player for `rtmp://host/{app}/{name}`.
    pub fn player(app: &str, tc_url: &str, name: &str) -> Self {
        Self::new(
            Role::Play { name: name.into() },
            app,
            tc_url,
            ClientConfig::default(),
        )
    }

    /// A session for `role` with settings of its own. C0+C1 are ready in
    /// [`poll_output`](Self::poll_output) at once: the client speaks first.
    pub fn new(role: Role, app: &str, tc_url: &str, config: ClientConfig) -> Self {
        let mut out = BytesMut::new();
        out.extend_from_slice(&ClientHandshake::hello());
        ClientSession {
            role,
            app: app.into(),
            tc_url: tc_url.into(),
            decoder: ChunkDecoder::new(config.limits),
            encoder: ChunkEncoder::new(),
            ack_window: config.window_ack_size,
            config,
            phase: Phase::Handshake,
            handshake: ClientHandshake::new(),
            events: VecDeque::new(),
            out,
            bytes_in: 0,
            acked_at: 0,
            next_transaction: 1.0,
            connect_transaction: 0.0,
            create_stream_transaction: 0.0,
            stream_id: 0,
        }
    }

    /// What this session is for.
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// Whether publishing or playing has started (and not been finished).
    pub fn is_started(&self) -> bool {
        self.phase == Phase::Started
    }

    /// Whether the session has nothing more to do: the server refused it (the last
    /// [`ClientEvent::Status`] says why) or the application [finished](Self::finish) it.
    pub fn is_over(&self) -> bool {
        self.phase == Phase::Over
    }

    /// The message stream `createStream` gave, once it did.
    pub fn stream_id(&self) -> Option<u32> {
        (self.stream_id != 0).then_some(self.stream_id)
    }

    /// Bytes received from the server so far, handshake included.
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    /// Takes bytes received from the server. Afterwards, drain
    /// [`poll_event`](Self::poll_event) and [`poll_output`](Self::poll_output).
    pub fn handle_input(&mut self, mut data: &[u8]) -> Result<(), ClientError> {
        self.bytes_in += data.len() as u64;
        if self.phase == Phase::Handshake {
            let Some(finished) = self.handshake.feed(data)? else {
                return Ok(());
            };
            self.out.extend_from_slice(&finished.c2);
            data = &data[finished.consumed..];
            self.connect()?;
        }
        self.decoder.push(data)?;
        while let Some(message) = self.decoder.poll()? {
            self.handle_message(message)?;
        }
        if self.bytes_in - self.acked_at >= u64::from(self.ack_window) {
            self.acked_at = self.bytes_in;
            // The sequence number is the byte count modulo 2^32, by the spec.
            let sequence = self.bytes_in as u32;
            self.send_control(ControlMessage::Acknowledgement { sequence })?;
        }
        Ok(())
    }

    /// The next thing the application should know.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// The next bytes to write to the server, in order.
    pub fn poll_output(&mut self) -> Option<Bytes> {
        (!self.out.is_empty()).then(|| self.out.split().freeze())
    }

    /// Queues one frame of a publisher whose publish has started. Script frames
    /// (`onMetaData`) are wrapped in `@setDataFrame`, as encoders send them, so the
    /// server keeps them for players that join later.
    pub fn send_frame(&mut self, frame: &Frame) -> Result<(), ClientError> {
        if self.phase != Phase::Started || !matches!(self.role, Role::Publish { .. }) {
            return Err(ClientError::NotPublishing);
        }
        let payload = match frame.kind {
            FrameKind::Script => wrap_set_data_frame(&frame.payload),
            FrameKind::Audio | FrameKind::Video => frame.payload.clone(),
        };
        self.send(Message {
            csid: csid_for(frame.kind),
            timestamp: frame.timestamp,
            type_id: frame.kind.type_id(),
            stream_id: self.stream_id,
            payload,
        })
    }

    /// Ends publishing (`FCUnpublish` and `deleteStream`) or playing (`deleteStream`)
    /// politely; close the connection once the output is written. Does nothing if the
    /// stream never started.
    pub fn finish(&mut self) -> Result<(), ClientError> {
        let started = matches!(self.phase, Phase::Starting | Phase::Started);
        self.phase = Phase::Over;
        if !started {
            return Ok(());
        }
        if let Role::Publish { key } = &self.role {
            let body = command::fc_unpublish(self.next_transaction, key);
            self.next_transaction += 1.0;
            self.send_command(0, body)?;
        }
        let body = command::delete_stream(self.take_transaction(), self.stream_id);
        self.send_command(0, body)
    }

    fn take_transaction(&mut self) -> f64 {
        let id = self.next_transaction;
        self.next_transaction += 1.0;
        id
    }

    fn send(&mut self, message: Message) -> Result<(), ClientError> {
        self.encoder.encode(&message, &mut self.out)?;
        Ok(())
    }

    fn send_control(&mut self, control: ControlMessage) -> Result<(), ClientError> {
        self.send(control.to_message())
    }

    fn send_command(&mut self, stream_id: u32, payload: Bytes) -> Result<(), ClientError> {
        self.send(Message {
            csid: COMMAND_CSID,
            timestamp: 0,
            type_id: type_id::COMMAND_AMF0,
            stream_id,
            payload,
        })
    }

    /// After the handshake: our chunk size, then `connect`.
    fn connect(&mut self) -> Result<(), ClientError> {
        self.send_control(ControlMessage::SetChunkSize(self.config.chunk_size))?;
        self.encoder.set_chunk_size(self.config.chunk_size)?;
        self.connect_transaction = self.take_transaction();
        let body = match self.role {
            Role::Publish { .. } => {
                command::connect_publisher(self.connect_transaction, &self.app, &self.tc_url)
            }
            Role::Play { .. } => {
                command::connect_player(self.connect_transaction, &self.app, &self.tc_url)
            }
        };
        self.send_command(0, body)?;
        self.phase = Phase::Connecting;
        Ok(())
    }

    fn handle_message(&mut self, message: Message) -> Result<(), ClientError> {
        if let Some(control) = ControlMessage::parse(message.type_id, &message.payload)? {
            return self.handle_control(control);
        }
        match message.type_id {
            type_id::AUDIO | type_id::VIDEO | type_id::DATA_AMF0 => {
                self.handle_media(
                    message.type_id,
                    message.timestamp,
                    message.stream_id,
                    message.payload,
                );
                Ok(())
            }
            type_id::COMMAND_AMF0 => self.handle_reply(&message.payload),
            // AMF3 commands: a format byte, then AMF0 in practice.
            type_id::COMMAND_AMF3 => {
                self.handle_reply(message.payload.get(1..).unwrap_or_default())
            }
            type_id::DATA_AMF3 => {
                let payload = message.payload.slice(message.payload.len().min(1)..);
                self.handle_media(
                    type_id::DATA_AMF0,
                    message.timestamp,
                    message.stream_id,
                    payload,
                );
                Ok(())
            }
            type_id::AGGREGATE => {
                for part in aggregate::split(message.timestamp, &message.payload) {
                    self.handle_media(
                        part.type_id,
                        part.timestamp,
                        message.stream_id,
                        part.payload,
                    );
                }
                Ok(())
            }
            other => {
                tracing::debug!(type_id = other, "client ignoring RTMP message");
                Ok(())
            }
        }
    }

    fn handle_control(&mut self, control: ControlMessage) -> Result<(), ClientError> {
        match control {
            ControlMessage::SetChunkSize(size) => self.decoder.set_chunk_size(size)?,
            ControlMessage::Abort { csid } => self.decoder.abort(csid),
            ControlMessage::WindowAckSize(size) if size > 0 => self.ack_window = size,
            ControlMessage::UserControl(UserControl::PingRequest(value)) => self.send_control(
                ControlMessage::UserControl(UserControl::PingResponse(value)),
            )?,
            // Stream Begin/EOF duplicate the `onStatus` codes we act on; bandwidth
            // limits and acknowledgements of our output are the socket's business.
            _ => {}
        }
        Ok(())
    }

    fn handle_reply(&mut self, body: &[u8]) -> Result<(), ClientError> {
        match Reply::parse(body)? {
            Reply::Result {
                transaction_id,
                value,
            } => {
                if self.phase == Phase::Connecting && transaction_id == self.connect_transaction {
                    self.events.push_back(ClientEvent::Connected);
                    self.create_stream_transaction = self.take_transaction();
                    let body = command::create_stream(self.create_stream_transaction);
                    self.send_command(0, body)?;
                    self.phase = Phase::CreatingStream;
                } else if self.phase == Phase::CreatingStream
                    && transaction_id == self.create_stream_transaction
                {
                    self.stream_id = value
                        .as_number()
                        .filter(|&n| n >= 1.0 && n <= f64::from(u32::MAX) && n.fract() == 0.0)
                        .ok_or(ClientError::NoStreamId)?
                        as u32;
                    self.start()?;
                }
                Ok(())
            }
            Reply::Error { status, .. } => {
                self.status(status);
                Ok(())
            }
            Reply::OnStatus(status) => {
                self.on_status(status);
                Ok(())
            }
            Reply::Other(name) => {
                tracing::debug!(command = %name, "client ignoring RTMP command");
                Ok(())
            }
        }
    }

    /// Once the message stream exists: `publish`, or Set Buffer Length and `play`.
    fn start(&mut self) -> Result<(), ClientError> {
        let transaction = self.take_transaction();
        let body = match &self.role {
            Role::Publish { key } => command::publish(transaction, key),
            Role::Play { name } => command::play(transaction, name),
        };
        if let Role::Play { .. } = self.role {
            self.send_control(ControlMessage::UserControl(UserControl::SetBufferLength {
                stream_id: self.stream_id,
                millis: self.config.buffer_ms,
            }))?;
        }
        self.send_command(self.stream_id, body)?;
        self.phase = Phase::Starting;
        Ok(())
    }

    fn on_status(&mut self, status: Status) {
        let playing = matches!(self.role, Role::Play { .. });
        let event = match status.code.as_str() {
            "NetStream.Publish.Start" if !playing && self.phase == Phase::Starting => {
                ClientEvent::PublishStarted
            }
            "NetStream.Play.Start" if playing && self.phase == Phase::Starting => {
                ClientEvent::PlayStarted
            }
            "NetStream.Play.UnpublishNotify"
            | "NetStream.Play.Stop"
            | "NetStream.Play.Complete"
                if playing =>
            {
                ClientEvent::StreamEnded
            }
            _ => return self.status(status),
        };
        if event != ClientEvent::StreamEnded {
            self.phase = Phase::Started;
        }
        self.events.push_back(event);
    }

    /// Reports a status; a failure before the stream started ends the session.
    fn status(&mut self, status: Status) {
        if status.is_error() && self.phase < Phase::Started {
            self.phase = Phase::Over;
        }
        self.events.push_back(ClientEvent::Status {
            code: status.code,
            description: status.description,
        });
    }

    fn handle_media(&mut self, type_id: u8, timestamp: u32, stream_id: u32, payload: Bytes) {
        let playing = matches!(self.role, Role::Play { .. })
            && matches!(self.phase, Phase::Starting | Phase::Started);
        if !playing || stream_id != self.stream_id {
            return;
        }
        let Some(kind) = FrameKind::from_type_id(type_id) else {
            return;
        };
        if kind == FrameKind::Script && !is_player_data(&payload) {
            return;
        }
        self.events.push_back(ClientEvent::Frame(Frame {
            kind,
            timestamp,
            payload,
        }));
    }
}

/// Whether a data message is meant for the player's application (`onMetaData`, cue
/// points, text) rather than for the player itself (`|RtmpSampleAccess`, the
/// `onStatus` data some servers send when data starts).
fn is_player_data(payload: &[u8]) -> bool {
    let mut input = payload;
    match amf0::decode(&mut input) {
        Ok(name) => name
            .as_str()
            .is_some_and(|n| !n.starts_with('|') && n != "onStatus"),
        Err(_) => false,
    }
}
