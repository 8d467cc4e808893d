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
    /// Log format on stderr: `text` (for people) or `json` (for collectors).
    pub log_format: LogFormat,
    /// Log filter, in `RUST_LOG` syntax (`RUST_LOG` itself wins when set).
    pub log_level: String,
    /// Seconds to let in-flight requests finish after a stop signal.
    pub shutdown_grace_secs: u64,
    /// Live media: `[media]`.
    pub media: MediaSettings,
    /// Settings of the application API: `[auth]`, `[api]`, `[cache]` and `[live]`.
    #[serde(flatten)]
    pub app: app::Settings,
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
    /// Most simultaneous RTMP connections.
    pub rtmp_max_connections: usize,
    /// Seconds an RTMP connection may stay silent before it is closed.
    pub rtmp_idle_timeout_secs: u64,
    /// Seconds a publisher may send no media before it is disconnected.
    pub publish_media_timeout_secs: u64,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            grace_secs: 10,
            hls_segment_secs: 2,
            hls_window: 6,
            viewer_queue: 512,
            rtmp_max_connections: 10_000,
            rtmp_idle_timeout_secs: 60,
            publish_media_timeout_secs: 15,
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

    pub fn rtmp(&self) -> media::server::RtmpConfig {
        media::server::RtmpConfig {
            max_connections: self.rtmp_max_connections.max(1),
            idle_timeout: std::time::Duration::from_secs(self.rtmp_idle_timeout_secs.max(1)),
            media_timeout: std::time::Duration::from_secs(self.publish_media_timeout_secs.max(1)),
            ..Default::default()
        }
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
            log_format: LogFormat::Text,
            log_level: "info".into(),
            shutdown_grace_secs: 30,
            media: MediaSettings::default(),
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
    fn a_missing_named_file_is_an_error() {
        assert!(
            Config::load(Some(Path::new("/no/such/momo.toml")), &Overrides::default()).is_err()
        );
    }
}
