//! The closed-loop load: N connections, each sending its next request as soon as the
//! previous response has been read to the end.
//!
//! Closed loop means the offered load adapts to the server: a slow server gets fewer
//! requests, and the throughput measured is what the server can sustain with N clients
//! waiting on it. Each connection is one tokio task holding one keep-alive HTTP/1.1
//! connection (hyper's low-level client, no pool between us and the socket). Per request
//! it costs a clone of the prepared request and one `Instant::now()` pair; the sample is
//! pushed to a `Vec` owned by the task, so connections share nothing while running.
//!
//! A phase is a warmup followed by a measured window on the same connections. Responses
//! that complete inside the window are counted; a request still in flight at the end is
//! abandoned, so a phase always ends on time even if the server stops answering.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep_until, timeout, timeout_at, Instant};

use crate::target::Target;

/// Pause after a failed connect. Without it a refused port turns every connection into
/// a busy loop that burns the CPU the server under test needs, and reports millions of
/// identical errors.
const CONNECT_BACKOFF: Duration = Duration::from_millis(20);

/// What one phase measured, summed over its connections.
#[derive(Debug, Default)]
pub struct Tally {
    /// Responses completed inside the measured window, whatever their status.
    pub requests: u64,
    /// Of those, how many had a status outside 200–299.
    pub non_2xx: u64,
    /// Failed connects and broken exchanges inside the measured window.
    pub errors: u64,
    /// Latency of each counted response, request start to last body byte, in µs.
    pub latencies_us: Vec<u64>,
}

impl Tally {
    /// Adds another tally's counts and samples to this one.
    pub fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.non_2xx += other.non_2xx;
        self.errors += other.errors;
        self.latencies_us.extend(other.latencies_us);
    }

    fn record(&mut self, status: StatusCode, latency: Duration) {
        self.requests += 1;
        if !status.is_success() {
            self.non_2xx += 1;
        }
        self.latencies_us
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Errors during warmup are not counted, like responses during warmup.
    fn error_at(&mut self, at: Instant, window: Window) {
        if at >= window.measure_from {
            self.errors += 1;
        }
    }
}

/// When a phase starts counting and when it stops.
#[derive(Debug, Clone, Copy)]
struct Window {
    measure_from: Instant,
    end: Instant,
}

/// Runs `connections` connections against `target` for `warmup` then `duration`, and
/// returns what was measured during `duration`.
pub async fn run_phase(
    target: &Target,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<Tally> {
    let target = Arc::new(target.clone());
    run_phase_each(vec![target; connections], warmup, duration).await
}

/// Like [`run_phase`], one connection per target: for loads where each client is a
/// different user (its own token, its own keys).
pub async fn run_phase_each(
    targets: Vec<Arc<Target>>,
    warmup: Duration,
    duration: Duration,
) -> Result<Tally> {
    let Some(first) = targets.first() else {
        return Ok(Tally::default());
    };
    // Resolve once per phase, not once per reconnect: the name lookup is not what is
    // being measured.
    let addr = resolve(first).await?;
    let start = Instant::now();
    let window = Window {
        measure_from: start + warmup,
        end: start + warmup + duration,
    };
    let mut tasks = JoinSet::new();
    for target in targets {
        tasks.spawn(connection_loop(target, addr, window));
    }
    let mut total = Tally::default();
    while let Some(done) = tasks.join_next().await {
        total.merge(done.context("a connection task panicked")?);
    }
    Ok(total)
}

/// Sends one request on a fresh connection and returns the status and body; for the
/// set-up steps of a scenario, not for measuring. Gives up after `limit`.
pub async fn fetch(target: &Target, limit: Duration) -> Result<(StatusCode, Bytes)> {
    let exchange = async {
        let addr = resolve(target).await?;
        let mut conn = Conn::open(addr).await?;
        conn.sender.ready().await?;
        let resp = conn.sender.send_request(target.request()).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, body))
    };
    timeout(limit, exchange)
        .await
        .map_err(|_| {
            anyhow!(
                "{} {} did not answer within {limit:?}",
                target.method,
                target.url
            )
        })?
        .with_context(|| format!("{} {}", target.method, target.url))
}

async fn resolve(target: &Target) -> Result<SocketAddr> {
    tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .with_context(|| format!("target {}: cannot resolve {}", target.name, target.host))?
        .next()
        .ok_or_else(|| anyhow!("target {}: {} has no address", target.name, target.host))
}

/// One client connection: the handle requests are sent through, and the task that
/// drives the socket. Dropping it aborts that task, which closes the socket even if a
/// response is still owed (the phase is over; nobody will read it).
pub(crate) struct Conn {
    pub(crate) sender: SendRequest<Full<Bytes>>,
    driver: JoinHandle<()>,
}

