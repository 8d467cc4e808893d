//! `[live]` and `[economy]` of momo's config: where rooms send encoders and players,
//! and the rules of coins, diamonds, recharges, gifts and withdrawals.

use serde::{Deserialize, Serialize};

/// The live context's settings.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub live: LiveSettings,
    pub economy: EconomySettings,
    pub webrtc: WebRtcSettings,
    /// How many entries each of the context's caches holds (`cache.capacity`).
    pub cache_capacity: u64,
}

/// `[webrtc]`: the STUN and TURN servers clients are told about. Empty by default.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct WebRtcSettings {
    /// STUN servers (`stun:stun.example.com:3478`).
    pub stun_urls: Vec<String>,
    /// TURN servers (`turn:turn.example.com:3478?transport=udp`,
    /// `turns:turn.example.com:443?transport=tcp`), given out with credentials only
    /// when `turn_secret` is set.
    pub turn_urls: Vec<String>,
    /// coturn's `static-auth-secret` (`use-auth-secret`): credentials are minted with it.
    #[serde(skip_serializing)]
    pub turn_secret: Option<String>,
    /// How long a TURN credential works, in seconds (at least 60).
    pub turn_ttl_secs: u64,
}

impl Default for WebRtcSettings {
    fn default() -> Self {
        Self {
            stun_urls: Vec::new(),
            turn_urls: Vec::new(),
            turn_secret: None,
            turn_ttl_secs: 86_400,
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
