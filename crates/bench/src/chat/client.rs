//! One WebSocket client per task: momo's goim binary protocol or NATS's text protocol.
//!
//! A client connects from its source address, signs in and joins the room (momo: auth
//! op 7 with the room, answered by op 8; NATS: `CONNECT`, `SUB`, then a `PING` whose
//! `PONG` proves the subscription is in place), then reads until the step ends,
//! handing every broadcast body to the [`Recorder`] and sending a heartbeat every
//! `--heartbeat` (momo op 2, NATS `PING`), the first at a point spread over the period
//! so that the clients' heartbeats do not come all at once.
//!
//! Clients are cheap on purpose ([`super::wsconn`]): frames and packets are read in
//! place from one small buffer, no body is copied, no JSON parsed (the stamp is found by
//! [`super::latency::stamp_of`]), and one timer per client waits for its next heartbeat.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use im::proto::{self, op, Packet};
use tokio::time::{timeout, Instant};

use super::latency::Recorder;
use super::nats_proto::{Event, Parser};
use super::wsconn::{WsConn, OP_BINARY};

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
    /// Deliveries to members on the publisher's node (on the only node, with one).
    pub recorder: Recorder,
    /// Deliveries to members on another node than the publisher's.
    pub far: Recorder,
}

impl Clients {
    pub fn errors(&self) -> BTreeMap<String, usize> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Where a client of `plan` records what it receives.
    fn recorder_of(&self, plan: &Plan) -> &Recorder {
        if plan.far {
            &self.far
        } else {
            &self.recorder
        }
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
    /// On another node than the one the messages are published on.
    pub far: bool,
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

fn packet(op: u32, seq: u32, body: Bytes) -> Bytes {
    proto::encode_to_bytes(&Packet {
        ver: 1,
        op,
        seq,
        body,
    })
}

/// Decoding limits for what momo sends: RAW batches carry up to 64 whole packets.
fn limits() -> proto::Limits {
    proto::Limits {
        max_body: 1 << 20,
        max_packets_per_frame: 1024,
    }
}

/// Walks the goim packets of one binary frame in place, RAW batches (op 9) included,
/// handing each packet's operation and body to `each`.
fn each_packet(data: &[u8], each: &mut impl FnMut(u32, &[u8])) -> Result<(), String> {
    fn walk(data: &[u8], each: &mut impl FnMut(u32, &[u8])) -> Result<(), proto::ProtoError> {
        proto::walk_frame(data, &limits(), |p| {
            let body = &data[p.body];
            if p.op == op::RAW {
                walk(body, each)
            } else {
                each(p.op, body);
                Ok(())
            }
        })
    }
    walk(data, each).map_err(|e| e.to_string())
}

async fn momo(
    token: &str,
    room: &str,
    plan: Plan,
    clients: &Clients,
    joined: &mut bool,
) -> Result<(), String> {
    let mut ws = timeout(JOIN_TIMEOUT, WsConn::open(plan.source, plan.server, "/ws"))
        .await
        .map_err(|_| "connect timed out".to_string())??;
    let auth = serde_json::json!({"token": token, "room_id": room, "platform": "bench"});
    ws.send(
        OP_BINARY,
        &packet(op::AUTH, 1, Bytes::from(auth.to_string())),
    )
    .await
    .map_err(|e| format!("send auth: {e}"))?;
    let deadline = Instant::now() + JOIN_TIMEOUT;
    let mut refused = None;
    while !*joined {
        tokio::time::timeout_at(deadline, ws.fill())
            .await
            .map_err(|_| "no auth reply".to_string())?
            .map_err(|e| format!("before the auth reply: {e}"))?;
        // Room messages may follow the reply in the same read: they count once the
        // client is in.
        ws.frames(|_, frame| {
            each_packet(frame, &mut |op, body| match op {
                op::AUTH_REPLY => *joined = true,
                op::ERROR if !*joined => {
                    refused = Some(String::from_utf8_lossy(body).into_owned());
                }
                o if o >= op::MESSAGE && *joined => clients.recorder_of(&plan).delivered(body),
                _ => {}
            })
        })
        .await?;
        if let Some(why) = refused {
            return Err(format!("auth refused: {why}"));
        }
    }
    clients.ready.fetch_add(1, Ordering::Relaxed);

    let beat = tokio::time::sleep_until(Instant::now() + plan.first_beat);
    tokio::pin!(beat);
    let mut seq = 1u32;
    loop {
        tokio::select! {
            _ = &mut beat => {
                seq = seq.wrapping_add(1);
                ws.send(OP_BINARY, &packet(op::HEARTBEAT, seq, Bytes::new()))
                    .await
                    .map_err(|e| format!("send heartbeat: {e}"))?;
                beat.as_mut().reset(Instant::now() + plan.heartbeat);
            }
            read = ws.fill() => {
                read?;
                ws.frames(|_, frame| {
                    each_packet(frame, &mut |op, body| match op {
                        op::ERROR => {
                            clients.error(format!("op 24: {}", String::from_utf8_lossy(body)));
                        }
                        o if o >= op::MESSAGE => clients.recorder_of(&plan).delivered(body),
                        _ => {}
                    })
                })
                .await?;
            }
        }
    }
}

async fn nats(
    subject: &str,
    plan: Plan,
    clients: &Clients,
    joined: &mut bool,
) -> Result<(), String> {
    let mut ws = timeout(JOIN_TIMEOUT, WsConn::open(plan.source, plan.server, "/"))
        .await
        .map_err(|_| "connect timed out".to_string())??;
    let hello =
        format!("CONNECT {{\"verbose\":false,\"pedantic\":false}}\r\nSUB {subject} 1\r\nPING\r\n");
    ws.send(OP_BINARY, hello.as_bytes())
        .await
        .map_err(|e| format!("send CONNECT: {e}"))?;
    let mut parser = Parser::default();
    let beat = tokio::time::sleep_until(Instant::now() + JOIN_TIMEOUT);
    tokio::pin!(beat);
    let mut join_deadline = Some(Instant::now() + JOIN_TIMEOUT);
    loop {
        tokio::select! {
            _ = &mut beat => {
                if join_deadline.is_some() {
                    return Err("no PONG after SUB".into());
                }
                ws.send(OP_BINARY, b"PING\r\n")
                    .await
                    .map_err(|e| format!("send PING: {e}"))?;
                beat.as_mut().reset(Instant::now() + plan.heartbeat);
            }
            read = ws.fill() => {
                read?;
                ws.frames(|_, data| {
                    parser.feed(data);
                    Ok(())
                })
                .await?;
                let mut pings = 0;
                while let Some(event) = parser.next_event().map_err(|e| e.to_string())? {
                    match event {
                        Event::Msg { payload, .. } => clients.recorder_of(&plan).delivered(&payload),
                        Event::Ping => pings += 1,
                        Event::Pong if join_deadline.is_some() => {
                            join_deadline = None;
                            *joined = true;
                            clients.ready.fetch_add(1, Ordering::Relaxed);
                            beat.as_mut().reset(Instant::now() + plan.first_beat);
                        }
                        Event::Err(why) => clients.error(format!("-ERR {why}")),
                        Event::Info | Event::Ok | Event::Pong => {}
                    }
                }
                for _ in 0..pings {
                    ws.send(OP_BINARY, b"PONG\r\n")
                        .await
                        .map_err(|e| format!("send PONG: {e}"))?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(packets: &[Bytes]) -> Bytes {
        packet(op::RAW, 0, packets.concat().into())
    }

    #[test]
    fn packets_are_walked_in_place_through_raw_batches() {
        let a = packet(op::MESSAGE, 0, Bytes::from_static(b"{\"a\":1}"));
        let b = packet(op::HEARTBEAT_REPLY, 3, Bytes::from_static(&[0, 0, 0, 7]));
        let frame = [a.clone(), raw(&[b.clone(), a.clone()])].concat();
        let mut seen = Vec::new();
        each_packet(&frame, &mut |op, body| seen.push((op, body.to_vec()))).unwrap();
        assert_eq!(
            seen,
            vec![
                (op::MESSAGE, b"{\"a\":1}".to_vec()),
                (op::HEARTBEAT_REPLY, vec![0, 0, 0, 7]),
                (op::MESSAGE, b"{\"a\":1}".to_vec()),
            ]
        );
    }

    #[test]
    fn a_lying_packet_header_is_an_error() {
        let a = packet(op::MESSAGE, 0, Bytes::from_static(b"{}"));
        assert!(each_packet(&a[..a.len() - 1], &mut |_, _| {}).is_err());
        assert!(each_packet(&a[..10], &mut |_, _| {}).is_err());
        let mut bad = a.to_vec();
        bad[5] = 15; // header length 15
        assert!(each_packet(&bad, &mut |_, _| {}).is_err());
    }
}
