//! HTTP side of the gateway: the WebSocket endpoint `GET /ws` (and `GET /sub`, goim's
//! path), and the push API
//! (`POST /api/v1/push/users`, `/api/v1/push/rooms/{id}`, `/api/v1/push/all`) with online
//! counts (`GET /api/v1/online/rooms/{id}`, `/api/v1/online/top`), for admins or callers
//! holding the service token. Errors use momo's JSON shape. goim's own push API, with its
//! query parameters and answers, is in [`super::goim_http`].

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use kit::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

use super::Gateway;
use crate::proto::{self, op};

/// The gateway's routes, to merge into the HTTP server.
pub fn routes(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/ws", get(ws))
        // goim's path, for its clients unchanged but for their address.
        .route("/sub", get(ws))
        .route("/api/v1/push/users", post(push_users))
        .route("/api/v1/push/rooms/{id}", post(push_room))
        .route("/api/v1/push/all", post(push_all))
        .route("/api/v1/online/rooms/{id}", get(online_room))
        .route("/api/v1/online/top", get(online_top))
        .with_state(gw.clone())
        .merge(super::goim_http::routes(gw))
}

/// Answers the WebSocket upgrade and hands the connection's socket to the gateway.
///
/// The handshake is answered here rather than by a WebSocket library so that the
/// gateway owns the TCP socket itself: room messages are framed once and written to
/// each member's socket directly (see [`crate::ws::link`]).
async fn ws(State(gw): State<Arc<Gateway>>, req: axum::extract::Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let accept = match crate::ws::handshake::accept(&parts.method, &parts.headers) {
        Ok(a) => a,
        Err(e) => {
            metrics::counter!("im_errors_total", "code" => "bad_upgrade").increment(1);
            let mut res =
                ApiError::bad_request("not_a_websocket_upgrade", e.message()).into_response();
            if e == crate::ws::handshake::HandshakeError::BadVersion {
                res.headers_mut().insert(
                    header::SEC_WEBSOCKET_VERSION,
                    header::HeaderValue::from_static("13"),
                );
            }
            return res;
        }
    };
    // The caps, before the upgrade is promised; in-process callers have no address.
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    // Who the client is, for counting guests once each: behind the operator's proxies,
    // from X-Forwarded-For as the API reads it.
    let client =
        peer.map(|p| kit::cidr::real_ip_from_headers(p, &parts.headers, &gw.config().proxies));
    let permit = match peer.map(|ip| gw.admit(ip)) {
        Some(Err(refusal)) => return too_many_connections(refusal),
        Some(Ok(p)) => Some(p),
        None => None,
    };
    // A goim client's auth body has no token: its URL carries one.
    let token = url_token(&parts.uri);
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        return ApiError::bad_request(
            "upgrade_unavailable",
            "this connection cannot be upgraded (use HTTP/1.1)",
        )
        .into_response();
    };
    tokio::spawn(async move {
        let _permit = permit;
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "websocket upgrade failed");
                return;
            }
        };
        match into_tcp(upgraded) {
            Some((sock, early)) => {
                let transport = super::conn::Transport::WebSocket { token };
                super::conn::serve(sock, early, client, transport, gw).await
            }
            None => tracing::error!("websocket upgrade over a transport that is not TCP"),
        }
    });
    Response::builder()
        .status(axum::http::StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The access token in a WebSocket URL's query (`?token=…`); `None` when absent, empty
/// or unreadable.
fn url_token(uri: &axum::http::Uri) -> Option<String> {
    #[derive(Deserialize)]
    struct WsQuery {
        token: Option<String>,
    }
    Query::<WsQuery>::try_from_uri(uri)
        .ok()
        .and_then(|q| q.0.token)
        .filter(|t| !t.is_empty())
}

/// The TCP socket under an upgraded connection, and the bytes the server already read
/// past the request. momo's connections are [`kit::net::WriteTimeout`] streams; a plain
/// `TcpStream` works too.
fn into_tcp(upgraded: hyper::upgrade::Upgraded) -> Option<(tokio::net::TcpStream, Bytes)> {
    use hyper_util::rt::TokioIo;
    use hyper_util::server::conn::auto::upgrade::downcast;
    use kit::net::WriteTimeout;
    use tokio::net::TcpStream;
    let upgraded = match downcast::<TokioIo<WriteTimeout<TcpStream>>>(upgraded) {
        Ok(p) => return Some((p.io.into_inner().into_inner(), p.read_buf)),
        Err(u) => u,
    };
    let upgraded = match downcast::<TokioIo<TcpStream>>(upgraded) {
        Ok(p) => return Some((p.io.into_inner(), p.read_buf)),
        Err(u) => u,
    };
    let upgraded = match upgraded.downcast::<TokioIo<WriteTimeout<TcpStream>>>() {
        Ok(p) => return Some((p.io.into_inner().into_inner(), p.read_buf)),
        Err(u) => u,
    };
    match upgraded.downcast::<TokioIo<TcpStream>>() {
        Ok(p) => Some((p.io.into_inner(), p.read_buf)),
        Err(_) => None,
    }
}

/// The answer to an upgrade over the gateway's caps: 503, with when to try again.
fn too_many_connections(refusal: kit::conn_limits::Refusal) -> Response {
    let message = match refusal {
        kit::conn_limits::Refusal::Total => "the chat gateway has all the connections it takes",
        kit::conn_limits::Refusal::PerAddress => "too many chat connections from your address",
    };
    let mut res = ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "too_many_connections",
        message,
    )
    .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    res
}

