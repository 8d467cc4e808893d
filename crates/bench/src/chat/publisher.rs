//! The sender of a broadcast: stamped messages at a fixed rate, on a thread of its own.
//!
//! To momo through the push API (`POST /api/v1/push/rooms/{id}` with the service token,
//! one keep-alive connection, each request answered before the next), to nats-server
//! as `PUB` on a plain TCP client connection. Either way the body is
//! [`stamped_body`]: its send time and padding. The publisher has its own thread and
//! runtime so that thousands of busy clients cannot delay its ticks.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::MissedTickBehavior;

use super::latency::{now_us, stamped_body};
use super::nats_proto::{Event, Parser};
use crate::load::Conn;

/// Where messages go.
#[derive(Debug, Clone)]
pub enum Sink {
    /// momo's push API for room `room` (the bare id), with the service token.
    Momo {
        http: SocketAddr,
        room: String,
        token: String,
    },
    /// A nats-server client port, publishing on `subject`.
    Nats { addr: SocketAddr, subject: String },
}

/// A running publisher.
pub struct Publisher {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<Result<()>>,
}

impl Publisher {
    /// Connects, then sends `rate` messages per second of `size` bytes until stopped.
    pub fn start(sink: Sink, rate: u32, size: usize) -> Result<Self> {
        if rate == 0 {
            bail!("a rate of 0 messages per second sends nothing");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
        let (s, n) = (stop.clone(), sent.clone());
        let thread = std::thread::Builder::new()
            .name("chat-publisher".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(publish(sink, rate, size, s, n, ready_tx))
            })?;
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => Ok(Publisher { stop, sent, thread }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(anyhow!("the publisher did not connect within 10 s")),
        }
    }

    /// Messages sent so far (answered by momo, written to NATS).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Stops and reports whether the publisher failed on the way.
    pub fn stop(self) -> Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| anyhow!("the publisher thread panicked"))??;
        Ok(self.sent.load(Ordering::Relaxed))
    }
}

async fn publish(
    sink: Sink,
    rate: u32,
    size: usize,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    ready: std::sync::mpsc::Sender<Result<()>>,
) -> Result<()> {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    // Behind schedule (a slow answer), send the missed messages at once: the rate is
    // what was asked, and each stamp still says when its message really left.
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    match sink {
        Sink::Momo { http, room, token } => {
            let mut conn = match Conn::open(http).await {
                Ok(c) => c,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return Ok(());
                }
            };
            let _ = ready.send(Ok(()));
            let path = format!("/api/v1/push/rooms/{room}");
            let auth = format!("Bearer {token}");
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let body = format!("{{\"op\":1000,\"body\":{}}}", stamped_body(now_us(), size));
                let req = Request::builder()
                    .method(Method::POST)
                    .uri(&path)
                    .header(HOST, http.to_string())
                    .header(AUTHORIZATION, &auth)
                    .header(CONTENT_TYPE, "application/json")
                    .body(Full::new(Bytes::from(body)))?;
                conn.sender.ready().await.context("push connection")?;
                let resp = conn.sender.send_request(req).await.context("push")?;
                let status = resp.status();
                let answer = resp.into_body().collect().await?.to_bytes();
                if !status.is_success() {
                    bail!(
                        "push answered {status}: {}",
                        String::from_utf8_lossy(&answer)
                    );
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }
        Sink::Nats { addr, subject } => {
            let mut stream = match TcpStream::connect(addr).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = ready.send(Err(anyhow!("cannot connect to nats at {addr}: {e}")));
                    return Ok(());
                }
            };
            stream.set_nodelay(true)?;
            stream
                .write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
                .await?;
            let _ = ready.send(Ok(()));
            let (mut rd, mut wr) = stream.into_split();
            let mut parser = Parser::default();
            let mut buf = vec![0u8; 4096];
            while !stop.load(Ordering::Relaxed) {
                tokio::select! {
                    _ = tick.tick() => {
                        let body = stamped_body(now_us(), size);
                        let msg = format!("PUB {subject} {}\r\n{body}\r\n", body.len());
                        wr.write_all(msg.as_bytes()).await.context("nats publish")?;
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    n = rd.read(&mut buf) => {
                        let n = n.context("nats publisher read")?;
                        if n == 0 {
                            bail!("nats closed the publisher's connection");
                        }
                        parser.feed(&buf[..n]);
                        while let Some(event) = parser.next_event()? {
                            match event {
                                Event::Ping => wr.write_all(b"PONG\r\n").await?,
                                Event::Err(why) => bail!("nats refused the publisher: {why}"),
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
