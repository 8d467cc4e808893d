//! The URLs of the `live` command, split into what a socket and a session need.
//!
//! RTMP URLs are split the way encoders split them: the first path segment is the
//! application, the rest is the stream key or name, and `tcUrl` is everything up to the
//! application.

use anyhow::{bail, Result};

/// `rtmp://HOST[:PORT]/APP/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtmpUrl {
    /// `HOST:PORT`, to connect to (port 1935 if the URL names none).
    pub addr: String,
    pub app: String,
    /// The stream key (publish) or stream name (play), query included.
    pub name: String,
    /// `rtmp://HOST:PORT/APP`.
    pub tc_url: String,
}

impl RtmpUrl {
    pub fn parse(url: &str) -> Result<Self> {
        let Some(rest) = url.strip_prefix("rtmp://") else {
            bail!("{url:?}: expected rtmp://HOST[:PORT]/APP/NAME");
        };
        let Some((authority, path)) = rest.split_once('/') else {
            bail!("{url:?}: no application and stream name after the host");
        };
        let Some((app, name)) = path.split_once('/') else {
            bail!("{url:?}: expected /APP/NAME after the host, e.g. /live/KEY");
        };
        if authority.is_empty() || app.is_empty() || name.is_empty() {
            bail!("{url:?}: host, application and stream name must not be empty");
        }
        let addr = with_port(authority, 1935);
        Ok(RtmpUrl {
            tc_url: format!("rtmp://{addr}/{app}"),
            addr,
            app: app.to_string(),
            name: name.to_string(),
        })
    }
}

/// `http://HOST[:PORT]/PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `HOST:PORT`, to connect to (port 80 if the URL names none).
    pub addr: String,
    /// The `Host` header: the authority as written.
    pub host: String,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl HttpUrl {
    pub fn parse(url: &str) -> Result<Self> {
        let Some(rest) = url.strip_prefix("http://") else {
            bail!("{url:?}: expected http://HOST[:PORT]/PATH (https is not supported)");
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            bail!("{url:?}: no host");
        }
        Ok(HttpUrl {
            addr: with_port(authority, 80),
            host: authority.to_string(),
            path: path.to_string(),
        })
    }
}

/// `host` with `:port` appended unless it already ends in one (IPv6 literals in
/// brackets are kept whole).
fn with_port(authority: &str, port: u16) -> String {
    let has_port = match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']'),
        None => false,
    };
    if has_port {
        authority.to_string()
    } else {
        format!("{authority}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_rtmp_urls_like_encoders() {
        let u = RtmpUrl::parse("rtmp://127.0.0.1:19300/live/abc?sign=1").unwrap();
        assert_eq!(u.addr, "127.0.0.1:19300");
        assert_eq!(u.app, "live");
        assert_eq!(u.name, "abc?sign=1");
        assert_eq!(u.tc_url, "rtmp://127.0.0.1:19300/live");
        let u = RtmpUrl::parse("rtmp://example.com/app/a/b").unwrap();
        assert_eq!(
            (u.addr.as_str(), u.name.as_str()),
            ("example.com:1935", "a/b")
        );
    }

    #[test]
    fn refuses_incomplete_rtmp_urls() {
        for bad in [
            "http://h/live/x",
            "rtmp://h",
            "rtmp://h/live",
            "rtmp://h/live/",
            "rtmp:///a/b",
        ] {
            assert!(RtmpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn splits_http_urls() {
        let u = HttpUrl::parse("http://127.0.0.1:18300/live/7.flv").unwrap();
        assert_eq!(u.addr, "127.0.0.1:18300");
        assert_eq!(u.host, "127.0.0.1:18300");
        assert_eq!(u.path, "/live/7.flv");
        let u = HttpUrl::parse("http://[::1]/x").unwrap();
        assert_eq!(u.addr, "[::1]:80");
        assert_eq!(HttpUrl::parse("http://h").unwrap().path, "/");
        assert!(HttpUrl::parse("https://h/").is_err());
    }
}
