//! WebRTC's HTTP side, WHEP and WHIP alike: `POST` an SDP offer (`application/sdp`),
//! get `201 Created` with the SDP answer and the session's URL in `Location`; `DELETE`
//! that URL to end the session. The URL's last part is a random name, so nobody ends a
//! session they did not open.
//!
//! - `POST /whep/{room}` plays a live room; play URL signing applies as on every output
//!   (`?expires=…&sign=…`).
//! - `POST /whip/{stream key}`, or `POST /whip` with `Authorization: Bearer {stream
//!   key}` (how OBS sends it), publishes; the key is checked as an RTMP publish's is
//!   (unknown 403, banned 403, not checkable now 503).
//!
//! Refusals are the JSON error shape: 400 for an offer that is not SDP or carries codecs
//! momo does not take (HEVC named), 404 for a stream not live, 413 for an offer over
//! 64 KiB, 415 for another content type, 503 when this node has as many WebRTC peers
//! as it takes.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::Router;

use super::{OfferError, Opened, WebRtc};
use crate::server::auth::{PublishAuth, PublishRefusal};
use crate::server::http::{json_error, Outputs};

/// The largest offer read.
const MAX_OFFER: usize = 64 * 1024;

#[derive(Clone)]
struct WebRtcHttp {
    webrtc: Arc<WebRtc>,
    outputs: Outputs,
    auth: Arc<dyn PublishAuth>,
}

/// The WHEP and WHIP routes, to merge into the HTTP server.
pub fn routes(webrtc: Arc<WebRtc>, outputs: Outputs, auth: Arc<dyn PublishAuth>) -> Router {
    Router::new()
        .route("/whep/{room}", post(play).options(preflight))
        .route("/whep/{room}/{session}", delete(close).options(preflight))
        .route("/whip", post(publish_bearer).options(preflight))
        .route("/whip/{key}", post(publish).options(preflight))
        .route("/whip/{room}/{session}", delete(close).options(preflight))
        .with_state(WebRtcHttp {
            webrtc,
            outputs,
            auth,
        })
}

/// `OPTIONS`: what a browser asks before a cross-origin `POST` or `DELETE`.
async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (
                header::ACCESS_CONTROL_ALLOW_METHODS,
                "POST, DELETE, OPTIONS",
            ),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "content-type, authorization",
            ),
            (header::ACCESS_CONTROL_EXPOSE_HEADERS, "location"),
        ],
    )
        .into_response()
}

/// The offer in a request's body, or the refusal to send.
async fn read_offer(req: Request) -> Result<String, Response> {
    let sdp = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/sdp"));
    if !sdp {
        return Err(json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the offer as application/sdp",
        ));
    }
    let body = axum::body::to_bytes(req.into_body(), MAX_OFFER)
        .await
        .map_err(|_| {
            json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the offer is larger than 64 KiB",
            )
        })?;
    String::from_utf8(body.to_vec()).map_err(|_| {
        json_error(
            StatusCode::BAD_REQUEST,
            "bad_sdp",
            "the offer is not UTF-8 text",
        )
    })
}

/// `201 Created` with the answer and the session's URL under `base`.
fn created(base: &str, opened: Opened) -> Response {
    let mut res = (StatusCode::CREATED, opened.answer).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("location"),
    );
    if let Ok(location) = HeaderValue::from_str(&format!("{base}/{}", opened.name)) {
        h.insert(header::LOCATION, location);
    }
    res
}

fn refused(kind: &'static str, e: &OfferError) -> Response {
    metrics::counter!("webrtc_offers_refused_total", "kind" => kind).increment(1);
    let (status, code) = match e {
        OfferError::BadSdp(_) => (StatusCode::BAD_REQUEST, "bad_sdp"),
        OfferError::NoH264 | OfferError::Hevc | OfferError::NoOpus => {
            (StatusCode::BAD_REQUEST, "unsupported_codecs")
        }
        OfferError::NotLive => (StatusCode::NOT_FOUND, "stream_not_found"),
        OfferError::Full => (StatusCode::SERVICE_UNAVAILABLE, "webrtc_full"),
        OfferError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "webrtc_unavailable"),
    };
    json_error(status, code, &e.to_string())
}

/// `POST /whep/{room}`.
async fn play(State(w): State<WebRtcHttp>, Path(room): Path<String>, req: Request) -> Response {
    if let Err(refused) = w.outputs.check(&room, req.uri().query()) {
        return refused;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let offer = match read_offer(req).await {
        Ok(offer) => offer,
        Err(res) => return res,
    };
    match w.webrtc.whep(&room, &offer, peer).await {
        Ok(opened) => created(&format!("/whep/{room}"), opened),
        Err(e) => refused("whep", &e),
    }
}

/// `POST /whip/{key}`.
async fn publish(State(w): State<WebRtcHttp>, Path(key): Path<String>, req: Request) -> Response {
    whip(w, key, req).await
}

/// `POST /whip` with the key as a bearer token.
async fn publish_bearer(State(w): State<WebRtcHttp>, req: Request) -> Response {
    match bearer(req.headers()) {
        Some(key) => whip(w, key, req).await,
        None => json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "give the stream key as the path (/whip/KEY) or as a bearer token",
        ),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

async fn whip(w: WebRtcHttp, key: String, req: Request) -> Response {
    let offer = match read_offer(req).await {
        Ok(offer) => offer,
        Err(res) => return res,
    };
    let room = match w.auth.authorize("live", &key).await {
        Ok(room) => room,
        Err(refusal) => {
            let (status, reason) = match &refusal {
                PublishRefusal::UnknownKey => (StatusCode::FORBIDDEN, "unknown_key"),
                PublishRefusal::Banned => (StatusCode::FORBIDDEN, "banned"),
                PublishRefusal::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            };
            metrics::counter!("media_publish_failures_total", "reason" => reason).increment(1);
            return json_error(status, reason, &refusal.to_string());
        }
    };
    match w.webrtc.whip(&room, &offer) {
        Ok(opened) => created(&format!("/whip/{room}"), opened),
        Err(e) => refused("whip", &e),
    }
}

/// `DELETE /whep/{room}/{session}` and `/whip/{room}/{session}`.
async fn close(
    State(w): State<WebRtcHttp>,
    Path((_room, session)): Path<(String, String)>,
) -> Response {
    if w.webrtc.close(&session) {
        (StatusCode::OK, [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")]).into_response()
    } else {
        json_error(
            StatusCode::NOT_FOUND,
            "session_not_found",
            "no such WebRTC session",
        )
    }
}
