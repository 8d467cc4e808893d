//! The HTTP outputs: HTTP-FLV and WebSocket-FLV at `/live/{room}.flv`, HLS at
//! `/live/{room}/index.m3u8` and `/live/{room}/seg-N.ts`. A stream that is not live is a
//! 404 on each. All answers allow any origin, since players run on other sites.
//!
//! Per viewer and frame, HTTP-FLV costs one `Bytes` clone of the frame's shared FLV tag
//! (the viewer loop is `server::viewer`);
//! HLS segments are made once on the publish path and served from memory.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::time::Duration;

use bytes::Bytes;

use super::signed_play::PlaySigning;
use super::viewer::{BodyPeer, BodySink, FlvTags, Sink, Viewer, WsPeer};
use crate::flv::tag::FlvHeader;
use crate::hub::{Hub, Protocol, Subscription};

/// Parts an HTTP-FLV viewer served through the HTTP server may have written ahead of
/// what its client has read (about two flush ticks of a 2.5 Mbit/s stream).
const BODY_QUEUE: usize = 16;

/// What the HTTP outputs serve from, and how: shared by the routes and by the
/// [`SniffingListener`](super::flv_direct::SniffingListener) that serves fresh HTTP-FLV
/// connections before the HTTP server sees them.
#[derive(Clone)]
pub struct Outputs {
    pub(crate) hub: Arc<Hub>,
    signing: Option<Arc<PlaySigning>>,
    pub(crate) flush: Duration,
}

impl Outputs {
    /// With `signing`, every play URL must be signed; `flush` is the rest between a
    /// viewer's writes.
    pub fn new(hub: Arc<Hub>, signing: Option<PlaySigning>, flush: Duration) -> Outputs {
        Outputs {
            hub,
            signing: signing.map(Arc::new),
            flush,
        }
    }

    /// The routes of the HTTP outputs, to merge into the HTTP server.
    pub fn routes(self) -> Router {
        Router::new()
            .route("/live/{file}", get(flv))
            .route("/live/{room}/{file}", get(hls))
            .with_state(self)
    }

    /// `Err` with the 403 answer when signing is on and `query` does not allow `room`.
    #[allow(clippy::result_large_err)] // the error is the response itself
    pub(crate) fn check(&self, room: &str, query: Option<&str>) -> Result<(), Response> {
        let Some(signing) = &self.signing else {
            return Ok(());
        };
        let now = kit::time::now_secs();
        signing
            .check(room, query.unwrap_or(""), now)
            .map_err(|refusal| {
                metrics::counter!("media_play_refused_total").increment(1);
                json_error(
                    StatusCode::FORBIDDEN,
                    "play_forbidden",
                    &refusal.to_string(),
                )
            })
    }
}

/// The JSON error shape (`{"error": {"code", "message"}}`) every output answers with,
/// readable from any origin.
pub(crate) fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response()
}

pub(crate) fn not_live() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "stream_not_found",
        "this stream is not live",
    )
}

/// `GET /live/{room}.flv`: HTTP-FLV, or WebSocket-FLV when the request is an upgrade.
async fn flv(State(out): State<Outputs>, Path(file): Path<String>, req: Request) -> Response {
    let Some(room) = file.strip_suffix(".flv") else {
        return not_live();
    };
    if let Err(refused) = out.check(room, req.uri().query()) {
        return refused;
    }
    let hub = &out.hub;
    let (mut parts, _body) = req.into_parts();
    let wants_ws = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let protocol = if wants_ws {
        Protocol::WsFlv
    } else {
        Protocol::HttpFlv
    };
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(sub) = hub.subscribe_or_pull(room, protocol, peer).await else {
        return not_live();
    };
    if wants_ws {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(ws) => {
                let flush = out.flush;
                ws.on_upgrade(move |socket| ws_flv(socket, sub, flush))
            }
            Err(rejection) => rejection.into_response(),
        };
    }
    // The header goes out with the primer (metadata, codec headers, cached GOP); after
    // each write the viewer rests until the next flush tick and then takes all that
    // queued up. Its loop runs on a task of its own, handing its writes to the body.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(BODY_QUEUE);
    let mut viewer =
        Viewer::new(FlvTags, BodySink(tx), out.flush, "http_flv").with_preamble(flv_header());
    tokio::spawn(async move {
        viewer.run(&mut { sub }, &mut BodyPeer).await;
    });
    let body = futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|part| part.map(Ok::<Bytes, std::convert::Infallible>))
    });
    let mut res = Response::new(Body::from_stream(body));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("video/x-flv"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// WebSocket-FLV: the FLV header, then one binary message per tag, the tags of each
/// flush interval written together.
async fn ws_flv(socket: WebSocket, mut sub: Subscription, flush: Duration) {
    let mut viewer = Viewer::new(FlvTags, socket, flush, "ws_flv");
    if viewer.sink().write(&[flv_header()]).await.is_err() {
        return;
    }
    viewer.run(&mut sub, &mut WsPeer).await;
    let _ = viewer.into_sink().send(Message::Close(None)).await;
}

/// The FLV file header every FLV viewer starts with.
pub(crate) fn flv_header() -> Bytes {
    FlvHeader {
        has_audio: true,
        has_video: true,
    }
    .encode()
}

/// `GET /live/{room}/index.m3u8` and `GET /live/{room}/seg-N.ts`.
async fn hls(
    State(out): State<Outputs>,
    Path((room, file)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    // Segments are named by the playlist, which was already checked; signing the
    // playlist is what guards the stream.
    if file == "index.m3u8" {
        if let Err(refused) = out.check(&room, uri.query()) {
            return refused;
        }
    }
    // A stream pulled from another node is served as its origin segments it, so that
    // every node names the same segments.
    let stream = match out.hub.stream(&room) {
        Some(stream) if !stream.is_relay() => stream,
        _ => {
            return match out.hub.origin_hls(&room, &file, uri.query()).await {
                Some(body) => hls_answer(&file, body),
                None => not_live(),
            }
        }
    };
    let found = if file == "index.m3u8" {
        stream.hls_playlist().map(Bytes::from)
    } else {
        stream.hls_segment(&file)
    };
    match found {
        Some(body) => hls_answer(&file, body),
        // Live, but the first segment is not complete yet (or no such segment).
        None => not_live(),
    }
}

/// An HLS file: the playlist is never cached, a segment (never changed) for a minute.
fn hls_answer(file: &str, body: Bytes) -> Response {
    let (content_type, cache) = if file == "index.m3u8" {
        ("application/vnd.apple.mpegurl", "no-cache")
    } else {
        metrics::counter!("media_bytes_out_total", "protocol" => "hls")
            .increment(body.len() as u64);
        ("video/mp2t", "max-age=60")
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response()
}
