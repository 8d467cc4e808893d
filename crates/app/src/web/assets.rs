//! The pages' scripts, styles and vendored player libraries, embedded at build time.
//!
//! `vendor/` holds mpegts.js and hls.js exactly as their npm packages ship them (the
//! minified builds; see `vendor/README.md` for versions and licences).
//!
//! Each file is prepared once, on its first request: an ETag from its bytes (so a
//! browser revalidates with `If-None-Match` and gets 304 with no body) and a gzip copy
//! when that is smaller (sent to clients that accept gzip; ~690 KB of players become
//! ~210 KB). Our own files are `no-cache` (revalidated on each use: they may change with
//! any build); the players are cached for a day.

use std::io::Write;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

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
    ("js/me.js", JS, include_bytes!("assets/js/me.js")),
    ("js/upload.js", JS, include_bytes!("assets/js/upload.js")),
    ("js/search.js", JS, include_bytes!("assets/js/search.js")),
    ("js/wallet.js", JS, include_bytes!("assets/js/wallet.js")),
    ("js/admin.js", JS, include_bytes!("assets/js/admin.js")),
    ("js/charts.js", JS, include_bytes!("assets/js/charts.js")),
    ("favicon.svg", SVG, include_bytes!("assets/favicon.svg")),
    // The default gift catalogue's icons (migration 0014).
    (
        "gifts/thumbs-up.svg",
        SVG,
        include_bytes!("assets/gifts/thumbs-up.svg"),
    ),
    (
        "gifts/lollipop.svg",
        SVG,
        include_bytes!("assets/gifts/lollipop.svg"),
    ),
    (
        "gifts/bouquet.svg",
        SVG,
        include_bytes!("assets/gifts/bouquet.svg"),
    ),
    (
        "gifts/fireworks.svg",
        SVG,
        include_bytes!("assets/gifts/fireworks.svg"),
    ),
    (
        "gifts/sports-car.svg",
        SVG,
        include_bytes!("assets/gifts/sports-car.svg"),
    ),
    (
        "gifts/castle.svg",
        SVG,
        include_bytes!("assets/gifts/castle.svg"),
    ),
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

/// A file as it is sent.
struct Prepared {
    etag: HeaderValue,
    plain: Bytes,
    /// Present when gzip makes the file smaller.
    gzip: Option<Bytes>,
}

fn prepare(bytes: &'static [u8]) -> Prepared {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let etag = format!("\"{}\"", hex::encode(&digest[..12]));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let gzip = gz
        .write_all(bytes)
        .and_then(|()| gz.finish())
        .ok()
        .filter(|z| z.len() < bytes.len())
        .map(Bytes::from);
    Prepared {
        etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
        plain: Bytes::from_static(bytes),
        gzip,
    }
}

/// The prepared form of `FILES[i]`, made on first use.
fn prepared(i: usize) -> &'static Prepared {
    static CELLS: OnceLock<Vec<OnceLock<Prepared>>> = OnceLock::new();
    let cells = CELLS.get_or_init(|| FILES.iter().map(|_| OnceLock::new()).collect());
    cells[i].get_or_init(|| prepare(FILES[i].2))
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Some(v) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let ours = etag.to_str().unwrap_or_default();
    v.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == ours)
}

/// Whether the client takes gzip (`Accept-Encoding`, without `gzip;q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// `GET /assets/{path}`: one embedded file (304 when the browser's copy is current,
/// gzip when it takes it), or 404.
pub async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = FILES.iter().position(|(p, _, _)| *p == path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, TEXT)],
            "no such file",
        )
            .into_response();
    };
    send(i, path.starts_with("vendor/"), &headers)
}

/// `GET /favicon.ico`, which browsers ask for on their own: the site's icon.
pub async fn favicon(headers: HeaderMap) -> Response {
    let i = FILES
        .iter()
        .position(|(p, _, _)| *p == "favicon.svg")
        .unwrap_or_default();
    send(i, false, &headers)
}

fn send(i: usize, long_lived: bool, headers: &HeaderMap) -> Response {
    let kind = FILES[i].1;
    let file = prepared(i);
    let mut res = if not_modified(headers, &file.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match &file.gzip {
            Some(z) if accepts_gzip(headers) => {
                let mut res = z.clone().into_response();
                res.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                res
            }
            _ => file.plain.clone().into_response(),
        }
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::ETAG, file.etag.clone());
    if file.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // The players change only with a new build; our own files may change with every one.
    let cache = if long_lived {
        "public, max-age=86400"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn gzip_is_sent_only_to_those_who_take_it() {
        assert!(accepts_gzip(&h(&[(
            "accept-encoding",
            "gzip, deflate, br"
        )])));
        assert!(accepts_gzip(&h(&[(
            "accept-encoding",
            "br;q=1.0, GZIP;q=0.5"
        )])));
        assert!(!accepts_gzip(&h(&[("accept-encoding", "gzip;q=0, br")])));
        assert!(!accepts_gzip(&h(&[("accept-encoding", "identity")])));
        assert!(!accepts_gzip(&h(&[])));
    }

    #[test]
    fn a_current_copy_gets_not_modified() {
        let tag = HeaderValue::from_static("\"abc\"");
        assert!(not_modified(&h(&[("if-none-match", "\"abc\"")]), &tag));
        assert!(not_modified(
            &h(&[("if-none-match", "W/\"x\", W/\"abc\"")]),
            &tag
        ));
        assert!(not_modified(&h(&[("if-none-match", "*")]), &tag));
        assert!(!not_modified(&h(&[("if-none-match", "\"abd\"")]), &tag));
        assert!(!not_modified(&h(&[]), &tag));
    }

    #[test]
    fn every_file_is_prepared_and_the_players_shrink() {
        for (i, (path, _, bytes)) in FILES.iter().enumerate() {
            let p = prepared(i);
            assert_eq!(p.plain.len(), bytes.len(), "{path}");
            if path.ends_with(".js") && bytes.len() > 100_000 {
                let z = p.gzip.as_ref().expect("a big script compresses");
                assert!(
                    z.len() * 2 < bytes.len(),
                    "{path}: {} of {}",
                    z.len(),
                    bytes.len()
                );
            }
        }
    }
}
