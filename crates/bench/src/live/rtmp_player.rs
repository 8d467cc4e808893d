//! An RTMP viewer: momo's sans-IO client session in play mode over a socket, counting
//! frames by kind and never decoding them.
//!
//! Cost per read: one `try_read` into the thread's shared buffer (see
//! [`with_read_buffer`]), the session's chunk decoding (its one copy of the bytes),
//! and per frame a relaxed add; the first few video frames are also looked at to judge
//! the start. The only state kept per viewer is the session itself.

use std::io::ErrorKind;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use media::rtmp::{ClientEvent, ClientSession};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::endpoint::RtmpUrl;
use super::player::{with_read_buffer, Phase, PlayerStats, Tally};

/// Plays `url` until the stream ends or the task is aborted, recording into `stats`.
pub async fn play(url: Arc<RtmpUrl>, stats: Arc<PlayerStats>) {
    match run(&url, &stats).await {
        Ok(()) => stats.set_phase(Phase::Ended),
        Err(e) => stats.fail(format!("{e:#}")),
    }
}

/// What one read led to.
enum Next {
    Continue,
    /// The server closed the connection, or ended the stream.
    End,
}

async fn run(url: &RtmpUrl, stats: &PlayerStats) -> Result<()> {
    let started = Instant::now();
    let mut socket = TcpStream::connect(&url.addr)
        .await
        .with_context(|| format!("connect {}", url.addr))?;
    socket.set_nodelay(true)?;
    let mut session = ClientSession::player(&url.app, &url.tc_url, &url.name);
    let mut tally = Tally::new(stats, started);
    loop {
        while let Some(out) = session.poll_output() {
            socket.write_all(&out).await?;
        }
        socket.readable().await?;
        let next = with_read_buffer(|buf| -> Result<Next> {
            let n = match socket.try_read(buf) {
                Ok(0) => return Ok(Next::End),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Next::Continue),
                Err(e) => return Err(e.into()),
            };
            stats.add_bytes(n);
            session.handle_input(&buf[..n])?;
            while let Some(event) = session.poll_event() {
                match event {
                    ClientEvent::Frame(frame) => {
                        tally.frame(frame.kind, frame.timestamp, &frame.payload)
                    }
                    ClientEvent::PlayStarted => stats.set_phase(Phase::Playing),
                    ClientEvent::Status { code, description } if session.is_over() => {
                        bail!("refused: {code} ({description})")
                    }
                    ClientEvent::StreamEnded => return Ok(Next::End),
                    _ => {}
                }
            }
            Ok(Next::Continue)
        })?;
        if let Next::End = next {
            if stats.phase() != Phase::Playing {
                bail!("the server closed the connection before playing");
            }
            return Ok(());
        }
    }
}
