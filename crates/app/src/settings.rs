//! The application's settings: the `[auth]` and `[api]` sections of momo's config.
//! Every field has a default that works; each is documented where it is declared.

use serde::{Deserialize, Serialize};

pub use identity::{AuthSettings, CacheSettings};
pub use live::{EconomySettings, LiveSettings, RechargePackage, WebRtcSettings};
pub use talk::ConversationSettings;
pub use videos::VideoSettings;

/// Settings of the application API.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    pub auth: AuthSettings,
    pub api: ApiSettings,
    pub cache: CacheSettings,
    pub live: LiveSettings,
    pub economy: EconomySettings,
    pub videos: VideoSettings,
    pub webrtc: WebRtcSettings,
    /// Conversation rules; in the config file under `[chat]` (with the gateway's
    /// settings), copied here when the node starts.
    #[serde(skip)]
    pub conversations: ConversationSettings,
}

/// `[api]`: limits of the HTTP API.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ApiSettings {
    /// Largest JSON request body accepted, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 408, in seconds.
    pub request_timeout_secs: u64,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            request_timeout_secs: 30,
        }
    }
}
