//! What a session needs to know about its connection and the gateway, fixed when the
//! connection starts.

use std::time::Duration;

use crate::gateway::{GatewayConfig, Wire};

/// Settings of one session; [`SessionConfig::new`] takes them from the gateway's.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The wire to answer on until the first packet says which (over WebSocket, the
    /// type of its frame decides): binary for a WebSocket, goim's TCP for TCP.
    pub wire: Wire,
    /// The access token the WebSocket's URL carried, for an auth body without one.
    pub url_token: Option<String>,
    /// The first packet (auth) must come within this long.
    pub auth_timeout: Duration,
    /// A signed-in connection from which nothing arrives for this long is closed.
    pub heartbeat_timeout: Duration,
    /// Longest room message, in characters.
    pub max_text: usize,
    /// Whether the app serves conversations (ops 18, 20, 22, 30); `unavailable` if not.
    pub history: bool,
    /// Whether the app serves the notifications inbox (ops 26, 28); `unavailable` if not.
    pub inbox: bool,
}

impl SessionConfig {
    /// A session speaking `wire` first, with the gateway's timeouts and limits; it
    /// serves no conversations and no inbox until those are switched on.
    pub fn new(gateway: &GatewayConfig, wire: Wire) -> SessionConfig {
        SessionConfig {
            wire,
            url_token: None,
            auth_timeout: gateway.auth_timeout,
            heartbeat_timeout: gateway.heartbeat_timeout,
            max_text: gateway.max_text,
            history: false,
            inbox: false,
        }
    }
}
