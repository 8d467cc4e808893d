//! `upload`: how fast momo takes a large video, next to a bare HTTP handler that only
//! streams the request body into a file on the same disk.
//!
//! Per round it sends the same file (`--size-mb`, default 100 MB, bytes that pass the
//! container check) three ways, one after another: to the bare handler (a hyper server
//! inside this process writing each body chunk to a file under `--dir`), to momo in one
//! multipart `POST /api/v1/videos`, and to momo resumably (`POST /api/v1/uploads`, then
//! `PATCH` chunks of `--chunk-mb`). Throughput is the median over rounds, in MB/s of
//! file bytes; the ratio to the bare handler is what momo's storage path costs. The
//! uploads are not real videos: momo's processing rejects and removes them afterwards.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Args;
use http_body_util::BodyExt;
use hyper::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::api::Api;

const PASSWORD: &str = "bench-password-1";
/// Bytes written to the socket per write call.
const WRITE_BYTES: usize = 256 * 1024;

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Root URL of a running momo server (its `[videos] max_upload_bytes` must allow
    /// --size-mb).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub base: String,
    /// Size of the uploaded file, in MB (10^6 bytes).
    #[arg(long, default_value_t = 100)]
    pub size_mb: u64,
    /// Chunk size of the resumable upload, in MB.
    #[arg(long, default_value_t = 8)]
    pub chunk_mb: u64,
    /// Where the bare handler writes (put it on the disk momo's data dir is on).
    #[arg(long, default_value = "/tmp")]
    pub dir: PathBuf,
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Heading of the Markdown section.
    #[arg(long, default_value = "Video upload throughput")]
    pub title: String,
    /// Also append a Markdown section with the results to this file.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

pub async fn run(a: UploadArgs) -> Result<()> {
    if a.size_mb == 0 || a.chunk_mb == 0 || a.rounds == 0 {
        bail!("--size-mb, --chunk-mb and --rounds must be more than zero");
    }
    let base = a.base.trim_end_matches('/').to_string();
    let api = Api { base: base.clone() };
    let (_, token) = api.user("bench_uploader", PASSWORD).await?;
    let momo: SocketAddr = host_port(&base)?;
    let file = payload(a.size_mb * 1_000_000);
    let bare = bare_server(a.dir.clone()).await?;

    let boundary = "momo-bench-boundary-7d1f";
    let mut multipart = Vec::with_capacity(file.len() + 512);
    multipart.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nbench\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.mp4\"\r\n\
             Content-Type: video/mp4\r\n\r\n"
        )
        .as_bytes(),
    );
    multipart.extend_from_slice(&file);
    multipart.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let multipart = Bytes::from(multipart);
    let content_type = format!("multipart/form-data; boundary={boundary}");

    let mut times: [Vec<f64>; 3] = Default::default();
    for round in 1..=a.rounds {
        let t = Instant::now();
        let (status, _) = send(bare, Method::POST, "/upload", &[], &multipart).await?;
        check(status, 201, "bare handler")?;
        times[0].push(t.elapsed().as_secs_f64());

        let auth = format!("Bearer {token}");
        let t = Instant::now();
        let (status, body) = send(
            momo,
            Method::POST,
            "/api/v1/videos",
            &[("Authorization", &auth), ("Content-Type", &content_type)],
            &multipart,
        )
        .await?;
        check(status, 201, &format!("multipart upload: {body}"))?;
        times[1].push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        resumable(&api, momo, &token, &file, (a.chunk_mb * 1_000_000) as usize).await?;
        times[2].push(t.elapsed().as_secs_f64());
        eprintln!(
            "round {round}: bare {:.2} s, multipart {:.2} s, resumable {:.2} s",
            times[0][round - 1],
            times[1][round - 1],
            times[2][round - 1]
        );
    }

    let mb = a.size_mb as f64;
    let rate = |t: &Vec<f64>| mb / median(t);
    let names = [
        "bare handler (body → file)",
        "momo multipart POST /api/v1/videos",
        "momo resumable (PATCH chunks)",
    ];
    let bare_rate = rate(&times[0]);
    let mut rows = String::new();
    let mut json_rows = Vec::new();
    for (name, t) in names.iter().zip(&times) {
        let r = rate(t);
        rows.push_str(&format!(
            "| {name} | {r:.1} | {:.2} | {:.2} |\n",
            median(t),
            r / bare_rate
        ));
        json_rows.push(json!({"target": name, "mb_per_s": r, "median_s": median(t), "ratio_to_bare": r / bare_rate, "seconds": t}));
    }
    let report = json!({"scenario": "upload", "size_mb": a.size_mb, "chunk_mb": a.chunk_mb, "rounds": a.rounds, "results": json_rows});
    println!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(path) = &a.markdown {
        let section = format!(
            "{head}A {mb} MB file, {rounds} rounds (median), sent over loopback by the bench on the same \
             machine; the bare handler writes to `{dir}`.\n\n\
             | target | MB/s | median s | × bare |\n|---|---:|---:|---:|\n{rows}\n",
            head = crate::context::section_head(&a.title),
            mb = a.size_mb,
            rounds = a.rounds,
            dir = a.dir.display(),
        );
        crate::report::append_section(path, &section)?;
    }
    Ok(())
}

