//! The server side of one RTMP connection, as a state machine.
//!
//! Bytes from the socket go into [`ServerSession::handle_input`]; what the application
//! must know or decide comes out of [`ServerSession::poll_event`]; bytes to write come
//! out of [`ServerSession::poll_output`]. No socket, task or clock is inside, so tests
//! and fuzzers drive it directly and the tokio layer around it stays thin.
//!
//! The session deals with the protocol by itself: the handshake, window and chunk size
//! announcements after `connect`, acknowledgements, pings, the peer's chunk size
//! changes, and `createStream`. The application only decides who may publish and play
//! (answering [`Event::PublishRequested`] and [`Event::PlayRequested`]) and moves frames.
//!
//! One connection publishes one stream or plays one stream, which is what every encoder
//! and player does; a second `publish` or `play` on the same connection is refused.
//!
//! Any error is fatal to the connection: close it. The session is not meant to be used
//! after it returned one.

mod config;
mod event;
#[cfg(test)]
mod tests;

pub use config::SessionConfig;
pub use event::Event;

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::aggregate;
use super::chunk::{ChunkDecoder, ChunkEncoder, ChunkError, Message};
use super::command::{Command, CommandError};
use super::data::unwrap_set_data_frame;
use super::handshake::{Handshake, HandshakeError};
use super::message::{type_id, ControlError, ControlMessage, LimitType, UserControl};
use super::play::{encode_frame_for, PLAYER_CHUNK_SIZE};
use super::reply::{self, StatusCode};
use crate::amf0;
use crate::frame::{Frame, FrameKind};

/// Chunk stream for our replies to connection-level commands (`_result`).
const COMMAND_CSID: u32 = 3;
/// Chunk stream for stream-level messages we encode statefully (`onStatus`,
/// `|RtmpSampleAccess`). Kept apart from the shared media chunk streams 5, 6 and 7.
const STREAM_CSID: u32 = 4;

