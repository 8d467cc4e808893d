//! One WebSocket connection: authenticate, then shuttle packets both ways.
//!
//! The connection is an upgraded WebSocket or goim's plain TCP ([`Transport`]). The
//! first packet must be auth (op 7) within `auth_timeout`; over WebSocket the frame type
//! of that first packet (binary or text) fixes the connection's [`Wire`]. After that the task reads
//! client packets (heartbeat, change room, send, subscribe; sync, ack, read and send of
//! conversations; sync and read of the notifications inbox) and answers them. Pushed
//! messages do not pass through this task: whoever pushes writes them to the socket
//! (see [`crate::ws::link`]); the task only finishes writes the socket could not take at
//! once. Joining a room and sending to it first ask the app's room policy, when there is
//! one (mutes, kicks).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;

use super::history::History;
use super::inbox::Inbox;
use super::policy::Refusal;
use super::{Gateway, Identity, Wire};
use crate::proto::{self, op, AuthBody, Packet, ProtoError, StreamDecoder};
use crate::ws::frame::{self as wsf, FrameError, Message};
use crate::ws::link::LinkError;
use crate::ws::{Decoder, Link};

/// An idle connection keeps a read buffer no larger than this.
const READ_KEEP: usize = 4096;
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

/// What the client sent next.
enum In {
    /// Packets, and the wire they came over (a WebSocket frame's type says which).
    Packets(Wire, Vec<Packet>),
    Ping(Bytes),
    Pong,
    Close,
}

/// Bytes from the client that end the connection.
enum Bad {
    /// The WebSocket framing broke: close with its code.
    Frame(FrameError),
    /// A packet that cannot be understood: an op 24 over `Wire`, then close.
    Packet(ProtoError, Wire),
}

impl Bad {
    fn code(&self) -> &'static str {
        match self {
            Bad::Frame(e) => e.code(),
            Bad::Packet(e, _) => e.code(),
        }
    }
}

/// Why reading stopped.
enum ReadEnd {
    Closed,
    Bad(Bad),
}

/// Turns the client's bytes into packets: WebSocket frames, or goim's TCP stream.
enum Reader {
    Ws(Decoder),
    Tcp(StreamDecoder),
}

impl Reader {
    fn new(transport: &Transport, limits: proto::Limits) -> Reader {
        match transport {
            Transport::WebSocket { .. } => Reader::Ws(Decoder::new(
                limits.max_binary_frame().max(limits.max_text_frame()),
            )),
            Transport::Tcp => Reader::Tcp(StreamDecoder::new(limits)),
        }
    }

    fn buffer(&mut self) -> &mut BytesMut {
        match self {
            Reader::Ws(d) => d.buffer(),
            Reader::Tcp(d) => d.buffer(),
        }
    }

    fn shrink(&mut self) {
        match self {
            Reader::Ws(d) => d.shrink(READ_KEEP),
            Reader::Tcp(d) => d.shrink(READ_KEEP),
        }
    }

    /// The next thing the buffer holds whole, `Ok(None)` while more bytes are needed.
    fn next(&mut self, limits: &proto::Limits) -> Result<Option<In>, Bad> {
        match self {
            Reader::Tcp(d) => d
                .next_packet()
                .map(|p| p.map(|p| In::Packets(Wire::Tcp, vec![p])))
                .map_err(|e| Bad::Packet(e, Wire::Tcp)),
            Reader::Ws(d) => Ok(match d.next_message().map_err(Bad::Frame)? {
                None => None,
                Some(Message::Ping(data)) => Some(In::Ping(data)),
                Some(Message::Pong) => Some(In::Pong),
                Some(Message::Close(_)) => Some(In::Close),
                Some(Message::Text(t)) => {
                    // The frame decoder let only UTF-8 through.
                    let text = std::str::from_utf8(&t).unwrap_or_default();
                    let p = proto::decode_text(text, limits)
                        .map_err(|e| Bad::Packet(e, Wire::WsText))?;
                    Some(In::Packets(Wire::WsText, vec![p]))
                }
                Some(Message::Binary(b)) => {
                    let ps = proto::decode_frame_bytes(&b, limits)
                        .map_err(|e| Bad::Packet(e, Wire::WsBinary))?;
                    Some(In::Packets(Wire::WsBinary, ps))
                }
            }),
        }
    }
}

