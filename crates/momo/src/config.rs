//! momo's configuration: one struct, filled from defaults, then a TOML file, then
//! `MOMO_*` environment variables, then command-line flags (each overriding the last).
//!
//! Environment names follow the keys: `MOMO_DATA_DIR`, `MOMO_HTTP`, `MOMO_DATABASE_URL`;
//! nested keys use a double underscore, e.g. `MOMO_AUTH__ACCESS_TTL_SECS=600`.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// Every setting of a momo node.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    /// Where momo keeps its SQLite database, secrets and media. Created if missing.
    pub data_dir: PathBuf,
    /// Address of the HTTP server (API, web pages, HTTP-FLV, HLS, WebSocket).
    pub http: String,
    /// Address of the RTMP server (publishing and playing live streams).
    pub rtmp: String,
    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST/DB`.
    /// Default: the SQLite file `momo.db` in the data directory.
    pub database_url: Option<String>,
    /// Largest number of database connections (default: 8 on SQLite, 16 on PostgreSQL).
    pub database_max_connections: Option<u32>,
    /// On SQLite, what an acknowledged write (a gift, a payment) survives: `normal`, a
    /// crash of momo (the last moments before a power cut may be lost); `full`, a power
    /// cut too, at the cost of an fsync per commit. PostgreSQL keeps its own setting.
    pub database_synchronous: Synchronous,
    /// Log format on stderr: `text` (for people) or `json` (for collectors).
    pub log_format: LogFormat,
    /// Log filter, in `RUST_LOG` syntax (`RUST_LOG` itself wins when set).
    pub log_level: String,
    /// Seconds to let in-flight requests finish after a stop signal.
    pub shutdown_grace_secs: u64,
    /// Seconds an HTTP connection's write may make no progress (a viewer or client that
    /// stopped reading) before the connection is closed; 0: never.
    pub http_write_timeout_secs: u64,
    /// Connections the kernel may hold for the HTTP and RTMP listeners before momo
    /// accepts them (capped by `net.core.somaxconn`): room for a crowd arriving at once
    /// when a popular stream starts.
    pub listen_backlog: u32,
    /// Seconds an HTTP client has to send a request's head, counted from when the
    /// connection is ready for one: a client trickling its head is cut off, and an idle
    /// kept-alive connection is closed after this too.
    pub http_header_timeout_secs: u64,
    /// Most open HTTP connections (HTTP-FLV viewers and WebSockets before their upgrade
    /// included); more are answered 503. 0: no cap.
    pub http_max_connections: usize,
    /// Most open HTTP connections from one client address (`auth.trusted_proxies` are
    /// exempt when `auth.trust_forwarded_for` is on); more are answered 503. 0: no cap.
    pub http_max_connections_per_ip: usize,
    /// Live media: `[media]`.
    pub media: MediaSettings,
    /// The chat gateway: `[chat]`.
    pub chat: ChatSettings,
    /// Running several nodes together: `[cluster]`.
    pub cluster: ClusterSettings,
    /// Settings of the application API: `[auth]`, `[api]`, `[cache]`, `[live]` and `[economy]`.
    #[serde(flatten)]
    pub app: app::Settings,
}

/// `[cluster]`: several momo nodes behind a load balancer, on one PostgreSQL database.
/// Off (one node, in-process events) while `nats_url` is unset.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ClusterSettings {
    /// NATS server(s) that carry events between nodes (`nats://10.0.0.5:4222`, several
    /// separated by commas). Setting it turns cluster mode on.
    pub nats_url: Option<String>,
    /// Redis (`redis://10.0.0.6:6379`) that keeps what nodes count together: sign-in and
    /// registration limits, online counts. Without it each node counts alone.
    pub redis_url: Option<String>,
    /// What every Redis key of this cluster starts with (default `momo`), so that one
    /// Redis can serve several clusters.
    pub redis_prefix: Option<String>,
    /// This node's name among the others (in logs and NATS's monitoring); default: the
    /// host name and the process id.
    pub node_id: Option<String>,
    /// Where the other nodes reach this node's RTMP server (`10.0.0.7:1935`), to pull
    /// the streams published here; default: the `rtmp` listen address, with this
    /// machine's address in place of 0.0.0.0.
    pub advertise_rtmp: Option<String>,
    /// Where the other nodes reach this node's HTTP server (`http://10.0.0.7:8080`),
    /// for HLS of the streams published here; default: as for `advertise_rtmp`.
    pub advertise_http: Option<String>,
}

