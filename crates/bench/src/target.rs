//! One thing to measure: a named request, prepared once and cloned for every send.
//!
//! Everything that does not change between requests (the origin-form path, `Host`,
//! `Content-Type`, `Content-Length`) is worked out here, so the connection loop only
//! clones a method, a path, a header map and a `Bytes` handle per request.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{HeaderMap, Method, Request, Uri};

/// A request to repeat, with the name it is reported under.
#[derive(Debug, Clone)]
pub struct Target {
    /// Short label used in the report and for `--baseline`.
    pub name: String,
    pub method: Method,
    /// The URL as given, for the report.
    pub url: String,
    /// Host and port to connect to.
    pub host: String,
    pub port: u16,
    /// Origin-form request target (`/path?query`): what an HTTP/1.1 client sends on a
    /// direct connection, as opposed to the absolute form used through proxies.
    path: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Target {
    /// A bodiless request. Only `http://` URLs are accepted: the tool speaks plain
    /// HTTP/1.1 to servers on the same machine or network, TLS would measure the
    /// handshake code rather than the server.
    pub fn new(name: &str, method: Method, url: &str) -> Result<Self> {
        if name.is_empty() {
            bail!("a target needs a name, as in NAME=URL");
        }
        let uri: Uri = url.parse().with_context(|| {
            format!("target {name}: {url:?} is not a URL like http://HOST:PORT/PATH")
        })?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => bail!(
                "target {name}: https is not supported; momo-bench speaks plain HTTP/1.1 \
                 (put it in front of the server's http listener)"
            ),
            _ => bail!("target {name}: {url:?} must start with http://"),
        }
        let Some(authority) = uri.authority() else {
            bail!("target {name}: {url:?} has no host");
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let path: Uri = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .parse()
            .with_context(|| format!("target {name}: bad path in {url:?}"))?;

        let mut headers = HeaderMap::new();
        // hyper's low-level client connection sends exactly the headers it is given;
        // HTTP/1.1 requires Host.
        headers.insert(
            HOST,
            HeaderValue::from_str(authority.as_str())
                .with_context(|| format!("target {name}: bad host in {url:?}"))?,
        );
        Ok(Self {
            name: name.to_string(),
            method,
            url: url.to_string(),
            host: host.to_string(),
            port,
            path,
            headers,
            body: Bytes::new(),
        })
    }

    /// Adds a header (replacing an earlier one of the same name, so a later
    /// `--header` wins over an earlier one).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sets a JSON body. It must parse as JSON (catching a shell-quoting slip before
    /// thousands of 400s do). `Content-Length` is set here, and `Content-Type:
    /// application/json` unless a `Content-Type` header was already given.
    pub fn json_body(mut self, json: &str) -> Result<Self> {
        serde_json::from_str::<serde_json::Value>(json)
            .with_context(|| format!("target {}: the body is not valid JSON", self.name))?;
        if matches!(self.method, Method::GET | Method::HEAD) {
            bail!(
                "target {} sends a body with {}; write {}=POST:URL or pass --method POST",
                self.name,
                self.method,
                self.name
            );
        }
        self.body = Bytes::copy_from_slice(json.as_bytes());
        self.headers
            .entry(CONTENT_TYPE)
            .or_insert(HeaderValue::from_static("application/json"));
        self.headers
            .insert(CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        Ok(self)
    }

    /// The request to send; cheap enough to build once per request.
    pub fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.path.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }

    /// The request body.
    #[cfg(test)]
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_uses_origin_form_and_sets_host() {
        let t = Target::new("a", Method::GET, "http://127.0.0.1:8080/healthz?x=1").unwrap();
        let req = t.request();
        assert_eq!(req.uri(), "/healthz?x=1");
        assert_eq!(req.headers()[HOST], "127.0.0.1:8080");
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8080));
        assert!(req.headers().get(CONTENT_LENGTH).is_none());
    }

    #[test]
    fn default_port_and_path() {
        let t = Target::new("a", Method::GET, "http://localhost").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("localhost", 80));
        assert_eq!(t.request().uri(), "/");
    }

    #[test]
    fn ipv6_host_loses_its_brackets() {
        let t = Target::new("a", Method::GET, "http://[::1]:9000/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 9000));
    }

    #[test]
    fn json_body_sets_type_and_length() {
        let t = Target::new("a", Method::POST, "http://h/x")
            .unwrap()
            .json_body(r#"{"a":1}"#)
            .unwrap();
        let req = t.request();
        assert_eq!(req.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(req.headers()[CONTENT_LENGTH], "7");
        assert_eq!(t.body().as_ref(), br#"{"a":1}"#);
    }

    #[test]
    fn an_explicit_content_type_is_kept() {
        let t = Target::new("a", Method::POST, "http://h/x")
            .unwrap()
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            )
            .json_body("{}")
            .unwrap();
        assert_eq!(t.request().headers()[CONTENT_TYPE], "application/x-ndjson");
    }

    #[test]
    fn bad_targets_are_refused_with_a_reason() {
        let err = |r: Result<Target>| r.unwrap_err().to_string();
        assert!(err(Target::new("a", Method::GET, "https://h/")).contains("https"));
        assert!(err(Target::new("a", Method::GET, "localhost:80/x")).contains("http://"));
        assert!(err(Target::new("", Method::GET, "http://h/")).contains("name"));
        let get = Target::new("a", Method::GET, "http://h/").unwrap();
        assert!(err(get.clone().json_body("{}")).contains("POST"));
        let post = Target::new("a", Method::POST, "http://h/").unwrap();
        assert!(err(post.json_body("{oops")).contains("JSON"));
    }
}
