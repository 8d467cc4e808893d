//! goim's push API as goim's logic serves it, so that goim's pushers drive momo unchanged:
//! `POST /goim/push/keys|mids|room|all` with the parameters in the query and the request
//! body, whatever its bytes, as the message; `GET /goim/online/top|room|total`. Same
//! callers as momo's own push API: the service token or an admin's.
//!
//! Answers have goim's shape, `{"code": 0, "message": "", "data": …}`. goim answers every
//! error with HTTP 200 and a negative `code`; momo answers with the right status, and the
//! body carries both goim's negative `code` (the status, negated) and momo's
//! `{"error": {"code", "message"}}`, so a pusher that checks either one sees the error.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use kit::ApiError;
use serde_json::{json, Value};

use super::http::{operator, within_push_limit};
use super::Gateway;
use crate::proto::{op, ROOM_PREFIX};

/// goim's routes, to merge into the HTTP server.
pub fn routes(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/goim/push/keys", post(push_keys))
        .route("/goim/push/mids", post(push_mids))
        .route("/goim/push/room", post(push_room))
        .route("/goim/push/all", post(push_all))
        .route("/goim/online/top", get(online_top))
        .route("/goim/online/room", get(online_room))
        .route("/goim/online/total", get(online_total))
        .with_state(gw)
}

/// Most keys, members or rooms one call may name.
const MAX_TARGETS: usize = 10_000;

/// An error in goim's shape and momo's at once.
#[derive(Debug)]
struct GoimError(ApiError);

impl From<ApiError> for GoimError {
    fn from(e: ApiError) -> GoimError {
        GoimError(e)
    }
}

impl IntoResponse for GoimError {
    fn into_response(self) -> Response {
        let status = self.0.status;
        let mut body = serde_json::to_value(self.0.body()).unwrap_or_else(|_| json!({}));
        let message = body["error"]["message"].clone();
        body["code"] = json!(-i32::from(status.as_u16()));
        body["message"] = message;
        (status, Json(body)).into_response()
    }
}

type Answer = Result<Json<Value>, GoimError>;

fn ok(data: Value) -> Answer {
    Ok(Json(json!({"code": 0, "message": "", "data": data})))
}

fn bad(code: &'static str, message: impl Into<String>) -> GoimError {
    GoimError(ApiError::bad_request(code, message))
}

/// A query string as goim's parameters: its pairs in order, or why they cannot be read.
type RawQuery = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

/// What every goim call does first: checks the caller, then reads the query.
async fn begin(gw: &Gateway, headers: &HeaderMap, q: RawQuery) -> Result<Params, GoimError> {
    operator(gw, headers).await?;
    Params::read(q)
}

/// The query's pairs in order; goim's lists come as repeated keys (`mids=1&mids=2`), and
/// comma-separated values are read too.
struct Params(Vec<(String, String)>);

impl Params {
    fn read(q: RawQuery) -> Result<Params, GoimError> {
        q.map(|Query(pairs)| Params(pairs))
            .map_err(|e| bad("invalid_query", e.body_text()))
    }

    fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<&str, GoimError> {
        self.one(name)
            .ok_or_else(|| bad("missing_parameter", format!("\"{name}\" is required")))
    }

    fn list(&self, name: &'static str) -> Result<Vec<&str>, GoimError> {
        let all: Vec<&str> = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        if all.is_empty() || all.len() > MAX_TARGETS {
            return Err(bad(
                "missing_parameter",
                format!("give 1 to {MAX_TARGETS} values of \"{name}\""),
            ));
        }
        Ok(all)
    }

    fn number<T: std::str::FromStr>(&self, name: &'static str, raw: &str) -> Result<T, GoimError> {
        raw.parse().map_err(|_| {
            bad(
                "invalid_parameter",
                format!("\"{name}\" must be a whole number"),
            )
        })
    }

    /// The pushed operation: 1000 and above (below is the protocol's own).
    fn operation(&self) -> Result<u32, GoimError> {
        let op: u32 = self.number("operation", self.required("operation")?)?;
        if op < op::MESSAGE {
            return Err(bad(
                "invalid_op",
                "pushed operations must be 1000 or above (below is the protocol's own)",
            ));
        }
        Ok(op)
    }
}

/// The request body as the message, within the push API's size limit.
fn message(gw: &Gateway, body: Bytes) -> Result<Bytes, GoimError> {
    Ok(within_push_limit(gw, body)?)
}

/// Whether goim's room `type` is momo's (all of momo's rooms are `live`).
fn is_live(kind: &str) -> bool {
    ROOM_PREFIX.strip_suffix("://") == Some(kind)
}