impl ClusterSettings {
    /// The NATS URL when cluster mode is on.
    pub fn nats(&self) -> Option<&str> {
        self.nats_url.as_deref().filter(|u| !u.trim().is_empty())
    }

    /// The Redis URL, when set.
    pub fn redis(&self) -> Option<&str> {
        self.redis_url.as_deref().filter(|u| !u.trim().is_empty())
    }
}

/// `[chat]`: the chat gateway at `/ws`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ChatSettings {
    /// Largest packet body a client may send, in bytes.
    pub max_body: usize,
    /// Seconds a new connection has to authenticate.
    pub auth_timeout_secs: u64,
    /// Seconds of silence (no heartbeat) after which a connection is closed.
    pub heartbeat_timeout_secs: u64,
    /// Messages waiting for one connection before room messages to it are dropped.
    pub queue: usize,
    /// Room messages a joiner is sent from before it joined.
    pub room_recent: usize,
    /// Room messages a user may send per second, over all their connections.
    pub send_per_sec: u32,
    /// Longest room message, in characters.
    pub max_text: usize,
    /// A secret that may call the push API in place of an admin's token.
    #[serde(skip_serializing)]
    pub service_token: Option<String>,
    /// Words not allowed in room messages.
    pub sensitive_words: Vec<String>,
    /// `replace` masks them with `*`; `reject` refuses the message.
    pub sensitive_mode: SensitiveMode,
    /// How long after sending the sender may recall a conversation message, in seconds
    /// (group owners and admins may recall any message at any time).
    pub recall_window_secs: u64,
    /// Most members of one group, the owner included.
    pub max_group_members: i64,
    /// New conversation (private and group) messages a user may send per second, over
    /// everything they write (bursts of four times this); more: 429.
    pub conversation_send_per_sec: u32,
    /// A busy room (messages arriving while the previous ones are still being written)
    /// gets its messages in waves at most this often, in milliseconds; a quiet room gets
    /// each at once. 0: never wait.
    pub room_flush_ms: u64,
    /// `shared` encodes a room message once for all members and writes what is queued
    /// for a connection in one frame; `naive` copies and encodes it per member and
    /// writes one frame per message. Only benchmarks want `naive`.
    pub fanout: FanoutMode,
    /// Most open chat connections; more are answered 503. 0: no cap.
    pub max_connections: usize,
    /// Most open chat connections from one client address (the operator's trusted
    /// proxies are exempt). 0: no cap.
    pub max_connections_per_ip: usize,
    /// Where goim's plain-TCP transport listens for native apps (e.g. `0.0.0.0:3101`);
    /// off when unset or empty.
    pub tcp: Option<String>,
}

/// How the chat gateway fans a message out to many connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FanoutMode {
    #[default]
    Shared,
    Naive,
}

/// What the chat gateway does with a message holding a sensitive word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SensitiveMode {
    #[default]
    Replace,
    Reject,
}

impl Default for ChatSettings {
    fn default() -> Self {
        let d = im::gateway::GatewayConfig::default();
        Self {
            max_body: d.max_body,
            auth_timeout_secs: d.auth_timeout.as_secs(),
            heartbeat_timeout_secs: d.heartbeat_timeout.as_secs(),
            queue: d.queue,
            room_recent: d.room_recent,
            send_per_sec: d.send_per_sec,
            max_text: d.max_text,
            service_token: None,
            sensitive_words: Vec::new(),
            sensitive_mode: SensitiveMode::Replace,
            recall_window_secs: app::settings::ConversationSettings::default().recall_window_secs,
            max_group_members: app::settings::ConversationSettings::default().max_group_members,
            conversation_send_per_sec: app::settings::ConversationSettings::default().send_per_sec,
            room_flush_ms: d.room_flush.as_millis() as u64,
            fanout: FanoutMode::Shared,
            max_connections: d.connections.max_total,
            max_connections_per_ip: d.connections.max_per_address,
            tcp: None,
        }
    }
}

