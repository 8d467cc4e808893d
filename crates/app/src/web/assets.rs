//! The pages' scripts, styles and vendored player libraries, embedded at build time.
//!
//! `vendor/` holds mpegts.js and hls.js exactly as their npm packages ship them (the
//! minified builds; see `vendor/README.md` for versions and licences).

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// `(path under /assets/, content type, bytes)`.
const FILES: &[(&str, &str, &[u8])] = &[
    ("app.css", CSS, include_bytes!("assets/app.css")),
    ("js/api.js", JS, include_bytes!("assets/js/api.js")),
    ("js/chat.js", JS, include_bytes!("assets/js/chat.js")),
    ("js/player.js", JS, include_bytes!("assets/js/player.js")),
    ("js/home.js", JS, include_bytes!("assets/js/home.js")),
    ("js/room.js", JS, include_bytes!("assets/js/room.js")),
    ("js/auth.js", JS, include_bytes!("assets/js/auth.js")),
    ("js/videos.js", JS, include_bytes!("assets/js/videos.js")),
    ("js/studio.js", JS, include_bytes!("assets/js/studio.js")),
    ("js/admin.js", JS, include_bytes!("assets/js/admin.js")),
    ("js/charts.js", JS, include_bytes!("assets/js/charts.js")),
    ("favicon.svg", SVG, include_bytes!("assets/favicon.svg")),
    (
        "vendor/mpegts.js",
        JS,
        include_bytes!("assets/vendor/mpegts.js"),
    ),
    (
        "vendor/hls.light.min.js",
        JS,
        include_bytes!("assets/vendor/hls.light.min.js"),
    ),
    (
        "vendor/LICENSE.mpegts.js",
        TEXT,
        include_bytes!("assets/vendor/LICENSE.mpegts.js"),
    ),
    (
        "vendor/mpegts.js.LICENSE.txt",
        TEXT,
        include_bytes!("assets/vendor/mpegts.js.LICENSE.txt"),
    ),
    (
        "vendor/LICENSE.hls.js",
        TEXT,
        include_bytes!("assets/vendor/LICENSE.hls.js"),
    ),
];

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";
const TEXT: &str = "text/plain; charset=utf-8";

/// `GET /assets/{path}`: one embedded file, or 404.
pub async fn serve(Path(path): Path<String>) -> Response {
    let Some((_, kind, bytes)) = FILES.iter().find(|(p, _, _)| *p == path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, TEXT)],
            "no such file",
        )
            .into_response();
    };
    let mut res = (*bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // The players change only with a new build; our own files may change with every one.
    let cache = if path.starts_with("vendor/") {
        "public, max-age=86400"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}
