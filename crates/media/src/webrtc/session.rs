//! One WebRTC peer on the shared socket: a str0m session fed by the socket's reader,
//! driven until it ends, with what it does with media left to its [`Role`] — playing a
//! stream out (WHEP, [`super::play`]) or taking one in (WHIP, [`super::ingest`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use str0m::net::Receive;
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::sync::{mpsc, watch};

use super::{Datagram, WebRtc};

/// Installs str0m's crypto (pure Rust) as the process default, once.
pub(crate) fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
}

/// Why a peer ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// `DELETE`, or the server going away.
    Closed,
    NeverConnected,
    Disconnected,
    /// The stream played is over.
    StreamOver,
    /// An operator cut the stream published.
    Cut,
    /// A newer publisher took the stream over.
    Superseded,
    Failed(String),
}

impl Ended {
    fn reason(&self) -> &'static str {
        match self {
            Ended::Closed => "closed",
            Ended::NeverConnected => "never_connected",
            Ended::Disconnected => "disconnected",
            Ended::StreamOver => "stream_over",
            Ended::Cut => "cut",
            Ended::Superseded => "superseded",
            Ended::Failed(_) => "failed",
        }
    }
}

/// What a peer does with media once ICE and DTLS are up.
pub(crate) trait Role: Send + 'static {
    /// What the role waits for besides the network (a frame to send, a timer).
    type Input: Send;

    /// The role's next input; only awaited once the peer is connected.
    fn next(&mut self) -> impl Future<Output = Result<Self::Input, Ended>> + Send;

    /// Acts on an input from [`Role::next`].
    fn act(&mut self, rtc: &mut Rtc, input: Self::Input) -> Result<(), Ended>;

    /// Takes an event of the session (`Connected` included).
    fn event(&mut self, rtc: &mut Rtc, event: Event) -> Result<(), Ended>;

    /// The peer is over, for `ended`.
    fn finish(&mut self, _ended: &Ended) {}
}

/// A peer: its session on the shared socket and its role.
pub(crate) struct Session<R> {
    pub server: Arc<WebRtc>,
    pub session: u64,
    pub kind: &'static str,
    pub rtc: Rtc,
    pub role: R,
}

impl<R: Role> Session<R> {
    /// Runs the peer until it ends, then forgets its routes.
    pub async fn run(
        mut self,
        mut datagrams: mpsc::Receiver<Datagram>,
        mut stop: watch::Receiver<bool>,
    ) {
        let deadline = tokio::time::Instant::now() + self.server.config.connect_timeout;
        let mut connected = false;
        let ended = loop {
            let timeout = match self.drive(&mut connected) {
                Ok(t) => t,
                Err(ended) => break ended,
            };
            // Until connected, wake by the deadline at the latest.
            let mut wake = tokio::time::Instant::from_std(timeout);
            if !connected {
                wake = wake.min(deadline);
            }
            let step = tokio::select! {
                _ = stop.changed() => break Ended::Closed,
                d = datagrams.recv() => {
                    let Some(d) = d else { break Ended::Closed };
                    let local = self.server.arrives_at(d.proto);
                    let Ok(receive) = Receive::new(d.proto, d.source, local, &d.data) else {
                        metrics::counter!("webrtc_datagrams_dropped_total", "reason" => "malformed").increment(1);
                        continue;
                    };
                    self.rtc.handle_input(Input::Receive(d.at, receive))
                        .map_err(|e| Ended::Failed(e.to_string()))
                }
                input = self.role.next(), if connected => match input {
                    Ok(input) => self.role.act(&mut self.rtc, input),
                    Err(ended) => Err(ended),
                },
                _ = tokio::time::sleep_until(wake) => {
                    if !connected && tokio::time::Instant::now() >= deadline {
                        break Ended::NeverConnected;
                    }
                    self.rtc.handle_input(Input::Timeout(Instant::now()))
                        .map_err(|e| Ended::Failed(e.to_string()))
                }
            };
            if let Err(ended) = step {
                break ended;
            }
        };
        if let Ended::Failed(e) = &ended {
            tracing::info!(
                session = self.session,
                kind = self.kind,
                "webrtc peer failed: {e}"
            );
        }
        metrics::counter!("webrtc_sessions_ended_total", "kind" => self.kind, "reason" => ended.reason())
            .increment(1);
        tracing::debug!(
            session = self.session,
            kind = self.kind,
            ?ended,
            "webrtc peer ended"
        );
        self.role.finish(&ended);
        self.rtc.disconnect();
        let _ = self.drive(&mut connected);
        self.server.unregister(self.session);
    }

    /// Sends what the session has to send and hands its events to the role; returns
    /// when it next wants to be woken.
    fn drive(&mut self, connected: &mut bool) -> Result<Instant, Ended> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => return Ok(at),
                Ok(Output::Transmit(t)) => self.server.transmit(&t),
                Ok(Output::Event(event)) => match event {
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        return Err(Ended::Disconnected)
                    }
                    event => {
                        *connected |= matches!(event, Event::Connected);
                        self.role.event(&mut self.rtc, event)?;
                    }
                },
                Err(e) => return Err(Ended::Failed(e.to_string())),
            }
        }
    }
}

impl WebRtc {
    /// Sends one datagram without waiting on the shared socket: when its buffer is full
    /// (a burst), the datagram and those after it wait in the writer task's backlog
    /// until it drains; only a full backlog loses one, which NACKs or the next
    /// keyframe repair.
    pub(crate) fn send(&self, data: &[u8], to: SocketAddr) {
        if !self.backlogged.load(Ordering::Relaxed) {
            match self.socket.try_send_to(data, to) {
                Ok(_) => return,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.backlogged.store(true, Ordering::Relaxed);
                    metrics::counter!("webrtc_send_backlogs_total").increment(1);
                }
                Err(_) => {
                    // A peer gone (ICMP unreachable) or the like: nothing to wait for.
                    metrics::counter!("webrtc_datagrams_unsent_total").increment(1);
                    return;
                }
            }
        }
        if self.backlog.try_send((data.to_vec(), to)).is_err() {
            metrics::counter!("webrtc_datagrams_unsent_total").increment(1);
        }
    }
}