impl ChatSettings {
    /// The conversation rules the application enforces.
    pub fn conversations(&self) -> app::settings::ConversationSettings {
        app::settings::ConversationSettings {
            recall_window_secs: self.recall_window_secs,
            max_group_members: self.max_group_members.max(2),
            send_per_sec: self.conversation_send_per_sec.max(1),
        }
    }

    pub fn gateway(&self) -> im::gateway::GatewayConfig {
        use std::time::Duration;
        im::gateway::GatewayConfig {
            max_body: self.max_body.clamp(64, 1 << 20),
            auth_timeout: Duration::from_secs(self.auth_timeout_secs.max(1)),
            heartbeat_timeout: Duration::from_secs(self.heartbeat_timeout_secs.max(5)),
            queue: self.queue.max(8),
            room_recent: self.room_recent,
            send_per_sec: self.send_per_sec.max(1),
            max_text: self.max_text.max(1),
            service_token: self.service_token.clone().filter(|t| !t.is_empty()),
            sensitive_words: self.sensitive_words.clone(),
            sensitive_mode: match self.sensitive_mode {
                SensitiveMode::Replace => im::gateway::moderation::WordMode::Replace,
                SensitiveMode::Reject => im::gateway::moderation::WordMode::Reject,
            },
            room_flush: Duration::from_millis(self.room_flush_ms.min(1000)),
            fanout: match self.fanout {
                FanoutMode::Shared => im::gateway::Fanout::Shared,
                FanoutMode::Naive => im::gateway::Fanout::Naive,
            },
            connections: kit::conn_limits::ConnCaps {
                max_total: self.max_connections,
                max_per_address: self.max_connections_per_ip,
                exempt: Vec::new(),
            },
            ..Default::default()
        }
    }
}

/// `[media]`: the live media server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct MediaSettings {
    /// Seconds a stream waits for its publisher to reconnect before it ends.
    pub grace_secs: u64,
    /// HLS segment target duration, in seconds (segments are cut on keyframes).
    pub hls_segment_secs: u64,
    /// Segments in the live HLS playlist.
    pub hls_window: usize,
    /// Frames a viewer may have queued before it skips to the next keyframe.
    pub viewer_queue: usize,
    /// Most simultaneous RTMP connections; more are closed at once. 0: no cap.
    pub rtmp_max_connections: usize,
    /// Most simultaneous RTMP connections from one client address (the operator's
    /// trusted proxies are exempt). 0: no cap.
    pub rtmp_max_connections_per_ip: usize,
    /// Seconds an RTMP connection may stay silent before it is closed.
    pub rtmp_idle_timeout_secs: u64,
    /// Seconds a publisher may send no media before it is disconnected.
    pub publish_media_timeout_secs: u64,
    /// Milliseconds a viewer's connection rests between writes, so that the frames of
    /// that time go out in one write (less CPU per viewer, at most this much delay).
    pub viewer_flush_ms: u64,
    /// The one UDP port of WebRTC (WHEP playback, WHIP publishing) for every peer; ""
    /// turns WebRTC off.
    pub webrtc_udp: String,
    /// Whether ICE over TCP is served too, on the same address and port number (TCP),
    /// for clients whose networks let no UDP through (a passive TCP candidate beside
    /// each UDP one).
    pub webrtc_tcp: bool,
    /// Addresses clients reach the WebRTC port at (each node's own: ICE-lite needs an
    /// address per node that clients can reach, not a load balancer's); default: the
    /// bound address, or this machine's address when bound to 0.0.0.0.
    pub webrtc_candidates: Vec<String>,
    /// Most WebRTC peers (viewers and publishers) at once on this node; more get 503.
    pub webrtc_max_peers: usize,
    /// The ffmpeg that turns AAC into Opus for WebRTC viewers and a WHIP publisher's
    /// Opus into AAC; "" leaves WebRTC video only.
    pub webrtc_ffmpeg: String,
    /// Seconds between the keyframes asked of a WHIP publisher (browsers send one only
    /// when asked; the GOP cache and HLS need them).
    pub whip_keyframe_secs: u64,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            grace_secs: 10,
            hls_segment_secs: 2,
            hls_window: 6,
            viewer_queue: 512,
            rtmp_max_connections: 10_000,
            rtmp_max_connections_per_ip: 500,
            rtmp_idle_timeout_secs: 60,
            publish_media_timeout_secs: 15,
            viewer_flush_ms: media::server::DEFAULT_VIEWER_FLUSH.as_millis() as u64,
            webrtc_udp: "0.0.0.0:8189".into(),
            webrtc_tcp: true,
            webrtc_candidates: Vec::new(),
            webrtc_max_peers: 2_000,
            webrtc_ffmpeg: "ffmpeg".into(),
            whip_keyframe_secs: 2,
        }
    }
}

