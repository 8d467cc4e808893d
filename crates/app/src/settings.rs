//! The application's settings: the `[auth]` and `[api]` sections of momo's config.
//! Every field has a default that works; each is documented where it is declared.

use serde::{Deserialize, Serialize};

/// Settings of the application API.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    pub auth: AuthSettings,
    pub api: ApiSettings,
    pub cache: CacheSettings,
    pub live: LiveSettings,
}

/// `[auth]`: tokens and login protection.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AuthSettings {
    /// Secret for signing access tokens (HS256). When unset, momo keeps a random one in
    /// `DATA_DIR/jwt_secret`; set it explicitly when several nodes share users.
    #[serde(skip_serializing)]
    pub jwt_secret: Option<String>,
    /// Lifetime of an access token, in seconds.
    pub access_ttl_secs: u64,
    /// Lifetime of a refresh token, in seconds; each use rotates it.
    pub refresh_ttl_secs: u64,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy you run).
    pub trust_forwarded_for: bool,
    /// Failed logins per username before each further attempt is slowed.
    pub login_free_failures: u32,
    /// Failed logins per username at which attempts are refused (429).
    pub login_max_failures: u32,
    /// Failed logins per client address at which attempts are refused (429).
    pub login_ip_max_failures: u32,
    /// How long failures are remembered, and a refused key stays locked, in seconds.
    pub login_lock_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            trust_forwarded_for: false,
            login_free_failures: 3,
            login_max_failures: 10,
            login_ip_max_failures: 50,
            login_lock_secs: 15 * 60,
        }
    }
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

/// `[cache]`: in-process caches of hot reads.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct CacheSettings {
    /// How long a cached profile or follow edge may be served, in seconds; it is also
    /// dropped at once when changed through this node. 0 turns the cache off.
    pub profile_ttl_secs: u64,
    /// Most entries per cache.
    pub capacity: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            profile_ttl_secs: 10,
            capacity: 100_000,
        }
    }
}

/// `[live]`: how rooms tell encoders and players where to go.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct LiveSettings {
    /// Base of play URLs, e.g. `https://live.example.com`; default: `http://` + the
    /// request's Host.
    pub public_http_url: Option<String>,
    /// Base of RTMP URLs, e.g. `rtmp://live.example.com/live`; default: the request's
    /// host name, the RTMP port and `/live`.
    pub public_rtmp_url: Option<String>,
    /// The RTMP port for the default URLs (set from the `rtmp` address at start).
    pub rtmp_port: u16,
    /// When set, play URLs must be signed with this secret (`?expires=…&sign=…`);
    /// rooms hand out signed URLs, and unsigned or expired ones are refused (403).
    #[serde(skip_serializing)]
    pub play_secret: Option<String>,
    /// How long a signed play URL stays valid, in seconds.
    pub play_url_ttl_secs: u64,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            public_http_url: None,
            public_rtmp_url: None,
            rtmp_port: 1935,
            play_secret: None,
            play_url_ttl_secs: 3600,
        }
    }
}
