//! One WebSocket client per task: momo's goim binary protocol or NATS's text protocol.
//!
//! A client connects from its source address, signs in and joins the room (momo: auth
//! op 7 with the room, answered by op 8; NATS: `CONNECT`, `SUB`, then a `PING` whose
//! `PONG` proves the subscription is in place), then reads until the step ends,
//! handing every broadcast body to the [`Recorder`] and sending a heartbeat every
//! `--heartbeat` (momo op 2, NATS `PING`), the first at a point spread over the period
//! so that the clients' heartbeats do not come all at once.
//!
//! Clients are cheap on purpose: small WebSocket buffers, no copy of a body, no JSON
//! parse (the stamp is found by [`super::latency::stamp_of`]).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use im::proto::{self, op, Packet};
use tokio::time::{interval_at, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::addrs::connect_from;
use super::latency::Recorder;
use super::nats_proto::{Event, Parser};

/// How long a client may take from connect to being in the room.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the clients of one step share.
#[derive(Debug, Default)]
pub struct Clients {
    /// In the room and reading.
    pub ready: AtomicUsize,
    /// Never got there.
    pub failed: AtomicUsize,
    /// Got there, then lost the connection.
    pub lost: AtomicUsize,
    errors: Mutex<BTreeMap<String, usize>>,
    pub recorder: Recorder,
}

impl Clients {
    pub fn errors(&self) -> BTreeMap<String, usize> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }

    fn error(&self, why: String) {
        if let Ok(mut e) = self.errors.lock() {
            *e.entry(why).or_insert(0) += 1;
        }
    }
}

/// Which server a client talks to.
#[derive(Debug, Clone)]
pub enum Protocol {
    /// momo's gateway at `ws://ADDR/ws`; client `i` signs in with `tokens[i % len]`.
    Momo {
        tokens: Arc<Vec<String>>,
        room: String,
    },
    /// nats-server's WebSocket listener; subscribes to `subject`.
    Nats { subject: String },
}

/// Where and how one client connects.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub index: usize,
    pub source: Ipv4Addr,
    pub server: SocketAddr,
    pub heartbeat: Duration,
    /// When the first heartbeat goes, after joining.
    pub first_beat: Duration,
}

/// Runs one client until the task is aborted or the connection ends.
pub async fn run(protocol: Arc<Protocol>, plan: Plan, clients: Arc<Clients>) {
    let mut joined = false;
    let result = match &*protocol {
        Protocol::Momo { tokens, room } => {
            let token = &tokens[plan.index % tokens.len()];
            momo(token, room, plan, &clients, &mut joined).await
        }
        Protocol::Nats { subject } => nats(subject, plan, &clients, &mut joined).await,
    };
    let counter = if joined {
        &clients.lost
    } else {
        &clients.failed
    };
    counter.fetch_add(1, Ordering::Relaxed);
    clients.error(
        result
            .err()
            .unwrap_or_else(|| "closed by the server".into()),
    );
}

fn ws_config() -> WebSocketConfig {
    // Thousands of clients: 4 KiB read buffers instead of 128, writes go out at once.
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 20))
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn open(plan: Plan, path: &str) -> Result<Ws, String> {
    let stream = connect_from(plan.source, plan.server)
        .await
        .map_err(|e| format!("connect: {}", e.kind()))?;
    let url = format!("ws://{}{path}", plan.server);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .map_err(|e| format!("websocket handshake: {e}"))?;
    Ok(ws)
}

fn packet(op: u32, seq: u32, body: Bytes) -> Message {
    Message::Binary(proto::encode_to_bytes(&Packet {
        ver: 1,
        op,
        seq,
        body,
    }))
}

/// Decoding limits for what momo sends: RAW batches carry up to 64 whole packets.
fn limits() -> proto::Limits {
    proto::Limits {
        max_body: 1 << 20,
        max_packets_per_frame: 1024,
    }
}