impl MediaSettings {
    pub fn hub(&self) -> media::hub::HubConfig {
        media::hub::HubConfig {
            stream: media::hub::StreamConfig {
                viewer_queue: self.viewer_queue.max(16),
                hls_target_ms: self.hls_segment_secs.max(1) * 1000,
                hls_window: self.hls_window.max(3),
                ..Default::default()
            },
            grace: std::time::Duration::from_secs(self.grace_secs),
        }
    }

    /// How long viewers rest between writes.
    pub fn flush(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.viewer_flush_ms.min(1000))
    }

    pub fn rtmp(&self) -> media::server::RtmpConfig {
        media::server::RtmpConfig {
            connections: kit::conn_limits::ConnCaps {
                max_total: self.rtmp_max_connections,
                max_per_address: self.rtmp_max_connections_per_ip,
                exempt: Vec::new(),
            },
            idle_timeout: std::time::Duration::from_secs(self.rtmp_idle_timeout_secs.max(1)),
            media_timeout: std::time::Duration::from_secs(self.publish_media_timeout_secs.max(1)),
            flush_interval: self.flush(),
            ..Default::default()
        }
    }
}

/// SQLite's durability after a commit; see [`Config::database_synchronous`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    #[default]
    Normal,
    Full,
}

impl Synchronous {
    pub fn pragma(self) -> Option<&'static str> {
        Some(match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            http: "0.0.0.0:8080".into(),
            rtmp: "0.0.0.0:1935".into(),
            database_url: None,
            database_max_connections: None,
            database_synchronous: Synchronous::Normal,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            shutdown_grace_secs: 30,
            http_write_timeout_secs: 30,
            http_header_timeout_secs: 10,
            listen_backlog: 4096,
            http_max_connections: 20_000,
            http_max_connections_per_ip: 500,
            media: MediaSettings::default(),
            chat: ChatSettings::default(),
            cluster: ClusterSettings::default(),
            app: app::Settings::default(),
        }
    }
}

/// Values given on the command line; `None` means "not given".
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtmp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatOverrides>,
}

/// Chat settings given on the command line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
}

