//! Parsing the small languages of the command line (`NAME=[METHOD:]URL`, `K: V`,
//! `NAME=JSON`, `10s`) and putting the `http` command's pieces together into targets.
//!
//! Each parser is a clap `value_parser`, so a mistake is reported against the flag that
//! carries it, before anything is sent.

use std::time::Duration;

use anyhow::{bail, Result};
use hyper::header::{HeaderName, HeaderValue};
use hyper::Method;

use crate::target::Target;

/// `--target NAME=URL` or `NAME=METHOD:URL`, before it meets the other flags.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    pub name: String,
    pub method: Option<Method>,
    pub url: String,
}

/// Parses `NAME=URL` or `NAME=METHOD:URL`. The name ends at the first `=`; a method is
/// recognised only when the rest does not already start with `http://` or `https://`.
pub fn target_spec(s: &str) -> Result<TargetSpec, String> {
    let Some((name, rest)) = s.split_once('=') else {
        return Err(format!(
            "{s:?}: expected NAME=URL or NAME=METHOD:URL, e.g. health=http://127.0.0.1:8080/healthz"
        ));
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("{s:?}: the name before '=' is empty"));
    }
    let (method, url) = if rest.starts_with("http://") || rest.starts_with("https://") {
        (None, rest)
    } else {
        let Some((m, url)) = rest.split_once(':') else {
            return Err(format!(
                "{s:?}: expected a URL starting with http:// after '='"
            ));
        };
        if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "{s:?}: expected METHOD:URL with an upper-case method (GET, POST, ...) \
                 or a URL starting with http://"
            ));
        }
        let method = Method::from_bytes(m.as_bytes()).map_err(|e| format!("{s:?}: {e}"))?;
        (Some(method), url)
    };
    Ok(TargetSpec {
        name: name.to_string(),
        method,
        url: url.to_string(),
    })
}

/// Parses `--method`: an HTTP method in upper case.
pub fn method(s: &str) -> Result<Method, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "{s:?}: expected an upper-case method such as GET or POST"
        ));
    }
    Method::from_bytes(s.as_bytes()).map_err(|e| format!("{s:?}: {e}"))
}

/// Parses `--header 'Name: value'`.
pub fn header(s: &str) -> Result<(HeaderName, HeaderValue), String> {
    let Some((name, value)) = s.split_once(':') else {
        return Err(format!("{s:?}: expected 'Name: value'"));
    };
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("{s:?}: {:?} is not a valid header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("{s:?}: the value is not a valid header value"))?;
    Ok((name, value))
}

/// Parses `--body JSON`: it must be JSON.
pub fn json(s: &str) -> Result<String, String> {
    serde_json::from_str::<serde_json::Value>(s)
        .map(|_| s.to_string())
        .map_err(|e| format!("not valid JSON ({e}); quote it for the shell, e.g. '{{\"a\":1}}'"))
}

/// Parses `--body-for NAME=JSON`.
pub fn body_for(s: &str) -> Result<(String, String), String> {
    let Some((name, body)) = s.split_once('=') else {
        return Err(format!("{s:?}: expected NAME=JSON"));
    };
    Ok((name.trim().to_string(), json(body)?))
}

/// Parses a duration: `10s`, `1.5s`, `500ms`, `2m`, or a bare number of seconds.
pub fn duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: expected a duration such as 10s, 500ms or 2m"))?;
    Duration::try_from_secs_f64(value * scale).map_err(|_| format!("{s:?}: out of range"))
}

