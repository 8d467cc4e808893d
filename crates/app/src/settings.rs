//! The application's settings: the `[auth]` and `[api]` sections of momo's config.
//! Every field has a default that works; each is documented where it is declared.

use serde::{Deserialize, Serialize};

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
    /// Conversation rules; in the config file under `[chat]` (with the gateway's
    /// settings), copied here when the node starts.
    #[serde(skip)]
    pub conversations: ConversationSettings,
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

/// `[economy]`: coins, diamonds, recharge packages, gifts and withdrawals.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct EconomySettings {
    /// Diamonds an anchor earns per 100 coins spent on gifts to them (rounded down per gift).
    pub diamond_rate_percent: u32,
    /// What viewers can buy.
    pub recharge_packages: Vec<RechargePackage>,
    /// Serve the built-in development payment provider (`/api/v1/payments/dev/...`),
    /// whose checkout pays at once: any signed-in user gets coins for nothing. Off by
    /// default; only for local trials. When on, the log, `/readyz` and the admin
    /// dashboard say so.
    pub dev_payments: bool,
    /// Secret that signs the development provider's callbacks; default: derived from
    /// the access-token secret.
    #[serde(skip_serializing)]
    pub payment_secret: Option<String>,
    /// An order not paid within this many seconds is closed.
    pub order_ttl_secs: u64,
    /// A signed payment callback older than this many seconds is refused (replay window).
    pub callback_max_age_secs: u64,
    /// Most gifts of one kind sent in one request.
    pub max_gift_count: i64,
    /// Smallest withdrawal, in diamonds.
    pub min_withdrawal_diamonds: i64,
    /// Offset of the day and week boundaries of rankings from UTC, in minutes
    /// (480 for China Standard Time).
    pub ranking_utc_offset_minutes: i32,
    /// Daily and weekly rankings older than this many days are deleted.
    pub ranking_keep_days: u32,
}

/// A recharge package: `coins` for `amount_cents` of `currency`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RechargePackage {
    pub id: String,
    pub coins: i64,
    pub amount_cents: i64,
    pub currency: String,
}

impl Default for EconomySettings {
    fn default() -> Self {
        let package = |id: &str, coins: i64, cents: i64| RechargePackage {
            id: id.into(),
            coins,
            amount_cents: cents,
            currency: "CNY".into(),
        };
        Self {
            diamond_rate_percent: 100,
            recharge_packages: vec![
                package("coins_60", 60, 600),
                package("coins_300", 300, 3000),
                package("coins_980", 980, 9800),
                package("coins_1980", 1980, 19800),
                package("coins_6480", 6480, 64800),
            ],
            dev_payments: false,
            payment_secret: None,
            order_ttl_secs: 15 * 60,
            callback_max_age_secs: 300,
            max_gift_count: 9999,
            min_withdrawal_diamonds: 100,
            ranking_utc_offset_minutes: 0,
            ranking_keep_days: 35,
        }
    }
}