/// Why the session cannot go on; close the connection.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The handshake failed (wrong version: not RTMP, RTMPE, or TLS).
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// The chunk stream broke a limit or the protocol.
    #[error("chunk stream: {0}")]
    Chunk(#[from] ChunkError),
    /// A protocol control message was malformed.
    #[error("control message: {0}")]
    Control(#[from] ControlError),
    /// A command message was malformed.
    #[error("command: {0}")]
    Command(#[from] CommandError),
    /// A command other than `connect` came before `connect`.
    #[error("`{0}` before `connect`")]
    NotConnected(String),
    /// A second `connect`.
    #[error("`connect` on a connection that is already connected")]
    AlreadyConnected,
    /// `publish` or `play` on a message stream that `createStream` did not make.
    #[error("no message stream {0}")]
    UnknownStream(u32),
    /// `publish` or `play` while the connection already publishes or plays.
    #[error("message stream {0}: the connection already publishes or plays")]
    StreamBusy(u32),
    /// More `createStream`s than [`SessionConfig::max_streams`].
    #[error("more than {0} message streams")]
    TooManyStreams(usize),
    /// `accept_*`/`reject_*` for a stream with no such pending request; the client may
    /// have closed the stream in the meantime.
    #[error("no pending request on message stream {0}")]
    NoPendingRequest(u32),
}

/// Where a message stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamState {
    Idle,
    PublishRequested,
    Publishing,
    PlayRequested,
    Playing,
}

#[derive(Debug)]
struct Stream {
    id: u32,
    state: StreamState,
}

/// One RTMP connection, server side.
#[derive(Debug)]
pub struct ServerSession {
    config: SessionConfig,
    handshake: Option<Handshake>,
    decoder: ChunkDecoder,
    encoder: ChunkEncoder,
    /// The app from `connect`; `None` until then.
    app: Option<String>,
    streams: Vec<Stream>,
    next_stream_id: u32,
    events: VecDeque<Event>,
    /// Output already cut into `Bytes` (handshake, shared frames) …
    queued: VecDeque<Bytes>,
    /// … followed by what the encoder wrote since.
    out: BytesMut,
    bytes_in: u64,
    acked_at: u64,
    /// Acknowledge every this many bytes: the peer's window once it sent one.
    ack_window: u32,
}

impl ServerSession {
    /// A session waiting for the client's handshake.
    pub fn new(config: SessionConfig) -> Self {
        let handshake = match config.handshake_seed {
            Some(seed) => Handshake::with_seed(seed),
            None => Handshake::new(),
        };
        ServerSession {
            decoder: ChunkDecoder::new(config.limits),
            encoder: ChunkEncoder::new(),
            handshake: Some(handshake),
            app: None,
            streams: Vec::new(),
            next_stream_id: 1,
            events: VecDeque::new(),
            queued: VecDeque::new(),
            out: BytesMut::new(),
            bytes_in: 0,
            acked_at: 0,
            ack_window: config.window_ack_size,
            config,
        }
    }

    /// Takes bytes received from the peer. Afterwards, drain
    /// [`poll_event`](Self::poll_event) and [`poll_output`](Self::poll_output).
    pub fn handle_input(&mut self, mut data: &[u8]) -> Result<(), SessionError> {
        self.bytes_in += data.len() as u64;
        if let Some(handshake) = &mut self.handshake {
            let progress = handshake.feed(data)?;
            if progress.output_ready {
                let answer = handshake.take_output();
                self.queue(answer);
            }
            if !progress.done {
                return Ok(());
            }
            data = &data[progress.consumed..];
            self.handshake = None;
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

    /// The next thing the application must know or decide.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next bytes to write to the peer, in order.
    pub fn poll_output(&mut self) -> Option<Bytes> {
        self.queued
            .pop_front()
            .or_else(|| (!self.out.is_empty()).then(|| self.out.split().freeze()))
    }

    /// Whether the handshake is over and `connect` accepted.
    pub fn is_connected(&self) -> bool {
        self.app.is_some()
    }

    /// Lets the requested publish start: the publisher is told
    /// `NetStream.Publish.Start` and its frames come out as [`Event::Frame`].
    pub fn accept_publish(&mut self, stream_id: u32) -> Result<(), SessionError> {
        self.answer(
            stream_id,
            StreamState::PublishRequested,
            StreamState::Publishing,
        )?;
        self.send_control(ControlMessage::UserControl(UserControl::StreamBegin(
            stream_id,
        )))?;
        self.send_status(stream_id, StatusCode::PublishStart, "Start publishing")
    }

    /// Refuses the requested publish with `NetStream.Publish.BadName` and `reason` as
    /// its description. Encoders show it and stop; close the connection once the output
    /// is written.
    pub fn reject_publish(&mut self, stream_id: u32, reason: &str) -> Result<(), SessionError> {
        self.answer(stream_id, StreamState::PublishRequested, StreamState::Idle)?;
        self.send_status(stream_id, StatusCode::PublishBadName, reason)
    }

    /// Lets the requested play start: Stream Begin, `NetStream.Play.Reset`,
    /// `NetStream.Play.Start` and `|RtmpSampleAccess` are sent. Media follows through
    /// [`send_frame`](Self::send_frame) or [`send_shared`](Self::send_shared), starting
    /// with metadata and sequence headers.
    pub fn accept_play(&mut self, stream_id: u32) -> Result<(), SessionError> {
        self.answer(stream_id, StreamState::PlayRequested, StreamState::Playing)?;
        self.send_control(ControlMessage::UserControl(UserControl::StreamBegin(
            stream_id,
        )))?;
        self.send_status(stream_id, StatusCode::PlayReset, "Playing and resetting")?;
        self.send_status(stream_id, StatusCode::PlayStart, "Started playing")?;
        self.send(Message {
            csid: STREAM_CSID,
            timestamp: 0,
            type_id: type_id::DATA_AMF0,
            stream_id,
            payload: reply::sample_access(),
        })
    }

    /// Refuses the requested play with `code` (for example
    /// [`StatusCode::PlayStreamNotFound`]) and `description`. The connection may stay
    /// open: a player can try another name.
    pub fn reject_play(
        &mut self,
        stream_id: u32,
        code: StatusCode,
        description: &str,
    ) -> Result<(), SessionError> {
        self.answer(stream_id, StreamState::PlayRequested, StreamState::Idle)?;
        self.send_status(stream_id, code, description)
    }

    /// Tells a player that the stream it plays has ended (the publisher left): Stream
    /// EOF and `NetStream.Play.UnpublishNotify`. The stream stays open for a later
    /// publisher's frames.
    pub fn notify_unpublished(&mut self, stream_id: u32) -> Result<(), SessionError> {
        self.send_control(ControlMessage::UserControl(UserControl::StreamEof(
            stream_id,
        )))?;
        self.send_status(
            stream_id,
            StatusCode::PlayUnpublishNotify,
            "The stream was unpublished",
        )
    }

    /// Queues `frame` for this player, encoding it for this connection alone. Hubs with
    /// many players use [`encode_frame`](super::play::encode_frame) once per frame and
    /// [`send_shared`](Self::send_shared) instead.
    pub fn send_frame(&mut self, stream_id: u32, frame: &Frame) -> Result<(), SessionError> {
        let bytes = encode_frame_for(frame, stream_id)?;
        self.send_shared(bytes);
        Ok(())
    }

    /// Queues chunk bytes made by [`encode_frame`](super::play::encode_frame) (shared
    /// among players) after everything queued so far.
    pub fn send_shared(&mut self, bytes: Bytes) {
        self.queue(bytes);
    }

    fn queue(&mut self, bytes: Bytes) {
        if !self.out.is_empty() {
            self.queued.push_back(self.out.split().freeze());
        }
        self.queued.push_back(bytes);
    }

    fn answer(
        &mut self,
        stream_id: u32,
        from: StreamState,
        to: StreamState,
    ) -> Result<(), SessionError> {
        match self.streams.iter_mut().find(|s| s.id == stream_id) {
            Some(stream) if stream.state == from => {
                stream.state = to;
                Ok(())
            }
            _ => Err(SessionError::NoPendingRequest(stream_id)),
        }
    }

    fn send(&mut self, message: Message) -> Result<(), SessionError> {
        self.encoder.encode(&message, &mut self.out)?;
        Ok(())
    }

    fn send_control(&mut self, control: ControlMessage) -> Result<(), SessionError> {
        self.send(control.to_message())
    }

    fn send_status(
        &mut self,
        stream_id: u32,
        code: StatusCode,
        description: &str,
    ) -> Result<(), SessionError> {
        self.send(Message {
            csid: STREAM_CSID,
            timestamp: 0,
            type_id: type_id::COMMAND_AMF0,
            stream_id,
            payload: reply::on_status(code, description),
        })
    }

    fn handle_message(&mut self, message: Message) -> Result<(), SessionError> {
        if let Some(control) = ControlMessage::parse(message.type_id, &message.payload)? {
            return self.handle_control(control);
        }
        match message.type_id {
            type_id::COMMAND_AMF0 => self.handle_command(&message.payload, message.stream_id),
            // AMF3 commands from Flash clients: a format byte, then AMF0 in practice.
            type_id::COMMAND_AMF3 => {
                let body = message.payload.get(1..).unwrap_or_default();
                self.handle_command(body, message.stream_id)
            }
            type_id::AUDIO | type_id::VIDEO | type_id::DATA_AMF0 => {
                self.handle_media(
                    message.type_id,
                    message.timestamp,
                    message.stream_id,
                    message.payload,
                );
                Ok(())
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
                self.handle_aggregate(&message);
                Ok(())
            }
            other => {
                tracing::debug!(type_id = other, "ignoring RTMP message");
                Ok(())
            }
        }
    }

    fn handle_control(&mut self, control: ControlMessage) -> Result<(), SessionError> {
        match control {
            ControlMessage::SetChunkSize(size) => self.decoder.set_chunk_size(size)?,
            ControlMessage::Abort { csid } => self.decoder.abort(csid),
            ControlMessage::WindowAckSize(size) if size > 0 => self.ack_window = size,
            ControlMessage::UserControl(UserControl::PingRequest(value)) => self.send_control(
                ControlMessage::UserControl(UserControl::PingResponse(value)),
            )?,
            // Acknowledgements of our output, buffer lengths and bandwidth hints change
            // nothing here: flow control is the socket's job.
            _ => {}
        }
        Ok(())
    }

    fn handle_command(&mut self, body: &[u8], stream_id: u32) -> Result<(), SessionError> {
        let command = Command::parse(body)?;
        let app = match (&command, &self.app) {
            (Command::Connect { .. }, Some(_)) => return Err(SessionError::AlreadyConnected),
            (Command::Connect { .. }, None) => String::new(),
            (_, Some(app)) => app.clone(),
            (other, None) => return Err(SessionError::NotConnected(command_name(other))),
        };
        match command {
            Command::Connect {
                transaction_id,
                app,
                tc_url,
                ..
            } => self.connect(transaction_id, app, tc_url),
            Command::CreateStream { transaction_id } => self.create_stream(transaction_id),
            Command::Publish { stream_name, .. } => {
                self.request(stream_id, StreamState::PublishRequested)?;
                self.events.push_back(Event::PublishRequested {
                    stream_id,
                    app,
                    key: stream_name,
                });
                Ok(())
            }
            Command::Play { stream_name, .. } => {
                self.request(stream_id, StreamState::PlayRequested)?;
                self.events.push_back(Event::PlayRequested {
                    stream_id,
                    app,
                    name: stream_name,
                });
                Ok(())
            }
            Command::CloseStream { .. } => self.stop(stream_id, false),
            Command::DeleteStream {
                stream_id: deleted, ..
            } => self.stop(deleted, true),
            Command::FcUnpublish { .. } => {
                let publishing = self
                    .streams
                    .iter()
                    .find(|s| s.state == StreamState::Publishing)
                    .map(|s| s.id);
                match publishing {
                    Some(id) => self.stop(id, false),
                    None => Ok(()),
                }
            }
            // Courtesies of FMLE-style encoders that need no answer.
            Command::ReleaseStream { .. } | Command::FcPublish { .. } => Ok(()),
            Command::Unknown { name, .. } => {
                tracing::debug!(command = %name, "ignoring RTMP command");
                Ok(())
            }
        }
    }

    fn connect(
        &mut self,
        transaction_id: f64,
        app: String,
        tc_url: Option<String>,
    ) -> Result<(), SessionError> {
        self.send_control(ControlMessage::WindowAckSize(self.config.window_ack_size))?;
        self.send_control(ControlMessage::SetPeerBandwidth {
            size: self.config.peer_bandwidth,
            limit: LimitType::Dynamic,
        })?;
        self.send_control(ControlMessage::SetChunkSize(PLAYER_CHUNK_SIZE))?;
        self.encoder.set_chunk_size(PLAYER_CHUNK_SIZE)?;
        self.send(Message {
            csid: COMMAND_CSID,
            timestamp: 0,
            type_id: type_id::COMMAND_AMF0,
            stream_id: 0,
            payload: reply::connect_result(transaction_id),
        })?;
        self.app = Some(app.clone());
        self.events
            .push_back(Event::ConnectRequested { app, tc_url });
        Ok(())
    }

    fn create_stream(&mut self, transaction_id: f64) -> Result<(), SessionError> {
        if self.streams.len() >= self.config.max_streams {
            return Err(SessionError::TooManyStreams(self.config.max_streams));
        }
        let id = self.next_stream_id;
        self.next_stream_id = self.next_stream_id.wrapping_add(1).max(1);
        self.streams.push(Stream {
            id,
            state: StreamState::Idle,
        });
        self.send(Message {
            csid: COMMAND_CSID,
            timestamp: 0,
            type_id: type_id::COMMAND_AMF0,
            stream_id: 0,
            payload: reply::create_stream_result(transaction_id, id),
        })
    }

    /// Records a publish or play request on `stream_id`, which must exist and be idle,
    /// on a connection that neither publishes nor plays yet.
    fn request(&mut self, stream_id: u32, state: StreamState) -> Result<(), SessionError> {
        if self.streams.iter().any(|s| s.state != StreamState::Idle) {
            return Err(SessionError::StreamBusy(stream_id));
        }
        let stream = self
            .streams
            .iter_mut()
            .find(|s| s.id == stream_id)
            .ok_or(SessionError::UnknownStream(stream_id))?;
        stream.state = state;
        Ok(())
    }

    /// Ends whatever `stream_id` was doing; removes it if `delete`.
    fn stop(&mut self, stream_id: u32, delete: bool) -> Result<(), SessionError> {
        let Some(index) = self.streams.iter().position(|s| s.id == stream_id) else {
            return Ok(());
        };
        let state = self.streams[index].state;
        self.streams[index].state = StreamState::Idle;
        if delete {
            self.streams.remove(index);
        }
        match state {
            StreamState::Publishing => {
                if !delete {
                    self.send_status(stream_id, StatusCode::UnpublishSuccess, "Stop publishing")?;
                }
                self.events.push_back(Event::Unpublished { stream_id });
            }
            StreamState::PublishRequested => {
                self.events.push_back(Event::Unpublished { stream_id })
            }
            StreamState::Playing | StreamState::PlayRequested => {
                self.events.push_back(Event::Closed { stream_id })
            }
            StreamState::Idle => {}
        }
        Ok(())
    }

    fn is_publishing(&self, stream_id: u32) -> bool {
        self.streams
            .iter()
            .any(|s| s.id == stream_id && s.state == StreamState::Publishing)
    }

    fn handle_media(&mut self, type_id: u8, timestamp: u32, stream_id: u32, payload: Bytes) {
        if !self.is_publishing(stream_id) {
            tracing::debug!(
                stream_id,
                type_id,
                "media on a stream that is not publishing"
            );
            return;
        }
        let Some(kind) = FrameKind::from_type_id(type_id) else {
            return;
        };
        let payload = match kind {
            FrameKind::Script => {
                let payload = unwrap_set_data_frame(payload);
                // Only named data (`onMetaData`, `onTextData`, cue points) reaches players;
                // other `@` instructions such as `@clearDataFrame` are for the server.
                let mut input = &payload[..];
                match amf0::decode(&mut input) {
                    Ok(name) if name.as_str().is_some_and(|n| !n.starts_with('@')) => payload,
                    _ => return,
                }
            }
            _ => payload,
        };
        self.events.push_back(Event::Frame(Frame {
            kind,
            timestamp,
            payload,
        }));
    }

    /// Unpacks an aggregate message into the frames it carries.
    fn handle_aggregate(&mut self, message: &Message) {
        for part in aggregate::split(message.timestamp, &message.payload) {
            self.handle_media(
                part.type_id,
                part.timestamp,
                message.stream_id,
                part.payload,
            );
        }
    }
}

fn command_name(command: &Command) -> String {
    match command {
        Command::Connect { .. } => "connect",
        Command::ReleaseStream { .. } => "releaseStream",
        Command::FcPublish { .. } => "FCPublish",
        Command::FcUnpublish { .. } => "FCUnpublish",
        Command::CreateStream { .. } => "createStream",
        Command::DeleteStream { .. } => "deleteStream",
        Command::CloseStream { .. } => "closeStream",
        Command::Publish { .. } => "publish",
        Command::Play { .. } => "play",
        Command::Unknown { name, .. } => name,
    }
    .to_owned()
}
