//! One thing to measure: a named request, prepared once and cloned for every send.
//!
//! Everything that does not change between requests (the origin-form path, `Host`,
//! `Content-Type`, `Content-Length`) is worked out here, so the connection loop only
//! clones a method, a path, a header map and a `Bytes` handle per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
    /// When set, each request's body is the template with `{n}` replaced by the next
    /// number, so that every request is a new one (idempotency keys).
    numbered: Option<Arc<Numbered>>,
}

/// A body template around one `{n}`, and the count shared by every clone.
#[derive(Debug)]
struct Numbered {
    before: Bytes,
    after: Bytes,
    next: AtomicU64,
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
            numbered: None,
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

    /// Sets a JSON body template with one `{n}` in it, replaced in each request by a
    /// number that starts at `first` and grows by one per request across every clone of
    /// this target: for requests that must each be new, such as ones carrying an
    /// idempotency key.
    pub fn numbered_json_body(self, template: &str, first: u64) -> Result<Self> {
        let Some((before, after)) = template.split_once("{n}") else {
            bail!("target {}: the body template has no {{n}}", self.name);
        };
        let mut t = self.json_body(&template.replacen("{n}", "0", 1))?;
        t.headers.remove(CONTENT_LENGTH);
        t.numbered = Some(Arc::new(Numbered {
            before: Bytes::copy_from_slice(before.as_bytes()),
            after: Bytes::copy_from_slice(after.as_bytes()),
            next: AtomicU64::new(first),
        }));
        Ok(t)
    }

    /// The request to send; cheap enough to build once per request.
    pub fn request(&self) -> Request<Full<Bytes>> {
        let body = match &self.numbered {
            None => self.body.clone(),
            Some(n) => {
                let k = n.next.fetch_add(1, Ordering::Relaxed).to_string();
                let mut b = Vec::with_capacity(n.before.len() + k.len() + n.after.len());
                b.extend_from_slice(&n.before);
                b.extend_from_slice(k.as_bytes());
                b.extend_from_slice(&n.after);
                Bytes::from(b)
            }
        };
        let len = body.len();
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.path.clone();
        *req.headers_mut() = self.headers.clone();
        if self.numbered.is_some() {
            req.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
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

    #[tokio::test]
    async fn numbered_bodies_count_up_across_clones() {
        use http_body_util::BodyExt;
        let t = Target::new("g", Method::POST, "http://h/g")
            .unwrap()
            .numbered_json_body(r#"{"key":"k{n}"}"#, 9)
            .unwrap();
        let clone = t.clone();
        let mut bodies = Vec::new();
        for req in [t.request(), clone.request(), t.request()] {
            let len = req.headers()[CONTENT_LENGTH].to_str().unwrap().to_string();
            let body = req.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(len, body.len().to_string());
            bodies.push(String::from_utf8(body.to_vec()).unwrap());
        }
        assert_eq!(
            bodies,
            [r#"{"key":"k9"}"#, r#"{"key":"k10"}"#, r#"{"key":"k11"}"#]
        );
        assert!(Target::new("g", Method::POST, "http://h/g")
            .unwrap()
            .numbered_json_body("{}", 0)
            .is_err());
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