async fn resumable(
    api: &Api,
    momo: SocketAddr,
    token: &str,
    file: &Bytes,
    chunk: usize,
) -> Result<()> {
    let (status, up) = api
        .call(
            Method::POST,
            "/api/v1/uploads",
            Some(token),
            Some(json!({"length": file.len(), "filename": "bench.mp4", "title": "bench"})),
        )
        .await?;
    check(status.as_u16(), 201, &format!("declaring an upload: {up}"))?;
    let id = up["id"].as_str().context("no upload id")?.to_string();
    let auth = format!("Bearer {token}");
    let mut offset = 0usize;
    while offset < file.len() {
        let end = (offset + chunk).min(file.len());
        let off = offset.to_string();
        let (status, body) = send(
            momo,
            Method::PATCH,
            &format!("/api/v1/uploads/{id}"),
            &[
                ("Authorization", &auth),
                ("Upload-Offset", &off),
                ("Content-Type", "application/offset+octet-stream"),
            ],
            &file.slice(offset..end),
        )
        .await?;
        check(status, 200, &format!("chunk at {offset}: {body}"))?;
        offset = end;
    }
    Ok(())
}

fn check(status: u16, want: u16, what: &str) -> Result<()> {
    if status != want {
        bail!("{what}: answered {status}, expected {want}");
    }
    Ok(())
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// A file of `len` bytes that passes the container check (an ISO `ftyp` box first).
fn payload(len: u64) -> Bytes {
    let mut b = Vec::with_capacity(len as usize);
    b.extend_from_slice(&[0, 0, 0, 24]);
    b.extend_from_slice(b"ftypisom");
    let mut x: u32 = 0x9E37_79B9;
    while (b.len() as u64) < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b.extend_from_slice(&x.to_le_bytes());
    }
    b.truncate(len as usize);
    Bytes::from(b)
}

fn host_port(base: &str) -> Result<SocketAddr> {
    let hostport = base
        .strip_prefix("http://")
        .context("--base must be an http:// URL")?
        .split('/')
        .next()
        .unwrap_or("");
    hostport
        .parse()
        .with_context(|| format!("--base must name an IP address and port, not {hostport:?}"))
}

/// One HTTP/1.1 request on a fresh connection, the body written in large slices.
/// Returns the status and the response body.
async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &Bytes,
) -> Result<(u16, String)> {
    let mut sock = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect {addr}"))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    sock.write_all(head.as_bytes()).await?;
    for part in body.chunks(WRITE_BYTES) {
        sock.write_all(part).await?;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(600), sock.read_to_end(&mut answer))
        .await
        .context("no answer in 600 s")??;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status in the answer")?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The bare handler: accepts any request, writes its body to a file chunk by chunk,
/// answers 201 and removes the file.
async fn bare_server(dir: PathBuf) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let mut n = 0u64;
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            n += 1;
            let path = dir.join(format!("momo-bench-bare-{}-{n}", std::process::id()));
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let path = path.clone();
                        async move {
                            let mut file = tokio::fs::File::create(&path).await?;
                            let mut body = req.into_body();
                            while let Some(frame) = body.frame().await {
                                if let Ok(data) = frame.map_err(std::io::Error::other)?.into_data()
                                {
                                    file.write_all(&data).await?;
                                }
                            }
                            file.flush().await?;
                            drop(file);
                            let _ = tokio::fs::remove_file(&path).await;
                            let mut res = hyper::Response::new(http_body_util::Full::new(
                                Bytes::from_static(b"{}"),
                            ));
                            *res.status_mut() = hyper::StatusCode::CREATED;
                            Ok::<_, std::io::Error>(res)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(sock), service)
                    .await;
            });
        }
    });
    Ok(addr)
}