/// Reads from the socket into `reader` once it is readable; `Ok(false)` at end of stream.
async fn read_more(sink: &Sink, reader: &mut Reader) -> Result<bool, ReadEnd> {
    loop {
        sink.socket()
            .readable()
            .await
            .map_err(|_| ReadEnd::Closed)?;
        match try_read(sink, reader) {
            Ok(n) => return Ok(n > 0),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return Err(ReadEnd::Closed),
        }
    }
}

fn try_read(sink: &Sink, reader: &mut Reader) -> std::io::Result<usize> {
    let buf = reader.buffer();
    if buf.capacity() - buf.len() < 512 {
        buf.reserve(1024);
    }
    sink.socket().try_read_buf(buf)
}

/// The next packets, answering pings on the way; `Ok(None)` when the client left.
async fn next_packets(
    sink: &Sink,
    reader: &mut Reader,
    limits: &proto::Limits,
) -> Result<Option<(Wire, Vec<Packet>)>, ReadEnd> {
    loop {
        match reader.next(limits).map_err(ReadEnd::Bad)? {
            Some(In::Ping(data)) => {
                sink.push(wsf::encode(wsf::OP_PONG, &data));
            }
            Some(In::Pong) => {}
            Some(In::Close) => return Ok(None),
            Some(In::Packets(wire, packets)) => return Ok(Some((wire, packets))),
            None => {
                if !read_more(sink, reader).await? {
                    return Ok(None);
                }
            }
        }
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
    let cfg = gw.config().clone();
    let limits = proto::Limits {
        max_body: cfg.max_body,
        ..proto::Limits::default()
    };
    let mut reader = Reader::new(&transport, limits);
    reader.buffer().extend_from_slice(&early);
    // It may hold on to the HTTP server's whole read buffer.
    drop(early);
    let sink: Sink = Arc::new(Link::new(sock));
    let hangup = match transport {
        Transport::WebSocket { .. } => Wire::WsBinary,
        Transport::Tcp => Wire::Tcp,
    };

    // 1. Authenticate.
    let first = tokio::time::timeout(cfg.auth_timeout, next_packets(&sink, &mut reader, &limits));
    let (wire, packets) = match first.await {
        Ok(Ok(Some(x))) => x,
        Ok(Ok(None)) | Ok(Err(ReadEnd::Closed)) => {
            return goodbye(&sink, hangup, wsf::CLOSE_NORMAL).await
        }
        Ok(Err(ReadEnd::Bad(e))) => return refuse_bytes(&sink, hangup, e).await,
        Err(_) => {
            metrics::counter!("im_errors_total", "code" => "auth_timeout").increment(1);
            return goodbye(&sink, hangup, wsf::CLOSE_POLICY).await;
        }
    };
    let Some(auth) = packets.first().filter(|p| p.op == op::AUTH) else {
        let ver = packets.first().map_or(proto::VERSION, |p| p.ver);
        let why = "the first packet must be auth (op 7)";
        send_error(&sink, wire, ver, 0, "auth_required", why).await;
        return;
    };
    let url_token = match &transport {
        Transport::WebSocket { token } => token.as_deref(),
        Transport::Tcp => None,
    };
    let body = match AuthBody::parse_with(&auth.body, url_token) {
        Ok(b) => b,
        Err(e) => {
            send_error(&sink, wire, auth.ver, auth.seq, e.code(), &e.to_string()).await;
            return;
        }
    };
    let authenticated = if body.guest {
        Ok(Identity {
            user_id: 0,
            name: "guest".into(),
            is_admin: false,
        })
    } else {
        gw.authenticator().authenticate(&body.token).await
    };
    let who = match authenticated {
        Ok(who) => who,
        Err(e) => {
            metrics::counter!("im_errors_total", "code" => e.code()).increment(1);
            send_error(&sink, wire, auth.ver, auth.seq, e.code(), &e.to_string()).await;
            return;
        }
    };
    // goim's client says who it is; it must be who the token says.
    if body.mid.is_some_and(|mid| mid != who.user_id) {
        metrics::counter!("im_errors_total", "code" => "mid_mismatch").increment(1);
        let why = "\"mid\" is not the user the token belongs to";
        send_error(&sink, wire, auth.ver, auth.seq, "mid_mismatch", why).await;
        return;
    }
    let reg = gw.register(
        who.user_id,
        client,
        body.accepts.clone(),
        sink.clone(),
        wire,
        body.key.as_deref(),
    );
    // The token (hundreds of bytes) is not kept for the connection's life.
    let room = body.room();
    drop(body);
    let mut conn = Session {
        gw: gw.clone(),
        id: reg.id,
        who,
        wire,
        ver: auth.ver,
    };
    let mut sink = sink;
    // Join before answering, so that a client holding op 8 is in its room; what the room
    // sends (its recent messages first) is held back until the answer is written. Signed
    // in either way: a refused join leaves the connection in no room, and says why after.
    sink.hold();
    let refused_join = match room {
        Some(room) => match conn.may_join(&room).await {
            Ok(()) => {
                conn.gw.change_room(conn.id, Some(&room));
                None
            }
            Err(no) => Some(no),
        },
        None => None,
    };
    // The reply's body says who the connection is: goim's clients ignore it.
    let reply = json!({"mid": conn.who.user_id, "key": reg.key});
    let mut end = conn
        .reply_json(&mut sink, op::AUTH_REPLY, auth.seq, reply)
        .await
        .err();
    if end.is_none() {
        if let Some(no) = refused_join {
            end = conn
                .refuse_policy(&mut sink, auth.seq, op::AUTH, &no)
                .await
                .err();
        }
        sink.release();
        // Any further packets that came in the auth frame.
        for p in packets.into_iter().skip(1) {
            if end.is_some() {
                break;
            }
            if let Err(e) = conn.handle(&mut sink, p).await {
                end = Some(e);
            }
        }
    }

    // 2. Serve.
    let mut kicked = reg.kicked;
    let heartbeat = tokio::time::sleep(cfg.heartbeat_timeout);
    tokio::pin!(heartbeat);
    let mut close_code = wsf::CLOSE_NORMAL;
    while end.is_none() {
        // Whatever whole packets the buffer holds, first.
        match reader.next(&limits) {
            Ok(Some(incoming)) => {
                match incoming {
                    In::Close => end = Some(End::Closed),
                    In::Ping(data) => {
                        let pong = wsf::encode(wsf::OP_PONG, &data);
                        if let Err(e) = conn.send(&mut sink, pong).await {
                            end = Some(e);
                        }
                    }
                    In::Pong => {}
                    In::Packets(_, packets) => {
                        for p in packets {
                            if let Err(e) = conn.handle(&mut sink, p).await {
                                end = Some(e);
                                break;
                            }
                        }
                    }
                }
                continue;
            }
            Ok(None) => reader.shrink(),
            Err(Bad::Packet(e, _)) => {
                metrics::counter!("im_errors_total", "code" => e.code()).increment(1);
                let bye = error_packet(conn.ver, 0, e.code(), &e.to_string());
                sink.push(conn.wire.encode(&bye));
                close_code = wsf::CLOSE_POLICY;
                end = Some(End::Error(e.code(), e.to_string()));
                break;
            }
            Err(Bad::Frame(e)) => {
                metrics::counter!("im_errors_total", "code" => e.code()).increment(1);
                close_code = e.close_code();
                end = Some(End::Error(e.code(), e.to_string()));
                break;
            }
        }
        tokio::select! {
            read = read_more(&sink, &mut reader) => match read {
                Ok(true) => heartbeat
                    .as_mut()
                    .reset(tokio::time::Instant::now() + cfg.heartbeat_timeout),
                Ok(false) | Err(_) => end = Some(End::Closed),
            },
            _ = &mut heartbeat => {
                end = Some(End::Error("heartbeat_timeout", "no heartbeat".into()));
            }
            _ = sink.wanted() => {
                if let Err(e) = conn.flush(&sink).await {
                    end = Some(e);
                }
            }
            _ = kicked.changed() => {
                let bye = conn.packet(op::DISCONNECT_REPLY, 0, Bytes::new());
                let _ = conn.write(&mut sink, &bye).await;
                close_code = wsf::CLOSE_POLICY;
                end = Some(End::Error("kicked", "disconnected by the server".into()));
            }
        }
    }
    gw.unregister(conn.id);
    if let Some(End::Error(code, why)) = &end {
        metrics::counter!("im_closed_total", "reason" => *code).increment(1);
        tracing::debug!(
            user = conn.who.user_id,
            code,
            "chat connection closed: {why}"
        );
    }
    goodbye(&sink, conn.wire, close_code).await;
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

/// A client's bytes broke the framing or the packets before it signed in: count it, say
/// why (an op 24 for a packet, the close code for WebSocket framing), close.
async fn refuse_bytes(sink: &Sink, hangup: Wire, e: Bad) {
    metrics::counter!("im_errors_total", "code" => e.code()).increment(1);
    match e {
        Bad::Frame(e) => {
            tracing::debug!("chat connection closed: {e}");
            goodbye(sink, hangup, e.close_code()).await;
        }
        Bad::Packet(e, wire) => {
            send_error(sink, wire, proto::VERSION, 0, e.code(), &e.to_string()).await;
        }
    }
}

/// An error reply, then close.
async fn send_error(sink: &Sink, wire: Wire, ver: u16, seq: u32, code: &str, message: &str) {
    sink.push(wire.encode(&error_packet(ver, seq, code, message)));
    goodbye(sink, wire, wsf::CLOSE_POLICY).await;
}

/// The op 24 that says why the connection ends.
fn error_packet(ver: u16, seq: u32, code: &str, message: &str) -> Packet {
    let body = json!({"code": code, "message": message}).to_string();
    Packet {
        ver,
        op: op::ERROR,
        seq,
        body: Bytes::from(body),
    }
}

#[derive(Deserialize)]
struct SyncBody {
    positions: std::collections::HashMap<String, i64>,
}

#[derive(Deserialize)]
struct ReadBody {
    conversation_id: i64,
    seq: i64,
}

#[derive(Deserialize)]
struct ConvSendBody {
    conversation_id: i64,
    /// The rest (`kind`, `content`, `client_id`), checked by the app as the REST send is.
    #[serde(flatten)]
    message: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct NotifySyncBody {
    #[serde(default)]
    after_seq: i64,
}

#[derive(Deserialize)]
struct NotifyReadBody {
    seq: i64,
}

#[derive(Deserialize)]
struct SendBody {
    text: String,
}

/// An error reply's code and message.
type BadRequest = (&'static str, &'static str);

/// An authenticated connection.
struct Session {
    gw: Arc<Gateway>,
    id: u64,
    who: Identity,
    wire: Wire,
    /// The version the client's auth packet carried, which replies carry back.
    ver: u16,
}

impl Session {
    /// A reply packet, of the client's version.
    fn packet(&self, op: u32, seq: u32, body: Bytes) -> Packet {
        Packet {
            ver: self.ver,
            op,
            seq,
            body,
        }
    }

    async fn write(&self, sink: &mut Sink, p: &Packet) -> Result<(), End> {
        self.send(sink, self.wire.encode(p)).await
    }

    /// Writes a whole frame, after whatever was queued before it.
    async fn send(&self, sink: &mut Sink, frame: Bytes) -> Result<(), End> {
        if !sink.push(frame) {
            return Err(End::Closed);
        }
        self.flush(sink).await
    }

    /// Finishes writing what waits for the socket, within the write timeout.
    async fn flush(&self, sink: &Sink) -> Result<(), End> {
        match sink.flush(self.gw.config().write_timeout).await {
            Ok(()) => Ok(()),
            Err(LinkError::Closed) => Err(End::Closed),
            Err(LinkError::TimedOut) => Err(End::Error(
                "write_timeout",
                "the client does not read".into(),
            )),
        }
    }

    async fn reply_json(
        &self,
        sink: &mut Sink,
        op: u32,
        seq: u32,
        body: serde_json::Value,
    ) -> Result<(), End> {
        let p = self.packet(op, seq, Bytes::from(body.to_string()));
        self.write(sink, &p).await
    }

    /// An error reply that leaves the connection open.
    async fn refuse(
        &self,
        sink: &mut Sink,
        seq: u32,
        about: u32,
        code: &'static str,
        message: &str,
    ) -> Result<(), End> {
        metrics::counter!("im_errors_total", "code" => code).increment(1);
        self.reply_json(
            sink,
            op::ERROR,
            seq,
            json!({"code": code, "message": message, "op": about}),
        )
        .await
    }

    /// A refusal by the room policy: an op 24 with the time it ends, when it does.
    async fn refuse_policy(
        &self,
        sink: &mut Sink,
        seq: u32,
        about: u32,
        no: &Refusal,
    ) -> Result<(), End> {
        metrics::counter!("im_errors_total", "code" => no.code).increment(1);
        let mut body = json!({"code": no.code, "message": no.message, "op": about});
        if let Some(until) = no.until {
            body["until"] = json!(until);
        }
        self.reply_json(sink, op::ERROR, seq, body).await
    }

    /// Whether the room policy lets this user join `room` (yes without a policy).
    async fn may_join(&self, room: &str) -> Result<(), Refusal> {
        match self.gw.policy() {
            Some(policy) => policy.may_join(room, self.who.user_id).await,
            None => Ok(()),
        }
    }

    async fn handle(&mut self, sink: &mut Sink, p: Packet) -> Result<(), End> {
        // A guest reads rooms: heartbeats and room changes only.
        if self.who.user_id == 0 && !matches!(p.op, op::HEARTBEAT | op::CHANGE_ROOM) {
            let why = "sign in to do this; guests may only read rooms";
            return self
                .refuse(sink, p.seq, p.op, "sign_in_required", why)
                .await;
        }
        match p.op {
            op::HEARTBEAT => {
                let online = self
                    .gw
                    .room_of(self.id)
                    .map(|r| self.gw.online(&r))
                    .unwrap_or(0);
                let body = if self.wire.is_text() {
                    proto::heartbeat_reply_json(online)
                } else {
                    proto::heartbeat_reply_body(online)
                };
                let reply = self.packet(op::HEARTBEAT_REPLY, p.seq, body);
                self.write(sink, &reply).await
            }
            op::CHANGE_ROOM => {
                let target = match proto::ChangeRoomBody::parse(&p.body) {
                    Ok(body) => body.room,
                    Err(e) => {
                        return self
                            .refuse(sink, p.seq, p.op, e.code(), &e.to_string())
                            .await
                    }
                };
                if let Some(room) = &target {
                    if let Err(no) = self.may_join(room).await {
                        return self.refuse_policy(sink, p.seq, p.op, &no).await;
                    }
                }
                // The room's messages (its recent ones first) come after the reply.
                sink.hold();
                let online = self.gw.change_room(self.id, target.as_deref());
                let room_id = target.map(|t| format!("live://{t}"));
                let replied = self
                    .reply_json(
                        sink,
                        op::CHANGE_ROOM_REPLY,
                        p.seq,
                        json!({"room_id": room_id, "online": online}),
                    )
                    .await;
                sink.release();
                replied
            }
            op::SEND_MSG => self.send_to_room(sink, p).await,
            op::SYNC => self.sync(sink, p).await,
            op::READ => self.position(sink, p, false).await,
            op::ACK => self.position(sink, p, true).await,
            op::CONV_SEND => self.send_to_conversation(sink, p).await,
            op::NOTIFY_SYNC => self.notify_sync(sink, p).await,
            op::NOTIFY_READ => self.notify_read(sink, p).await,
            op::SUB | op::UNSUB => {
                let ops = match proto::OpsBody::parse(&p.body) {
                    Ok(body) => body.ops,
                    Err(e) => {
                        return self
                            .refuse(sink, p.seq, p.op, e.code(), &e.to_string())
                            .await
                    }
                };
                // goim: op 14 adds to the accepted operations, op 16 removes from them;
                // an empty set accepts everything.
                let accepts = self.gw.update_accepts(self.id, &ops, p.op == op::SUB);
                let reply = if p.op == op::SUB {
                    op::SUB_REPLY
                } else {
                    op::UNSUB_REPLY
                };
                self.reply_json(sink, reply, p.seq, json!({"ops": accepts}))
                    .await
            }
            op::AUTH => {
                self.refuse(
                    sink,
                    p.seq,
                    p.op,
                    "already_authenticated",
                    "this connection is signed in",
                )
                .await
            }
            other => {
                self.refuse(
                    sink,
                    p.seq,
                    other,
                    "unknown_operation",
                    "this operation is not supported",
                )
                .await
            }
        }
    }

    /// The app's conversation history and `p`'s body as `T`, or the refusal to send:
    /// `unavailable` without a history, `bad_body` (with `expected`) for a body that is
    /// not a `T`.
    fn history_request<T: serde::de::DeserializeOwned>(
        &self,
        p: &Packet,
        expected: &'static str,
    ) -> Result<(Arc<dyn History>, T), BadRequest> {
        let history = self
            .gw
            .history()
            .cloned()
            .ok_or(("unavailable", "conversations are not served here"))?;
        let body = serde_json::from_slice::<T>(&p.body).map_err(|_| ("bad_body", expected))?;
        Ok((history, body))
    }

    /// Op 20: `{"positions": {"<conversation_id>": last_seq, ...}}` → op 21 with every
    /// message after each position, in order.
    async fn sync(&mut self, sink: &mut Sink, p: Packet) -> Result<(), End> {
        let expected = "expected {\"positions\": {\"<id>\": seq}}";
        let (history, body) = match self.history_request::<SyncBody>(&p, expected) {
            Ok(found) => found,
            Err((code, why)) => return self.refuse(sink, p.seq, p.op, code, why).await,
        };
        let mut positions = Vec::with_capacity(body.positions.len());
        for (id, seq) in body.positions {
            match id.parse::<i64>() {
                Ok(id) if seq >= 0 && positions.len() < 100 => positions.push((id, seq)),
                _ => {
                    return self
                        .refuse(
                            sink,
                            p.seq,
                            p.op,
                            "bad_body",
                            "positions: up to 100 ids with seq >= 0",
                        )
                        .await
                }
            }
        }
        match history.sync(self.who.user_id, positions, 200).await {
            Ok(page) => {
                let body = json!({"messages": page.messages, "more": page.more});
                self.reply_json(sink, op::SYNC_REPLY, p.seq, body).await
            }
            Err(e) => self.refuse(sink, p.seq, p.op, e.code, &e.message).await,
        }
    }

    /// Op 22 (read) or op 18 (ack, `ack` true): `{"conversation_id": id, "seq": n}` → op
    /// 23 with the read position, or op 19 with the delivered position.
    async fn position(&mut self, sink: &mut Sink, p: Packet, ack: bool) -> Result<(), End> {
        let expected = "expected {\"conversation_id\": id, \"seq\": n}";
        let (history, body) = match self.history_request::<ReadBody>(&p, expected) {
            Ok(found) => found,
            Err((code, why)) => return self.refuse(sink, p.seq, p.op, code, why).await,
        };
        let (user, id) = (self.who.user_id, body.conversation_id);
        let (moved, reply, field) = if ack {
            (
                history.ack(user, id, body.seq).await,
                op::ACK_REPLY,
                "delivered_seq",
            )
        } else {
            (
                history.read(user, id, body.seq).await,
                op::READ_REPLY,
                "read_seq",
            )
        };
        match moved {
            Ok(position) => {
                let body = json!({"conversation_id": id, field: position});
                self.reply_json(sink, reply, p.seq, body).await
            }
            Err(e) => self.refuse(sink, p.seq, p.op, e.code, &e.message).await,
        }
    }

    /// Op 30: `{"conversation_id", "kind", "content", "client_id"}` → op 31 with the
    /// message as stored (with its seq), after it is stored; the members' connections
    /// get it pushed as op 1000, as with the REST send. Refusals carry the REST codes.
    async fn send_to_conversation(&mut self, sink: &mut Sink, p: Packet) -> Result<(), End> {
        let expected = "expected {\"conversation_id\": id, \"kind\", \"content\", \"client_id\"}";
        let (history, body) = match self.history_request::<ConvSendBody>(&p, expected) {
            Ok(found) => found,
            Err((code, why)) => return self.refuse(sink, p.seq, p.op, code, why).await,
        };
        let message = serde_json::Value::Object(body.message);
        match history
            .send(self.who.user_id, body.conversation_id, message)
            .await
        {
            Ok(stored) => {
                self.reply_json(sink, op::CONV_SEND_REPLY, p.seq, stored)
                    .await
            }
            Err(e) => {
                let no = Refusal {
                    code: e.code,
                    message: e.message,
                    until: e.until,
                };
                self.refuse_policy(sink, p.seq, p.op, &no).await
            }
        }
    }

    /// The app's inbox and `p`'s body as `T`, or the refusal to send (as
    /// [`Session::history_request`]).
    fn inbox_request<T: serde::de::DeserializeOwned>(
        &self,
        p: &Packet,
        expected: &'static str,
    ) -> Result<(Arc<dyn Inbox>, T), BadRequest> {
        let inbox = self
            .gw
            .inbox()
            .cloned()
            .ok_or(("unavailable", "notifications are not served here"))?;
        // An empty body is an empty object: sync from the start.
        let raw: &[u8] = if p.body.is_empty() { b"{}" } else { &p.body };
        let body = serde_json::from_slice::<T>(raw).map_err(|_| ("bad_body", expected))?;
        Ok((inbox, body))
    }

    /// Op 26: `{"after_seq": n}` → op 27 with the notifications after `n`, in order.
    async fn notify_sync(&mut self, sink: &mut Sink, p: Packet) -> Result<(), End> {
        let expected = "expected {\"after_seq\": n} with n >= 0";
        let (inbox, body) = match self.inbox_request::<NotifySyncBody>(&p, expected) {
            Ok(found) if found.1.after_seq >= 0 => found,
            Ok(_) => return self.refuse(sink, p.seq, p.op, "bad_body", expected).await,
            Err((code, why)) => return self.refuse(sink, p.seq, p.op, code, why).await,
        };
        match inbox.sync(self.who.user_id, body.after_seq, 200).await {
            Ok(page) => {
                let body = json!({
                    "notifications": page.notifications,
                    "more": page.more,
                    "last_seq": page.last_seq,
                    "read_seq": page.read_seq,
                });
                self.reply_json(sink, op::NOTIFY_SYNC_REPLY, p.seq, body)
                    .await
            }
            Err(e) => self.refuse(sink, p.seq, p.op, e.code, &e.message).await,
        }
    }

    /// Op 28: `{"seq": n}` → op 29 with the read position and the unread count.
    async fn notify_read(&mut self, sink: &mut Sink, p: Packet) -> Result<(), End> {
        let expected = "expected {\"seq\": n}";
        let (inbox, body) = match self.inbox_request::<NotifyReadBody>(&p, expected) {
            Ok(found) => found,
            Err((code, why)) => return self.refuse(sink, p.seq, p.op, code, why).await,
        };
        match inbox.read(self.who.user_id, body.seq).await {
            Ok(pos) => {
                let body = json!({"read_seq": pos.read_seq, "unread": pos.unread});
                self.reply_json(sink, op::NOTIFY_READ_REPLY, p.seq, body)
                    .await
            }
            Err(e) => self.refuse(sink, p.seq, p.op, e.code, &e.message).await,
        }
    }

    async fn send_to_room(&mut self, sink: &mut Sink, p: Packet) -> Result<(), End> {
        let Some(room) = self.gw.room_of(self.id) else {
            return self
                .refuse(
                    sink,
                    p.seq,
                    p.op,
                    "not_in_room",
                    "join a room first (op 12)",
                )
                .await;
        };
        let Ok(body) = serde_json::from_slice::<SendBody>(&p.body) else {
            return self
                .refuse(
                    sink,
                    p.seq,
                    p.op,
                    "bad_body",
                    "expected {\"text\": \"...\"}",
                )
                .await;
        };
        let text = body.text.trim();
        let max = self.gw.config().max_text;
        if text.is_empty() || text.chars().count() > max {
            return self
                .refuse(
                    sink,
                    p.seq,
                    p.op,
                    "bad_text",
                    &format!("text must be 1 to {max} characters"),
                )
                .await;
        }
        if let Some(policy) = self.gw.policy() {
            if let Err(no) = policy.may_speak(&room, self.who.user_id).await {
                return self.refuse_policy(sink, p.seq, p.op, &no).await;
            }
        }
        if !self.take_token() {
            return self
                .refuse(sink, p.seq, p.op, "rate_limited", "slow down")
                .await;
        }
        let Some(text) = self.gw.words().apply(text) else {
            let why = "the message contains words that are not allowed";
            return self.refuse(sink, p.seq, p.op, "sensitive_words", why).await;
        };
        let body = json!({
            "type": "danmaku",
            "room_id": format!("live://{room}"),
            "user": {"id": self.who.user_id, "name": self.who.name},
            "text": text,
            "ts": kit::time::now_ms(),
        });
        self.gw
            .push_room(&room, op::MESSAGE, Bytes::from(body.to_string()));
        self.reply_json(sink, op::SEND_MSG_REPLY, p.seq, json!({"ok": true}))
            .await
    }

    fn take_token(&mut self) -> bool {
        self.gw.may_send(self.who.user_id)
    }
}
