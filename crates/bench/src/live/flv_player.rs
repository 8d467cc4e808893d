//! An HTTP-FLV viewer: one GET over a plain `TcpStream`, the answer's tag headers
//! counted as they pass.
//!
//! Cost per read: one `try_read` into the thread's shared buffer (see
//! [`with_read_buffer`]), a walk over the chunked framing and the FLV tag headers
//! ([`Body`], [`FlvScanner`]), and per tag a relaxed add. Bodies are stepped over in
//! place; nothing but a few integers is kept per viewer between reads.

use std::io::ErrorKind;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use media::frame::FrameKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::endpoint::HttpUrl;
use super::flv_scan::FlvScanner;
use super::http_stream::{parse_head, Body};
use super::player::{with_read_buffer, Phase, PlayerStats, Tally};

/// Plays `url` until the server ends the response or the task is aborted, recording
/// into `stats`.
pub async fn play(url: Arc<HttpUrl>, stats: Arc<PlayerStats>) {
    match run(&url, &stats).await {
        Ok(()) => stats.set_phase(Phase::Ended),
        Err(e) => stats.fail(format!("{e:#}")),
    }
}

/// Takes the body's next bytes; true once the body has ended.
fn take(
    body: &mut Body,
    scanner: &mut FlvScanner,
    tally: &mut Tally<'_>,
    data: &[u8],
) -> Result<bool> {
    let mut broken = None;
    let ended = body.feed(data, |payload| {
        if broken.is_some() {
            return;
        }
        let scanned = scanner.push(payload, |tag| {
            if let Some(kind) = FrameKind::from_type_id(tag.tag_type) {
                tally.frame(kind, tag.timestamp, tag.peek);
            }
        });
        broken = scanned.err();
    })?;
    match broken {
        Some(e) => Err(e.into()),
        None => Ok(ended),
    }
}

async fn run(url: &HttpUrl, stats: &PlayerStats) -> Result<()> {
    let started = Instant::now();
    let mut socket = TcpStream::connect(&url.addr)
        .await
        .with_context(|| format!("connect {}", url.addr))?;
    socket.set_nodelay(true)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: momo-bench\r\nAccept: */*\r\n\r\n",
        url.path, url.host
    );
    socket.write_all(request.as_bytes()).await?;

    // The head is read into a buffer of its own, dropped once it is parsed.
    let mut head_buf = Vec::with_capacity(1024);
    let (head, len) = loop {
        if socket.read_buf(&mut head_buf).await? == 0 {
            bail!("the server closed the connection before answering");
        }
        if let Some(parsed) = parse_head(&head_buf)? {
            break parsed;
        }
    };
    stats.add_bytes(head_buf.len());
    if head.status != 200 {
        bail!("HTTP {}", head.status);
    }
    stats.set_phase(Phase::Playing);
    let mut body = Body::new(head.framing);
    let mut scanner = FlvScanner::new();
    let mut tally = Tally::new(stats, started);
    if take(&mut body, &mut scanner, &mut tally, &head_buf[len..])? {
        return Ok(());
    }
    drop(head_buf);

    loop {
        socket.readable().await?;
        let ended = with_read_buffer(|buf| -> Result<bool> {
            match socket.try_read(buf) {
                Ok(0) => Ok(true),
                Ok(n) => {
                    stats.add_bytes(n);
                    take(&mut body, &mut scanner, &mut tally, &buf[..n])
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
                Err(e) => Err(e.into()),
            }
        })?;
        if ended {
            return Ok(());
        }
    }
}
