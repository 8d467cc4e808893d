//! `accounts`: a ready-made comparison on momo's accounts API.
//!
//! Three targets on one server, against `/healthz` as the baseline: what the HTTP stack
//! costs on its own (`healthz`), a signed-in viewer reading someone else's profile, with
//! counts and follow flags (`profile`), and a login, which is dominated on purpose by the
//! password hash (`login`). The ratios say how much of the server's capacity each kind
//! of request takes.
//!
//! The users it needs (a viewer, and an anchor the viewer follows) are created on first
//! use and reused after, so the scenario can be run again on the same data directory.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use hyper::header::{HeaderValue, AUTHORIZATION};
use hyper::{Method, StatusCode};
use serde::Deserialize;

use crate::load;
use crate::target::Target;

pub const TITLE: &str = "Accounts API: profile read and login against /healthz";
pub const BASELINE: &str = "healthz";
const USERNAME: &str = "bench_user";
const ANCHOR: &str = "bench_anchor";
const PASSWORD: &str = "bench-password-1";

/// How long a set-up request may take. Registration hashes a password, which is slow
/// by design but not this slow.
const SETUP_LIMIT: Duration = Duration::from_secs(30);

/// The part of momo's `AuthResponse` the scenario needs.
#[derive(Debug, Deserialize)]
struct Session {
    user: User,
    access_token: String,
}

#[derive(Debug, Deserialize)]
struct User {
    id: i64,
}

/// One page of a user list.
#[derive(Debug, Deserialize)]
struct Page {
    items: Vec<User>,
}

/// The anchor's id: registered on first use (found by search after that), and followed
/// by the viewer so that the profile read carries a real relation.
async fn anchor_id(base: &str, bearer: &HeaderValue) -> Result<i64> {
    let credentials = serde_json::json!({ "username": ANCHOR, "password": PASSWORD }).to_string();
    let register = Target::new(
        "register",
        Method::POST,
        &format!("{base}/api/v1/auth/register"),
    )?
    .json_body(&credentials)?;
    let (status, body) = load::fetch(&register, SETUP_LIMIT).await?;
    let id = match status {
        StatusCode::CREATED => {
            let s: Session = serde_json::from_slice(&body).context("unexpected register answer")?;
            s.user.id
        }
        StatusCode::CONFLICT => {
            let search = Target::new(
                "search",
                Method::GET,
                &format!("{base}/api/v1/users/search?q={ANCHOR}"),
            )?;
            let (_, body) = load::fetch(&search, SETUP_LIMIT).await?;
            let page: Page = serde_json::from_slice(&body).context("unexpected search answer")?;
            page.items
                .first()
                .map(|u| u.id)
                .with_context(|| format!("{ANCHOR} exists but search does not find it"))?
        }
        other => bail!(
            "registering {ANCHOR} answered {other}: {}",
            String::from_utf8_lossy(&body)
        ),
    };
    let follow = Target::new(
        "follow",
        Method::POST,
        &format!("{base}/api/v1/users/{id}/follow"),
    )?
    .header(AUTHORIZATION, bearer.clone());
    let (status, body) = load::fetch(&follow, SETUP_LIMIT).await?;
    if !status.is_success() {
        bail!(
            "following {ANCHOR} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(id)
}

/// Signs in as the bench user (registering it first if needed) and returns the three
/// targets, baseline first. `base` is the server's root URL, e.g. `http://127.0.0.1:8080`.
///
/// The access token must outlive the run; momo's default lifetime (minutes) does for any
/// sensible `--duration` and `--rounds`. An expired token shows up as non-2xx on
/// `profile`.
pub async fn accounts_targets(base: &str) -> Result<Vec<Target>> {
    let base = base.trim_end_matches('/');
    let credentials = serde_json::json!({ "username": USERNAME, "password": PASSWORD }).to_string();
    let post = |name: &str, path: &str| -> Result<Target> {
        Target::new(name, Method::POST, &format!("{base}{path}"))?.json_body(&credentials)
    };

    let register = post("register", "/api/v1/auth/register")?;
    let login = post("login", "/api/v1/auth/login")?;
    let (status, body) = load::fetch(&register, SETUP_LIMIT).await?;
    let (status, body) = match status {
        StatusCode::CREATED => (status, body),
        StatusCode::CONFLICT => load::fetch(&login, SETUP_LIMIT).await?,
        other => bail!(
            "registering {USERNAME} at {base} answered {other}: {}",
            String::from_utf8_lossy(&body)
        ),
    };
    if !status.is_success() {
        let hint = match status {
            StatusCode::UNAUTHORIZED => {
                " (was it created with another password? start the server on a fresh --data-dir)"
            }
            StatusCode::TOO_MANY_REQUESTS => {
                " (too many failed sign-ins for it lately; wait for the lock to pass)"
            }
            _ => "",
        };
        bail!(
            "signing in as {USERNAME} at {base} answered {status}: {}{hint}",
            String::from_utf8_lossy(&body)
        );
    }
    let session: Session = serde_json::from_slice(&body)
        .with_context(|| format!("unexpected sign-in answer from {base}"))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {}", session.access_token))
        .context("the access token is not a valid header value")?;
    let anchor = anchor_id(base, &bearer).await?;

    Ok(vec![
        Target::new(BASELINE, Method::GET, &format!("{base}/healthz"))?,
        Target::new(
            "profile",
            Method::GET,
            &format!("{base}/api/v1/users/{anchor}"),
        )?
        .header(AUTHORIZATION, bearer),
        login,
    ])
}