/// The `http` command's target flags, gathered.
#[derive(Debug, Default)]
pub struct TargetFlags {
    pub targets: Vec<TargetSpec>,
    /// For targets without `METHOD:`.
    pub method: Option<Method>,
    /// For targets without `--body-for`.
    pub body: Option<String>,
    pub body_for: Vec<(String, String)>,
    /// Sent with every target's requests.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl TargetFlags {
    /// Builds the targets, checking that names are unique and that every `--body-for`
    /// names one of them.
    pub fn build(self) -> Result<Vec<Target>> {
        if self.targets.is_empty() {
            bail!("give at least one --target NAME=URL");
        }
        for (i, t) in self.targets.iter().enumerate() {
            if self.targets[..i].iter().any(|o| o.name == t.name) {
                bail!("two targets are named {:?}; names must be unique", t.name);
            }
        }
        for (name, _) in &self.body_for {
            if !self.targets.iter().any(|t| &t.name == name) {
                bail!("--body-for {name}=... names no target");
            }
        }
        self.targets
            .iter()
            .map(|spec| {
                let method = spec
                    .method
                    .clone()
                    .or_else(|| self.method.clone())
                    .unwrap_or(Method::GET);
                let mut target = Target::new(&spec.name, method, &spec.url)?;
                for (k, v) in &self.headers {
                    target = target.header(k.clone(), v.clone());
                }
                // The last --body-for for a name wins, like repeated flags usually do.
                let body = self
                    .body_for
                    .iter()
                    .rev()
                    .find(|(name, _)| name == &spec.name)
                    .map(|(_, b)| b)
                    .or(self.body.as_ref());
                if let Some(body) = body {
                    target = target.json_body(body)?;
                }
                Ok(target)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, method: Option<Method>, url: &str) -> TargetSpec {
        TargetSpec {
            name: name.into(),
            method,
            url: url.into(),
        }
    }

    #[test]
    fn target_with_and_without_method() {
        assert_eq!(
            target_spec("h=http://127.0.0.1:8080/healthz"),
            Ok(spec("h", None, "http://127.0.0.1:8080/healthz"))
        );
        assert_eq!(
            target_spec("login=POST:http://127.0.0.1:8080/login?a=b=c"),
            Ok(spec(
                "login",
                Some(Method::POST),
                "http://127.0.0.1:8080/login?a=b=c"
            ))
        );
    }

    #[test]
    fn bad_targets_explain_themselves() {
        assert!(target_spec("http://x/").unwrap_err().contains("NAME=URL"));
        assert!(target_spec("=http://x/").unwrap_err().contains("empty"));
        assert!(target_spec("a=localhost:8080/")
            .unwrap_err()
            .contains("upper-case"));
        assert!(target_spec("a=post:http://x/")
            .unwrap_err()
            .contains("upper-case"));
        assert!(target_spec("a=/x").unwrap_err().contains("http://"));
    }

    #[test]
    fn headers() {
        let (k, v) = header("Authorization: Bearer a:b").unwrap();
        assert_eq!(k, "authorization");
        assert_eq!(v, "Bearer a:b");
        assert!(header("no colon").is_err());
        assert!(header("bad name: x").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(duration("0s"), Ok(Duration::ZERO));
        assert!(duration("ten").is_err());
        assert!(duration("-1s").is_err());
        assert!(duration("1h").is_err());
    }

    #[test]
    fn bodies_must_be_json() {
        assert_eq!(
            body_for(r#"a={"x":"="}"#),
            Ok(("a".into(), r#"{"x":"="}"#.into()))
        );
        assert!(body_for("a={x}").unwrap_err().contains("JSON"));
        assert!(body_for("nobody").is_err());
        assert!(method("post").is_err());
        assert_eq!(method("PUT"), Ok(Method::PUT));
    }

    #[test]
    fn build_applies_method_body_and_headers_per_target() {
        let flags = TargetFlags {
            targets: vec![
                spec("get", None, "http://h/a"),
                spec("post", Some(Method::POST), "http://h/b"),
            ],
            body_for: vec![("post".into(), r#"{"n":1}"#.into())],
            headers: vec![header("X-Test: 1").unwrap()],
            ..Default::default()
        };
        let targets = flags.build().unwrap();
        assert_eq!(targets[0].method, Method::GET);
        assert!(targets[0].body().is_empty());
        assert_eq!(targets[1].method, Method::POST);
        assert_eq!(targets[1].body().as_ref(), br#"{"n":1}"#);
        assert_eq!(targets[1].request().headers()["x-test"], "1");
    }

    #[test]
    fn build_refuses_inconsistent_flags() {
        let err = |f: TargetFlags| f.build().unwrap_err().to_string();
        assert!(err(TargetFlags::default()).contains("--target"));
        let twice = TargetFlags {
            targets: vec![spec("a", None, "http://h/"), spec("a", None, "http://h/")],
            ..Default::default()
        };
        assert!(err(twice).contains("unique"));
        let stray = TargetFlags {
            targets: vec![spec("a", None, "http://h/")],
            body_for: vec![("b".into(), "{}".into())],
            ..Default::default()
        };
        assert!(err(stray).contains("names no target"));
        let get_with_body = TargetFlags {
            targets: vec![spec("a", None, "http://h/")],
            body: Some("{}".into()),
            ..Default::default()
        };
        assert!(err(get_with_body).contains("POST"));
    }
}