impl Config {
    /// Loads the configuration: defaults < `file` < `MOMO_*` environment < `overrides`.
    /// A `file` that was named but cannot be read is an error.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, Box<figment::Error>> {
        let env = Env::prefixed("MOMO_").split("__");
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(Box::new(figment::Error::from(format!(
                    "config file {} does not exist",
                    path.display()
                ))));
            }
            fig = fig.merge(Toml::file(path));
        }
        // MOMO_CONFIG names the file, it is not a setting.
        fig = fig.merge(env.ignore(&["config"]));
        Ok(fig.merge(Serialized::defaults(overrides)).extract()?)
    }

    /// Addresses that carry many clients: the operator's proxies, when they are trusted.
    pub fn proxies(&self) -> Vec<kit::cidr::Cidr> {
        if !self.app.auth.trust_forwarded_for {
            return Vec::new();
        }
        kit::cidr::parse_all(&self.app.auth.trusted_proxies).unwrap_or_default()
    }

    /// The HTTP listener's connection caps.
    pub fn http_caps(&self) -> kit::conn_limits::ConnCaps {
        kit::conn_limits::ConnCaps {
            max_total: self.http_max_connections,
            max_per_address: self.http_max_connections_per_ip,
            exempt: self.proxies(),
        }
    }

    /// The database URL in force: the configured one or the data directory's SQLite file.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("momo.db").display()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail fixes the closure's error type
mod tests {
    use super::*;

    #[test]
    fn layers_override_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "momo.toml",
                "http = \"127.0.0.1:1\"\nrtmp = \"127.0.0.1:2\"\ndata_dir = \"/file\"\n\n[auth]\naccess_ttl_secs = 60\n",
            )?;
            jail.set_env("MOMO_RTMP", "127.0.0.1:3");
            jail.set_env("MOMO_DATA_DIR", "/env");
            jail.set_env("MOMO_AUTH__REFRESH_TTL_SECS", "120");
            let flags = Overrides {
                data_dir: Some("/flag".into()),
                ..Default::default()
            };
            let c = Config::load(Some(Path::new("momo.toml")), &flags).map_err(|e| *e)?;
            assert_eq!(c.http, "127.0.0.1:1"); // file over default
            assert_eq!(c.rtmp, "127.0.0.1:3"); // env over file
            assert_eq!(c.data_dir, PathBuf::from("/flag")); // flag over env
            assert_eq!(c.app.auth.access_ttl_secs, 60);
            assert_eq!(c.app.auth.refresh_ttl_secs, 120);
            assert_eq!(c.app.api.max_body_bytes, 64 * 1024); // default kept
            Ok(())
        });
    }

    #[test]
    fn defaults_work_without_a_file() {
        figment::Jail::expect_with(|_| {
            let c = Config::load(None, &Overrides::default()).map_err(|e| *e)?;
            assert_eq!(c.http, "0.0.0.0:8080");
            assert_eq!(c.rtmp, "0.0.0.0:1935");
            assert!(c.database_url().starts_with("sqlite://"));
            Ok(())
        });
    }

    #[test]
    fn chat_over_tcp_is_off_unless_named_and_the_flag_keeps_the_other_chat_settings() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).map_err(|e| *e)?;
            assert_eq!(c.chat.tcp, None);
            jail.set_env("MOMO_CHAT__TCP", "127.0.0.1:3101");
            jail.set_env("MOMO_CHAT__QUEUE", "77");
            let c = Config::load(None, &Overrides::default()).map_err(|e| *e)?;
            assert_eq!(c.chat.tcp.as_deref(), Some("127.0.0.1:3101"));
            let flags = Overrides {
                chat: Some(ChatOverrides {
                    tcp: Some("127.0.0.1:3102".into()),
                }),
                ..Default::default()
            };
            let c = Config::load(None, &flags).map_err(|e| *e)?;
            assert_eq!(c.chat.tcp.as_deref(), Some("127.0.0.1:3102"));
            assert_eq!(c.chat.queue, 77);
            Ok(())
        });
    }

    #[test]
    fn the_chat_fanout_is_shared_unless_set() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).map_err(|e| *e)?;
            assert_eq!(c.chat.gateway().fanout, im::gateway::Fanout::Shared);
            jail.set_env("MOMO_CHAT__FANOUT", "naive");
            let c = Config::load(None, &Overrides::default()).map_err(|e| *e)?;
            assert_eq!(c.chat.gateway().fanout, im::gateway::Fanout::Naive);
            Ok(())
        });
    }

    #[test]
    fn a_missing_named_file_is_an_error() {
        assert!(
            Config::load(Some(Path::new("/no/such/momo.toml")), &Overrides::default()).is_err()
        );
    }
}
