//! Settings of the chat gateway; every field has a default that works.

use std::time::Duration;

/// How the gateway treats connections.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Largest packet body accepted from a client, in bytes.
    pub max_body: usize,
    /// A connection must authenticate within this long.
    pub auth_timeout: Duration,
    /// A connection that sends nothing (not even a heartbeat) for this long is closed.
    pub heartbeat_timeout: Duration,
    /// Frames a connection may have waiting for its socket before messages pushed to it
    /// are dropped.
    pub queue: usize,
    /// Room messages a joiner gets from before it joined.
    pub room_recent: usize,
    /// Room messages a user may send per second, over all their connections (a burst of
    /// twice this is allowed).
    pub send_per_sec: u32,
    /// Longest room message, in characters.
    pub max_text: usize,
    /// A connection whose socket takes this long to accept a write is closed.
    pub write_timeout: Duration,
    /// A shared secret that may call the push API in place of an admin token.
    pub service_token: Option<String>,
    /// Words not allowed in room messages, and what to do about them.
    pub sensitive_words: Vec<String>,
    pub sensitive_mode: super::moderation::WordMode,
    /// How a message reaches many connections. [`Fanout::Shared`] is the one to run;
    /// [`Fanout::Naive`] exists so that benchmarks can show what sharing saves.
    pub fanout: Fanout,
    /// A room whose messages arrive while the previous ones are still being written
    /// (a busy room) gets them in waves at most this often, each member all of a wave
    /// in one write; a quiet room gets each message at once. Zero: never wait.
    pub room_flush: Duration,
    /// Caps on open chat connections, in all and per client address; more are answered
    /// 503 instead of the upgrade.
    pub connections: kit::conn_limits::ConnCaps,
    /// The operator's proxies, whose `X-Forwarded-For` names the client (empty: the TCP
    /// peer is the client).
    pub proxies: Vec<kit::cidr::Cidr>,
}

/// How a message for many connections is built and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fanout {
    /// Encoded and framed once and shared by every recipient; the messages waiting for
    /// a connection are written to it in one vectored write.
    #[default]
    Shared,
    /// Copied and encoded again for every recipient, and written one frame per
    /// message: what a straightforward loop over the members would do.
    Naive,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            max_body: 4096,
            auth_timeout: Duration::from_secs(10),
            heartbeat_timeout: Duration::from_secs(90),
            queue: 256,
            room_recent: 20,
            send_per_sec: 5,
            max_text: 200,
            write_timeout: Duration::from_secs(10),
            service_token: None,
            sensitive_words: Vec::new(),
            sensitive_mode: super::moderation::WordMode::Replace,
            room_flush: Duration::from_millis(200),
            fanout: Fanout::Shared,
            connections: kit::conn_limits::ConnCaps {
                max_total: 100_000,
                max_per_address: 500,
                exempt: Vec::new(),
            },
            proxies: Vec::new(),
        }
    }
}