/// goim's room key is `type://room`; momo's rooms are all of type `live`.
fn room_of(kind: &str, room: &str) -> Result<String, GoimError> {
    if !is_live(kind) {
        return Err(bad("invalid_room", "momo's rooms are of type \"live\""));
    }
    crate::proto::parse_room(&format!("{ROOM_PREFIX}{room}"))
        .ok_or_else(|| bad("invalid_room", "a room is 1 to 64 of A-Z a-z 0-9 _ -"))
}

async fn push_keys(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    q: RawQuery,
    body: Bytes,
) -> Answer {
    let p = begin(&gw, &headers, q).await?;
    let op = p.operation()?;
    let keys: Vec<String> = p.list("keys")?.into_iter().map(str::to_owned).collect();
    let n = gw.push_keys_everywhere(&keys, op, message(&gw, body)?);
    ok(json!({"delivered": n}))
}

async fn push_mids(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    q: RawQuery,
    body: Bytes,
) -> Answer {
    let p = begin(&gw, &headers, q).await?;
    let op = p.operation()?;
    let mids = p
        .list("mids")?
        .into_iter()
        .map(|m| p.number::<i64>("mids", m))
        .collect::<Result<Vec<i64>, _>>()?;
    let n = gw.push_users_everywhere(&mids, op, message(&gw, body)?);
    ok(json!({"delivered": n}))
}

async fn push_room(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    q: RawQuery,
    body: Bytes,
) -> Answer {
    let p = begin(&gw, &headers, q).await?;
    let op = p.operation()?;
    let room = room_of(p.required("type")?, p.required("room")?)?;
    let n = gw.push_room_everywhere(&room, op, message(&gw, body)?);
    ok(json!({"delivered": n}))
}

async fn push_all(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    q: RawQuery,
    body: Bytes,
) -> Answer {
    let p = begin(&gw, &headers, q).await?;
    let op = p.operation()?;
    // Connections a second, as goim's comets pace a broadcast; 0 or none: at once.
    let speed = match p.one("speed") {
        Some(s) => p.number::<u32>("speed", s)?,
        None => 0,
    };
    let body = message(&gw, body)?;
    // The other nodes broadcast at once; the pacing is this node's.
    if let Some(nodes) = gw.nodes() {
        nodes.all(op, body.clone());
    }
    let n = gw.push_all_paced(op, body, speed);
    ok(json!({"delivered": n}))
}

async fn online_top(State(gw): State<Arc<Gateway>>, headers: HeaderMap, q: RawQuery) -> Answer {
    let p = begin(&gw, &headers, q).await?;
    let kind = p.required("type")?;
    let limit: usize = p.number("limit", p.required("limit")?)?;
    let tops: Vec<Value> = if is_live(kind) {
        gw.top_rooms(limit.clamp(1, 100))
            .into_iter()
            .map(|(room, count)| json!({"room_id": room, "count": count}))
            .collect()
    } else {
        Vec::new()
    };
    ok(json!(tops))
}

async fn online_room(State(gw): State<Arc<Gateway>>, headers: HeaderMap, q: RawQuery) -> Answer {
    let p = begin(&gw, &headers, q).await?;
    let kind = p.required("type")?;
    let rooms = p.list("rooms")?;
    if rooms.len() > 100 {
        return Err(bad("missing_parameter", "give 1 to 100 rooms"));
    }
    let mut counts = serde_json::Map::new();
    for room in rooms {
        let online = room_of(kind, room).map(|r| gw.online(&r)).unwrap_or(0);
        counts.insert(room.to_owned(), json!(online));
    }
    ok(Value::Object(counts))
}

async fn online_total(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Answer {
    operator(&gw, &headers).await?;
    let (conns, ips) = gw.totals();
    ok(json!({"ip_count": ips, "conn_count": conns}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn params(q: &str) -> Params {
        let uri: axum::http::Uri = format!("/x?{q}").parse().unwrap();
        Params::read(Query::try_from_uri(&uri)).unwrap()
    }

    #[test]
    fn lists_come_repeated_or_comma_separated() {
        let p = params("mids=1&mids=2,3&operation=1000");
        assert_eq!(p.list("mids").unwrap(), ["1", "2", "3"]);
        assert_eq!(p.operation().unwrap(), 1000);
        assert!(params("mids=").list("mids").is_err());
        assert!(params("operation=7").operation().is_err());
        assert!(params("operation=x").operation().is_err());
        assert!(params("").operation().is_err());
    }

    #[test]
    fn rooms_are_of_type_live() {
        assert_eq!(room_of("live", "1000").unwrap(), "1000");
        assert!(room_of("game", "1000").is_err());
        assert!(room_of("live", "a b").is_err());
    }

    #[tokio::test]
    async fn errors_carry_goims_code_and_momos_shape() {
        let res = bad("invalid_op", "no").into_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], -400);
        assert_eq!(v["message"], "no");
        assert_eq!(v["error"]["code"], "invalid_op");
    }
}
