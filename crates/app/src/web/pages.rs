//! The HTML shells. Each is static markup plus the scripts that fill it from the API;
//! nothing a user wrote is ever put into the HTML here, so nothing needs escaping.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::accounts::Role;
use crate::web::session;
use crate::AppState;

/// Scripts and styles from this origin only, never inline; fetches and the chat socket
/// to this origin only; players may run their workers from `blob:` URLs and feed the
/// video element through MediaSource (`blob:`). Images and video files may come from
/// elsewhere (covers and avatars are URLs users give; videos may sit in object storage).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: https: http:; media-src 'self' blob: https: http:; \
     connect-src 'self'; worker-src 'self' blob:; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// A page: the common head and header around `main`, then `scripts` (module scripts
/// under `/assets/js/`, classic scripts under `/assets/vendor/`).
fn render(title: &str, body_class: &str, main: &str, scripts: &[&str]) -> String {
    let mut tags = String::new();
    for s in scripts {
        if s.starts_with("vendor/") {
            tags.push_str(&format!("<script src=\"/assets/{s}\"></script>\n"));
        } else {
            tags.push_str(&format!(
                "<script type=\"module\" src=\"/assets/js/{s}\"></script>\n"
            ));
        }
    }
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="color-scheme" content="dark">
<title>{title} · momo</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body class="{body_class}">
<header class="topbar">
  <a class="brand" href="/"><span class="brand-mark">m</span>momo</a>
  <nav class="mainnav">
    <a href="/" data-nav="home">Live</a>
    <a href="/videos" data-nav="videos">Videos</a>
    <a href="/studio" data-nav="studio">Go live</a>
  </nav>
  <form class="topsearch" action="/search" method="get" role="search">
    <label class="visually-hidden" for="topsearch-q">Search videos, rooms and people</label>
    <input type="search" id="topsearch-q" name="q" maxlength="100" autocomplete="off" enterkeyhint="search" placeholder="Search">
    <button class="topsearch-btn" type="submit" id="topsearch-go" aria-label="Search" title="Search"><svg class="icon-svg" viewBox="0 0 24 24" aria-hidden="true"><path d="M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14z M21 21l-5.2-5.2"/></svg></button>
  </form>
  <div class="userbox" id="userbox"></div>
</header>
{main}
<div class="toast" id="toast" role="status" aria-live="polite" hidden></div>
{tags}</body>
</html>
"##
    )
}

fn html(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub async fn home() -> Response {
    html(
        StatusCode::OK,
        render(
            "Live now",
            "page-home",
            include_str!("assets/home.html"),
            &["home.js"],
        ),
    )
}

pub async fn login() -> Response {
    html(
        StatusCode::OK,
        render(
            "Log in",
            "page-auth",
            include_str!("assets/auth.html"),
            &["auth.js"],
        ),
    )
}

pub async fn signup() -> Response {
    html(
        StatusCode::OK,
        render(
            "Sign up",
            "page-auth",
            include_str!("assets/auth.html"),
            &["auth.js"],
        ),
    )
}

pub async fn room() -> Response {
    html(
        StatusCode::OK,
        render(
            "Live room",
            "page-room",
            include_str!("assets/room.html"),
            &["room.js"],
        ),
    )
}

pub async fn videos() -> Response {
    html(
        StatusCode::OK,
        render(
            "Videos",
            "page-videos",
            include_str!("assets/videos.html"),
            &["videos.js"],
        ),
    )
}

pub async fn studio() -> Response {
    html(
        StatusCode::OK,
        render(
            "Go live",
            "page-studio",
            include_str!("assets/studio.html"),
            &["studio.js"],
        ),
    )
}

/// `GET /admin` and everything under it: the console for admins, 403 for everyone else
/// (with a way to sign in).
pub async fn admin(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let who = match session::from_headers(state.identity(), &headers).await {
        Ok(who) => who,
        Err(e) => {
            tracing::warn!("cannot read the session: {e}");
            return html(
                StatusCode::SERVICE_UNAVAILABLE,
                render("Unavailable", "page-error", UNAVAILABLE, &[]),
            );
        }
    };
    match who {
        Some(s) if s.role == Role::Admin => html(
            StatusCode::OK,
            render(
                "Admin",
                "page-admin",
                include_str!("assets/admin.html"),
                &["admin.js"],
            ),
        ),
        Some(_) => html(
            StatusCode::FORBIDDEN,
            render("Forbidden", "page-error", NOT_ADMIN, &["auth.js"]),
        ),
        None => html(
            StatusCode::FORBIDDEN,
            render("Forbidden", "page-error", SIGN_IN_FIRST, &["auth.js"]),
        ),
    }
}

const NOT_ADMIN: &str = r#"<main class="narrow center-card"><div class="card">
<h1>Admins only</h1>
<p class="muted">This account does not have the admin role. Ask an operator, or sign in with another account.</p>
<p><a class="btn" href="/login?next=/admin">Sign in as someone else</a> <a class="btn ghost" href="/">Back to live rooms</a></p>
</div></main>"#;

const SIGN_IN_FIRST: &str = r#"<main class="narrow center-card"><div class="card">
<h1>Admins only</h1>
<p class="muted">The console is for operators. Sign in with an admin account.</p>
<p><a class="btn" href="/login?next=/admin">Sign in</a> <a class="btn ghost" href="/">Back to live rooms</a></p>
</div></main>"#;

const UNAVAILABLE: &str = r#"<main class="narrow center-card"><div class="card">
<h1>Try again soon</h1><p class="muted">momo cannot read its database right now.</p>
</div></main>"#;

/// A page nobody serves: 404, with the site's header and a way back.
pub async fn not_found() -> Response {
    let main = r#"<main class="narrow notfound">
  <h1>Page not found</h1>
  <p>There is nothing at this address. It may have moved, or the link may be mistyped.</p>
  <p><a class="btn" href="/">See who is live</a> <a class="btn ghost" href="/videos">Watch videos</a></p>
</main>"#;
    html(
        StatusCode::NOT_FOUND,
        render("Not found", "page-notfound", main, &[]),
    )
}

pub async fn me() -> Response {
    html(
        StatusCode::OK,
        render("Me", "page-me", include_str!("assets/me.html"), &["me.js"]),
    )
}

pub async fn search() -> Response {
    html(
        StatusCode::OK,
        render(
            "Search",
            "page-search",
            include_str!("assets/search.html"),
            &["search.js"],
        ),
    )
}

pub async fn upload() -> Response {
    html(
        StatusCode::OK,
        render(
            "Post a video",
            "page-upload",
            include_str!("assets/upload.html"),
            &["upload.js"],
        ),
    )
}
