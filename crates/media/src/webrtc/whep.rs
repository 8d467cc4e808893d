//! WHEP's HTTP side: `POST /whep/{room}` with an SDP offer (`application/sdp`) answers
//! `201 Created` with the SDP answer and the session's URL in `Location`; `DELETE` on that
//! URL ends the session. Play URL signing applies as on every output (`?expires=…&sign=…`
//! on the POST). Refusals are the JSON error shape: 400 for an offer that is not SDP or
//! has no H.264, 404 for a stream not live, 413 for an offer over 64 KiB, 415 for another
//! content type, 503 when this node has as many WebRTC viewers as it takes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::Router;

use super::{WebRtc, WhepError};
use crate::server::http::{json_error, Outputs};

/// The largest offer read.
const MAX_OFFER: usize = 64 * 1024;

#[derive(Clone)]
struct Whep {
    webrtc: Arc<WebRtc>,
    outputs: Outputs,
}

/// The WHEP routes, to merge into the HTTP server.
pub fn routes(webrtc: Arc<WebRtc>, outputs: Outputs) -> Router {
    Router::new()
        .route("/whep/{room}", post(offer).options(preflight))
        .route("/whep/{room}/{session}", delete(close).options(preflight))
        .with_state(Whep { webrtc, outputs })
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

/// `POST /whep/{room}`.
async fn offer(State(w): State<Whep>, Path(room): Path<String>, req: Request) -> Response {
    if let Err(refused) = w.outputs.check(&room, req.uri().query()) {
        return refused;
    }
    let sdp = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/sdp"));
    if !sdp {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the offer as application/sdp",
        );
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let body: Bytes = match axum::body::to_bytes(req.into_body(), MAX_OFFER).await {
        Ok(body) => body,
        Err(_) => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the offer is larger than 64 KiB",
            )
        }
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad_sdp",
            "the offer is not UTF-8 text",
        );
    };
    match w.webrtc.whep(&room, text, peer).await {
        Ok((session, answer)) => {
            let mut res = (StatusCode::CREATED, answer).into_response();
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
            if let Ok(location) = HeaderValue::from_str(&format!("/whep/{room}/{session}")) {
                h.insert(header::LOCATION, location);
            }
            res
        }
        Err(e) => {
            metrics::counter!("webrtc_offers_refused_total").increment(1);
            let (status, code) = match &e {
                WhepError::BadSdp(_) => (StatusCode::BAD_REQUEST, "bad_sdp"),
                WhepError::NoH264 => (StatusCode::BAD_REQUEST, "unsupported_codecs"),
                WhepError::NotLive => (StatusCode::NOT_FOUND, "stream_not_found"),
                WhepError::Full => (StatusCode::SERVICE_UNAVAILABLE, "webrtc_full"),
                WhepError::Unavailable(_) => {
                    (StatusCode::SERVICE_UNAVAILABLE, "webrtc_unavailable")
                }
            };
            json_error(status, code, &e.to_string())
        }
    }
}

/// `DELETE /whep/{room}/{session}`.
async fn close(State(w): State<Whep>, Path((_room, session)): Path<(String, String)>) -> Response {
    match session.parse::<u64>().ok().filter(|s| w.webrtc.close(*s)) {
        Some(_) => (StatusCode::OK, [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")]).into_response(),
        None => json_error(
            StatusCode::NOT_FOUND,
            "session_not_found",
            "no such WHEP session",
        ),
    }
}