impl Conn {
    pub(crate) async fn open(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        // Requests are small and sent whole; Nagle would only add delay.
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(async move {
            // The error, if any, also reaches the sender as a failed request, which
            // is where it is counted.
            let _ = connection.await;
        });
        Ok(Self { sender, driver })
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// The life of one connection during a phase.
async fn connection_loop(target: Arc<Target>, addr: SocketAddr, window: Window) -> Tally {
    let mut tally = Tally::default();
    let mut conn: Option<Conn> = None;
    while Instant::now() < window.end {
        let mut c = match conn.take() {
            Some(c) if !c.sender.is_closed() => c,
            // None yet, or the server closed the last one (Connection: close, idle
            // timeout): open another. Closing is the server's right, not an error.
            _ => match timeout_at(window.end, Conn::open(addr)).await {
                Err(_) => break,
                Ok(Ok(c)) => c,
                Ok(Err(_)) => {
                    tally.error_at(Instant::now(), window);
                    sleep_until((Instant::now() + CONNECT_BACKOFF).min(window.end)).await;
                    continue;
                }
            },
        };
        match timeout_at(window.end, c.sender.ready()).await {
            Err(_) => break,
            // Closed between two requests: reconnect on the next turn.
            Ok(Err(_)) => continue,
            Ok(Ok(())) => {}
        }
        let started = Instant::now();
        match timeout_at(window.end, exchange(&mut c.sender, &target)).await {
            // Still in flight when the phase ended: neither a response nor an error.
            Err(_) => break,
            Ok(Ok(status)) => {
                let done = Instant::now();
                if done >= window.measure_from {
                    tally.record(status, done - started);
                }
                conn = Some(c);
            }
            Ok(Err(_)) => tally.error_at(Instant::now(), window),
        }
    }
    tally
}

/// One request and its whole response body, which is read and thrown away: the time
/// to the last byte is the latency a client sees.
async fn exchange(sender: &mut SendRequest<Full<Bytes>>, target: &Target) -> Result<StatusCode> {
    let resp = sender.send_request(target.request()).await?;
    let status = resp.status();
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        frame?;
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use axum::http::{header, HeaderMap, StatusCode as AxumStatus};
    use axum::routing::{get, post};
    use axum::Router;
    use hyper::Method;

    use super::*;

    /// A tiny server on an ephemeral loopback port. `hits` counts what it answered.
    async fn serve(hits: Arc<AtomicU64>) -> SocketAddr {
        let ok = {
            let hits = hits.clone();
            move || async move {
                hits.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        };
        let echo = {
            let hits = hits.clone();
            move |headers: HeaderMap, body: axum::body::Bytes| async move {
                hits.fetch_add(1, Ordering::Relaxed);
                let typed = headers
                    .get(header::CONTENT_TYPE)
                    .is_some_and(|v| v == "application/json");
                let sized = headers
                    .get(header::CONTENT_LENGTH)
                    .is_some_and(|v| v.as_bytes() == body.len().to_string().as_bytes());
                if typed && sized && body.as_ref() == br#"{"n":1}"# {
                    AxumStatus::CREATED
                } else {
                    AxumStatus::BAD_REQUEST
                }
            }
        };
        let closing = {
            let hits = hits.clone();
            move || async move {
                hits.fetch_add(1, Ordering::Relaxed);
                ([(header::CONNECTION, "close")], "bye")
            }
        };
        let app = Router::new()
            .route("/ok", get(ok))
            .route("/echo", post(echo))
            .route("/close", get(closing))
            .route("/teapot", get(|| async { AxumStatus::IM_A_TEAPOT }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    async fn phase(target: &Target) -> Tally {
        let run = run_phase(
            target,
            4,
            Duration::from_millis(200),
            Duration::from_millis(800),
        );
        // The phase must end by itself, shortly after warmup + duration.
        timeout(Duration::from_secs(5), run).await.unwrap().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closed_loop_counts_responses_and_latencies() {
        let hits = Arc::new(AtomicU64::new(0));
        let addr = serve(hits.clone()).await;
        let t = Target::new("ok", Method::GET, &format!("http://{addr}/ok")).unwrap();
        let tally = phase(&t).await;
        assert!(tally.requests > 10, "only {} requests", tally.requests);
        assert_eq!(tally.latencies_us.len() as u64, tally.requests);
        assert_eq!((tally.non_2xx, tally.errors), (0, 0));
        // Warmup requests reached the server but were not counted.
        assert!(hits.load(Ordering::Relaxed) > tally.requests);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn json_posts_carry_type_and_length() {
        let addr = serve(Arc::default()).await;
        let t = Target::new("echo", Method::POST, &format!("http://{addr}/echo"))
            .unwrap()
            .json_body(r#"{"n":1}"#)
            .unwrap();
        let tally = phase(&t).await;
        assert!(tally.requests > 10);
        assert_eq!((tally.non_2xx, tally.errors), (0, 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reconnects_when_the_server_closes() {
        let addr = serve(Arc::default()).await;
        let t = Target::new("close", Method::GET, &format!("http://{addr}/close")).unwrap();
        let tally = phase(&t).await;
        assert!(tally.requests > 10);
        assert_eq!(tally.errors, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn non_2xx_and_refused_connects_are_counted() {
        let addr = serve(Arc::default()).await;
        let t = Target::new("tea", Method::GET, &format!("http://{addr}/teapot")).unwrap();
        let tally = phase(&t).await;
        assert!(tally.requests > 0);
        assert_eq!(tally.non_2xx, tally.requests);

        // A port nobody listens on: bind one, note it, close it.
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let t = Target::new("gone", Method::GET, &format!("http://127.0.0.1:{port}/")).unwrap();
        let tally = phase(&t).await;
        assert_eq!(tally.requests, 0);
        assert!(tally.errors > 0);
    }

    #[tokio::test]
    async fn fetch_returns_status_and_body() {
        let addr = serve(Arc::default()).await;
        let t = Target::new("ok", Method::GET, &format!("http://{addr}/ok")).unwrap();
        let (status, body) = fetch(&t, Duration::from_secs(5)).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.as_ref(), b"ok");
    }
}
