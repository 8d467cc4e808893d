//! Counting what the nodes of a cluster say to each other about one room: a core NATS
//! subscriber on `momo.room.{room}.>` of the cluster's own NATS, on a thread of its own.
//!
//! Only the node a message was pushed on publishes it, once, and every other node with
//! members in the room hears that one publish; so the count per room message should be
//! exactly one, whatever the number of nodes. The subscriber counts per subject while
//! a window is open (`.push` carries the messages; anything else shows up by name), and
//! answers the server's `PING`s so that it is not cut off as a dead client.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::nats_proto::{Event, Parser};

/// A running subscriber.
pub struct NatsCounter {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    open: AtomicBool,
    counts: Mutex<BTreeMap<String, u64>>,
}

impl NatsCounter {
    /// Connects to `url` (`nats://host:port`), subscribes to `subject` and returns once
    /// the server has confirmed the subscription (the `PONG` after `SUB`).
    pub fn start(url: &str, subject: &str) -> Result<Self> {
        let addr = url
            .trim()
            .trim_start_matches("nats://")
            .split(',')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut stream =
            TcpStream::connect(&addr).with_context(|| format!("cannot connect to nats {addr}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_millis(200)))?;
        let hello = format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"name\":\"momo-bench counter\"}}\r\n\
             SUB {subject} 1\r\nPING\r\n"
        );
        stream.write_all(hello.as_bytes())?;
        let shared = Arc::new(Shared::default());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("nats-counter".into())
            .spawn(move || count(stream, &s, ready_tx))?;
        let mut counter = NatsCounter {
            shared,
            thread: Some(thread),
        };
        if ready_rx.recv_timeout(Duration::from_secs(10)).is_err() {
            return Err(counter
                .finish()
                .err()
                .unwrap_or_else(|| anyhow!("nats did not confirm the subscription")));
        }
        Ok(counter)
    }

    /// Clears the counts and starts counting.
    pub fn open(&self) {
        if let Ok(mut c) = self.shared.counts.lock() {
            c.clear();
        }
        self.shared.open.store(true, Ordering::Relaxed);
    }

    /// Stops counting; messages seen in the window, per subject.
    pub fn close(&self) -> BTreeMap<String, u64> {
        self.shared.open.store(false, Ordering::Relaxed);
        self.shared
            .counts
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// Stops the subscriber and reports whether it failed on the way.
    pub fn finish(&mut self) -> Result<()> {
        self.shared.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow!("the nats counter thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for NatsCounter {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

fn count(mut stream: TcpStream, shared: &Shared, ready: std::sync::mpsc::Sender<()>) -> Result<()> {
    let mut parser = Parser::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut subscribed = false;
    let started = Instant::now();
    while !shared.stop.load(Ordering::Relaxed) {
        let n = match stream.read(&mut buf) {
            Ok(0) => bail!("nats closed the counter's connection"),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if !subscribed && started.elapsed() > Duration::from_secs(10) {
                    bail!("no PONG after SUB");
                }
                continue;
            }
            Err(e) => return Err(e).context("nats counter read"),
        };
        parser.feed(&buf[..n]);
        while let Some(event) = parser.next_event()? {
            match event {
                Event::Msg { subject, .. } if shared.open.load(Ordering::Relaxed) => {
                    if let Ok(mut c) = shared.counts.lock() {
                        *c.entry(subject).or_insert(0) += 1;
                    }
                }
                Event::Ping => stream.write_all(b"PONG\r\n")?,
                Event::Pong if !subscribed => {
                    subscribed = true;
                    let _ = ready.send(());
                }
                Event::Err(why) => bail!("nats refused the counter: {why}"),
                _ => {}
            }
        }
    }
    Ok(())
}