/// Admin token or service token, or a 401/403.
pub(super) async fn operator(gw: &Gateway, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("missing_token", "send an admin or service token"))?;
    if let Some(service) = &gw.config().service_token {
        if !service.is_empty() && constant_time_eq(service.as_bytes(), token.as_bytes()) {
            return Ok(());
        }
    }
    match gw.authenticator().authenticate(token).await {
        Ok(who) if who.is_admin => Ok(()),
        Ok(_) => Err(ApiError::forbidden(
            "admin_required",
            "this needs an admin or service token",
        )),
        Err(e) => Err(ApiError::unauthorized(e.code(), e.to_string())),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushUsers {
    user_ids: Vec<i64>,
    op: Option<u32>,
    body: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Push {
    op: Option<u32>,
    body: Value,
}

/// Parses a push request body (JSON), with momo's error shape.
fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            e.to_string(),
        )
    })
}

fn message_op(op: Option<u32>) -> Result<u32, ApiError> {
    let op = op.unwrap_or(op::MESSAGE);
    if op < 1000 {
        return Err(ApiError::bad_request(
            "invalid_op",
            "pushed operations must be 1000 or above (below is the protocol's own)",
        ));
    }
    Ok(op)
}

fn body_bytes(gw: &Gateway, body: &Value) -> Result<Bytes, ApiError> {
    within_push_limit(gw, Bytes::from(body.to_string()))
}

/// A pushed message no longer than 16 × `max_body` bytes, or 413: both push APIs.
pub(super) fn within_push_limit(gw: &Gateway, message: Bytes) -> Result<Bytes, ApiError> {
    if message.len() > gw.config().max_body * 16 {
        return Err(ApiError::from_status(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        ));
    }
    Ok(message)
}

async fn push_users(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    operator(&gw, &headers).await?;
    let req: PushUsers = parse(&body)?;
    if req.user_ids.is_empty() || req.user_ids.len() > 10_000 {
        return Err(ApiError::bad_request(
            "invalid_user_ids",
            "give 1 to 10000 user ids",
        ));
    }
    let op = message_op(req.op)?;
    let n = gw.push_users_everywhere(&req.user_ids, op, body_bytes(&gw, &req.body)?);
    Ok(Json(json!({"delivered": n})))
}

async fn push_room(
    State(gw): State<Arc<Gateway>>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    operator(&gw, &headers).await?;
    let room = room_id(id)?;
    let req: Push = parse(&body)?;
    let op = message_op(req.op)?;
    let n = gw.push_room_everywhere(&room, op, body_bytes(&gw, &req.body)?);
    Ok(Json(json!({"delivered": n})))
}

async fn push_all(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    operator(&gw, &headers).await?;
    let req: Push = parse(&body)?;
    let op = message_op(req.op)?;
    let n = gw.push_all_everywhere(op, body_bytes(&gw, &req.body)?);
    Ok(Json(json!({"delivered": n})))
}

async fn online_room(
    State(gw): State<Arc<Gateway>>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    operator(&gw, &headers).await?;
    let room = room_id(id)?;
    Ok(Json(
        json!({"room_id": format!("live://{room}"), "online": gw.online(&room)}),
    ))
}

/// The room of a `{id}` path segment, or 400 `invalid_room`.
fn room_id(
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<String, ApiError> {
    id.ok()
        .and_then(|Path(id)| proto::parse_room(&format!("live://{id}")))
        .ok_or_else(|| ApiError::bad_request("invalid_room", "bad room id"))
}

#[derive(Deserialize)]
struct TopQuery {
    limit: Option<usize>,
}

async fn online_top(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    q: Result<Query<TopQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    operator(&gw, &headers).await?;
    let Query(q) = q.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    let rooms: Vec<Value> = gw
        .top_rooms(limit)
        .into_iter()
        .map(|(room, online)| json!({"room_id": format!("live://{room}"), "online": online}))
        .collect();
    Ok(Json(json!({"rooms": rooms})))
}

impl IntoResponse for super::AuthError {
    fn into_response(self) -> Response {
        ApiError::unauthorized(self.code(), self.to_string()).into_response()
    }
}