async fn momo(
    token: &str,
    room: &str,
    plan: Plan,
    clients: &Clients,
    joined: &mut bool,
) -> Result<(), String> {
    let ws = timeout(JOIN_TIMEOUT, open(plan, "/ws"))
        .await
        .map_err(|_| "connect timed out".to_string())??;
    let (mut tx, mut rx) = ws.split();
    let auth = serde_json::json!({"token": token, "room_id": room, "platform": "bench"});
    tx.send(packet(op::AUTH, 1, Bytes::from(auth.to_string())))
        .await
        .map_err(|e| format!("send auth: {e}"))?;
    let limits = limits();
    let deadline = Instant::now() + JOIN_TIMEOUT;
    'auth: loop {
        let frame = tokio::time::timeout_at(deadline, rx.next())
            .await
            .map_err(|_| "no auth reply".to_string())?;
        let Some(Ok(Message::Binary(b))) = frame else {
            return Err("closed before the auth reply".into());
        };
        for p in proto::decode_frame_bytes(&b, &limits).map_err(|e| e.to_string())? {
            match p.op {
                op::AUTH_REPLY => break 'auth,
                op::ERROR => {
                    return Err(format!(
                        "auth refused: {}",
                        String::from_utf8_lossy(&p.body)
                    ))
                }
                _ => {}
            }
        }
    }
    *joined = true;
    clients.ready.fetch_add(1, Ordering::Relaxed);

    let mut beat = interval_at(Instant::now() + plan.first_beat, plan.heartbeat);
    let mut seq = 1u32;
    loop {
        tokio::select! {
            _ = beat.tick() => {
                seq = seq.wrapping_add(1);
                tx.send(packet(op::HEARTBEAT, seq, Bytes::new()))
                    .await
                    .map_err(|e| format!("send heartbeat: {e}"))?;
            }
            frame = rx.next() => match frame {
                Some(Ok(Message::Binary(b))) => {
                    let packets = proto::decode_frame_bytes(&b, &limits).map_err(|e| e.to_string())?;
                    for p in packets {
                        on_momo_packet(&p, clients, &limits)?;
                    }
                }
                Some(Ok(Message::Close(_))) | None => return Err("closed by the server".into()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("read: {e}")),
            }
        }
    }
}

fn on_momo_packet(p: &Packet, clients: &Clients, limits: &proto::Limits) -> Result<(), String> {
    match p.op {
        op::RAW => {
            for inner in proto::decode_frame_bytes(&p.body, limits).map_err(|e| e.to_string())? {
                on_momo_packet(&inner, clients, limits)?;
            }
        }
        op::ERROR => {
            clients.error(format!("op 24: {}", String::from_utf8_lossy(&p.body)));
        }
        o if o >= op::MESSAGE => clients.recorder.delivered(&p.body),
        _ => {}
    }
    Ok(())
}

async fn nats(
    subject: &str,
    plan: Plan,
    clients: &Clients,
    joined: &mut bool,
) -> Result<(), String> {
    let ws = timeout(JOIN_TIMEOUT, open(plan, "/"))
        .await
        .map_err(|_| "connect timed out".to_string())??;
    let (mut tx, mut rx) = ws.split();
    let hello =
        format!("CONNECT {{\"verbose\":false,\"pedantic\":false}}\r\nSUB {subject} 1\r\nPING\r\n");
    tx.send(Message::Binary(Bytes::from(hello)))
        .await
        .map_err(|e| format!("send CONNECT: {e}"))?;
    let mut parser = Parser::default();
    let mut beat = interval_at(Instant::now() + JOIN_TIMEOUT, plan.heartbeat);
    let mut join_deadline = Some(Instant::now() + JOIN_TIMEOUT);
    loop {
        tokio::select! {
            _ = beat.tick() => {
                if join_deadline.is_some() {
                    return Err("no PONG after SUB".into());
                }
                tx.send(Message::Binary(Bytes::from_static(b"PING\r\n")))
                    .await
                    .map_err(|e| format!("send PING: {e}"))?;
            }
            frame = rx.next() => {
                match frame {
                    Some(Ok(Message::Binary(b))) => parser.feed(&b),
                    Some(Ok(Message::Text(t))) => parser.feed(t.as_bytes()),
                    Some(Ok(Message::Close(_))) | None => return Err("closed by the server".into()),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(format!("read: {e}")),
                }
                let mut pings = 0;
                while let Some(event) = parser.next_event().map_err(|e| e.to_string())? {
                    match event {
                        Event::Msg { payload, .. } => clients.recorder.delivered(&payload),
                        Event::Ping => pings += 1,
                        Event::Pong if join_deadline.is_some() => {
                            join_deadline = None;
                            *joined = true;
                            clients.ready.fetch_add(1, Ordering::Relaxed);
                            beat = interval_at(Instant::now() + plan.first_beat, plan.heartbeat);
                        }
                        Event::Err(why) => clients.error(format!("-ERR {why}")),
                        Event::Info | Event::Ok | Event::Pong => {}
                    }
                }
                for _ in 0..pings {
                    tx.send(Message::Binary(Bytes::from_static(b"PONG\r\n")))
                        .await
                        .map_err(|e| format!("send PONG: {e}"))?;
                }
            }
        }
    }
}
