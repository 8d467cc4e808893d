//! `[auth]` and `[cache]` of momo's config: tokens and login protection, and the
//! in-process caches of hot reads.

use serde::{Deserialize, Serialize};

/// The identity context's settings.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub auth: AuthSettings,
    pub cache: CacheSettings,
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
    /// Take the client address from `X-Forwarded-For` when the request comes from one of
    /// `trusted_proxies`: the rightmost entry that is not itself a trusted proxy, as
    /// nginx's realip module does (only behind a proxy you run).
    pub trust_forwarded_for: bool,
    /// The proxies whose `X-Forwarded-For` is believed, as address ranges
    /// (`10.0.0.0/8`, `::1/128`). Default: this machine.
    pub trusted_proxies: Vec<String>,
    /// Failed logins for one username from one client address before each further
    /// attempt from there is slowed.
    pub login_free_failures: u32,
    /// Failed logins for one username from one client address at which attempts from
    /// there are refused (429). Other addresses are not refused: the owner can still
    /// sign in while someone else guesses.
    pub login_max_failures: u32,
    /// Failed logins per client address, whatever the username, at which attempts are
    /// refused (429).
    pub login_ip_max_failures: u32,
    /// Failed logins for one username from all addresses before every attempt on it is
    /// slowed, doubling with each further failure up to `login_user_max_delay_ms`
    /// (never refused, so the right password still gets through).
    pub login_user_free_failures: u32,
    /// The longest such slowing, in milliseconds.
    pub login_user_max_delay_ms: u64,
    /// How long failures are remembered, and a refused key stays locked, in seconds.
    pub login_lock_secs: u64,
    /// Accounts one client address may register per hour (429 past it).
    pub register_per_hour: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            trust_forwarded_for: false,
            trusted_proxies: vec!["127.0.0.0/8".into(), "::1/128".into()],
            login_free_failures: 3,
            login_max_failures: 10,
            login_ip_max_failures: 50,
            login_user_free_failures: 20,
            login_user_max_delay_ms: 8_000,
            login_lock_secs: 15 * 60,
            register_per_hour: 10,
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
