//! The OpenAPI document tells the whole truth: every status an operation can answer, and
//! the routes served beside the annotated API (the chat socket and the push APIs).
//!
//! The answers every route of a kind gives come from the extractors, not the handlers, so
//! they are added here by rule rather than written into each annotation: 401 wherever a
//! token is read ([`crate::http::Auth`], [`crate::http::MaybeAuth`]), 403 on the operator
//! routes, 400 wherever a path or query parameter is parsed, and 400/413/415/422 wherever
//! a JSON body is ([`crate::http::Body`]). What a handler answers itself stays in its own
//! annotation, which wins over these. An OpenAPI-driven fuzzer in CI (`.ci/api-fuzz`)
//! checks that nothing else comes back.

use serde_json::{json, Map, Value};
use utoipa::openapi::OpenApi;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Adds the statuses every operation of a kind answers, and the routes momo serves beside
/// the annotated API.
pub fn complete(doc: &mut OpenApi) {
    let Ok(mut v) = serde_json::to_value(&*doc) else {
        return;
    };
    if let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            for method in METHODS {
                if let Some(op) = item.get_mut(method) {
                    complete_operation(path, op);
                }
            }
        }
        for (path, item) in beside_the_api() {
            paths.insert(path, item);
        }
    }
    if let Some(info) = v.get_mut("info").and_then(Value::as_object_mut) {
        let described = info
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        info.insert("description".into(), json!(format!("{described}{GENERAL}")));
    }
    match serde_json::from_value(v) {
        Ok(done) => *doc = done,
        Err(e) => tracing::error!("cannot complete the OpenAPI document: {e}"),
    }
}

/// What the document's description adds about every operation.
const GENERAL: &str = "\n\nAny request may also be answered 503 `too_many_connections` \
    (with `Retry-After`) when the node, or the caller's address, holds all the connections \
    the operator allows, 405 `method_not_allowed` for a method a path does not serve, and \
    408 `timeout` when it runs longer than `api.request_timeout_secs`.\n\n\
    The chat gateway is a WebSocket at `GET /ws` (and goim's `GET /sub`): its protocol, \
    goim's binary packets or their JSON form, is described in `docs/protocol.md` of momo's \
    repository. The push APIs that reach its connections, momo's JSON one \
    (`/api/v1/push/*`, `/api/v1/online/*`) and goim's (`/goim/push/*`, `/goim/online/*`), \
    are described here.";

/// Requests whose URL or head is longer than the server reads are refused before routing.
const TOO_LONG: &str = "The URL (414) or the request's head (431) is longer than the server \
    reads: refused, with no body, before the request is routed";

/// An error answer: `description`, with a JSON body of `schema`, except [`TOO_LONG`]'s,
/// which has none.
fn answer(description: &str, schema: &Value) -> Value {
    if description == TOO_LONG {
        return json!({"description": description});
    }
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// An error answer in momo's shape.
fn error(description: &str) -> Value {
    answer(
        description,
        &json!({"$ref": "#/components/schemas/ErrorBody"}),
    )
}

fn complete_operation(path: &str, op: &mut Value) {
    let signed_in = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|reqs| {
            reqs.iter()
                .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
        });
    let has_params = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty());
    let has_query = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|p| p.iter().any(|p| p["in"] == "query"));
    let json_body = op
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
        .is_some_and(|c| c.keys().any(|k| k.contains("json")));
    let mut add = Vec::new();
    if signed_in {
        add.push((
            "401",
            "No token where one is needed (`missing_token`), or a token that is not valid \
             (`invalid_token`, `token_expired`), or a banned account (`account_banned`)",
        ));
    }
    if path.starts_with("/api/v1/admin") {
        add.push(("403", "Signed in, but not an operator (`admin_required`)"));
    }
    if has_params {
        add.push((
            "400",
            "A path or query parameter is malformed (`invalid_id`, `invalid_query`, …)",
        ));
    }
    if has_query {
        add.push(("414", TOO_LONG));
        add.push(("431", TOO_LONG));
    }
    if json_body {
        add.push((
            "400",
            "The body is not JSON (`malformed_json`), or a path or query parameter is \
             malformed",
        ));
        add.push((
            "413",
            "The body is larger than `api.max_body_bytes` (`payload_too_large`)",
        ));
        add.push((
            "415",
            "The body is not sent as `Content-Type: application/json` \
             (`unsupported_media_type`)",
        ));
        add.push((
            "422",
            "JSON of the wrong shape: a field missing, of the wrong type or unknown \
             (`invalid_body`, naming the field in `fields`)",
        ));
    }
    let Some(op) = op.as_object_mut() else { return };
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    if let Some(responses) = responses {
        for (status, description) in add {
            responses
                .entry(status.to_owned())
                .or_insert_with(|| error(description));
        }
    }
}

/// An operation of the push APIs: operator-only, with `extra` (status, description)
/// answers besides 200, 401 and 403.
fn operator_op(
    tag: &str,
    summary: &str,
    parameters: Value,
    body: Option<Value>,
    ok: Value,
    extra: &[(&str, &str)],
    error_schema: &Value,
) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({"description": "Done", "content": {"application/json": {"schema": ok}}}),
    );
    let mut errors: Vec<(&str, &str)> = vec![
        (
            "401",
            "No token (`missing_token`) or one that is not valid (`invalid_token`)",
        ),
        (
            "403",
            "A token that is neither the service token nor an admin's (`admin_required`)",
        ),
    ];
    errors.extend_from_slice(extra);
    for (status, description) in errors {
        responses.insert(status.into(), answer(description, error_schema));
    }
    let mut op = json!({
        "tags": [tag],
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(body) = body {
        op["requestBody"] = body;
    }
    op
}

fn query(name: &str, description: &str, schema: Value, required: bool) -> Value {
    json!({"name": name, "in": "query", "description": description,
           "required": required, "schema": schema})
}

fn room_path() -> Value {
    json!({"name": "id", "in": "path", "required": true,
           "description": "The live room's id: 1–64 of A–Z a–z 0–9 _ -",
           "schema": {"type": "string"}})
}

/// The routes momo serves beside the annotated API: the chat socket, and the push APIs.
fn beside_the_api() -> Vec<(String, Value)> {
    let momo_error = json!({"$ref": "#/components/schemas/ErrorBody"});
    let delivered = json!({"type": "object", "required": ["delivered"],
        "properties": {"delivered": {"type": "integer", "minimum": 0,
            "description": "Connections the message was handed to"}}});
    let push_body = |with_users: bool| {
        let mut props = json!({
            "op": {"type": "integer", "minimum": 1000, "maximum": 4294967295u64,
                   "description": "The pushed operation (default 1000)"},
            "body": {"description": "The message, any JSON value", "oneOf": [
                {"type": "object"}, {"type": "array", "items": {}}, {"type": "string"},
                {"type": "number"}, {"type": "boolean"}]},
        });
        let mut required = vec!["body"];
        if with_users {
            props["user_ids"] = json!({"type": "array", "minItems": 1, "maxItems": 10000,
                                        "items": {"type": "integer", "format": "int64"}});
            required.push("user_ids");
        }
        json!({"required": true, "content": {"application/json": {"schema": {
            "type": "object", "required": required, "properties": props,
            "additionalProperties": false}}}})
    };
    let json_push_errors: &[(&str, &str)] = &[
        (
            "400",
            "An operation below 1000 (`invalid_op`), a bad room id (`invalid_room`) or user \
             list (`invalid_user_ids`)",
        ),
        (
            "413",
            "A message over 16 × `chat.max_body` bytes (`payload_too_large`)",
        ),
        (
            "422",
            "A body that is not JSON of this shape (`invalid_body`)",
        ),
    ];
    let momo = |summary: &str, params: Value, body: Option<Value>, ok: Value, extra| {
        operator_op("push", summary, params, body, ok, extra, &momo_error)
    };

    let goim_error = json!({"type": "object", "required": ["code", "message", "error"],
        "description": "goim's answer shape with a negative `code` (the HTTP status, negated), \
                        and momo's `error` object",
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"},
                       "error": {"type": "object", "required": ["code", "message"],
                                 "properties": {"code": {"type": "string"},
                                                "message": {"type": "string"}}}}});
    let goim_ok = |data: Value| {
        json!({"type": "object", "required": ["code", "message"],
               "properties": {"code": {"type": "integer", "enum": [0]},
                              "message": {"type": "string"}, "data": data}})
    };
    let raw_message = json!({"required": false, "description": "The message, as it is sent",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                    "text/plain": {"schema": {"type": "string"}}}});
    let operation = query(
        "operation",
        "The pushed operation, 1000 or above",
        json!({"type": "integer", "minimum": 1000, "maximum": 4294967295u64}),
        true,
    );
    let goim_push_errors: &[(&str, &str)] = &[
        ("414", TOO_LONG),
        ("431", TOO_LONG),
        (
            "400",
            "A missing or malformed parameter (`missing_parameter`, `invalid_parameter`, \
             `invalid_query`), an operation below 1000 (`invalid_op`), a room that is not \
             `live` or not a room id (`invalid_room`)",
        ),
        (
            "413",
            "A message over 16 × `chat.max_body` bytes (`payload_too_large`)",
        ),
    ];
    let goim = |summary: &str, params: Value, body: Option<Value>, ok: Value| {
        operator_op(
            "goim",
            summary,
            params,
            body,
            goim_ok(ok),
            goim_push_errors,
            &goim_error,
        )
    };
    let list = |description: &str, items: Value| {
        json!({"type": "array", "minItems": 1, "maxItems": 10000, "items": items,
               "description": description})
    };
    let list_query = |name: &str, description: &str, items: Value| {
        let mut q = query(name, description, list(description, items), true);
        q["style"] = json!("form");
        q["explode"] = json!(true);
        q
    };
    let keys = list_query(
        "keys",
        "Connection keys (repeated, or comma-separated)",
        json!({"type": "string"}),
    );
    let mids = list_query(
        "mids",
        "Member (user) ids (repeated, or comma-separated)",
        json!({"type": "integer", "format": "int64"}),
    );
    let rooms = list_query(
        "rooms",
        "Room ids (repeated, or comma-separated), at most 100",
        json!({"type": "string"}),
    );
    let kind = query(
        "type",
        "The room type; momo's rooms are all `live`",
        json!({"type": "string", "example": "live"}),
        true,
    );

    let socket = |path: &str| {
        json!({"get": {
            "tags": ["chat"],
            "summary": format!("The chat gateway's WebSocket ({path})"),
            "description": "Upgrades to a WebSocket speaking goim's packets (binary frames) \
                or their JSON form (text frames); see `docs/protocol.md` in momo's repository \
                for the whole protocol. The first packet must be auth (op 7) with an access \
                token, in its body or in this URL.",
            "parameters": [query("token", "An access token, for clients whose auth body carries none (goim's)", json!({"type": "string"}), false)],
            "responses": {
                "101": {"description": "Switched to the WebSocket protocol"},
                "400": error("Not a WebSocket upgrade (`not_a_websocket_upgrade`) or one that cannot be upgraded (`upgrade_unavailable`)"),
                "503": error("The gateway holds all the connections it takes, or all your address may open (`too_many_connections`); see `Retry-After`"),
            }
        }})
    };

    vec![
        ("/ws".into(), socket("/ws")),
        ("/sub".into(), socket("/sub, goim's path")),
        (
            "/api/v1/push/users".into(),
            json!({"post": momo("Push to every connection of these users", json!([]),
                Some(push_body(true)), delivered.clone(), json_push_errors)}),
        ),
        (
            "/api/v1/push/rooms/{id}".into(),
            json!({"post": momo("Push to everyone in a room", json!([room_path()]),
                Some(push_body(false)), delivered.clone(), json_push_errors)}),
        ),
        (
            "/api/v1/push/all".into(),
            json!({"post": momo("Push to every connection", json!([]),
                Some(push_body(false)), delivered.clone(), json_push_errors)}),
        ),
        (
            "/api/v1/online/rooms/{id}".into(),
            json!({"get": momo("How many people are in a room's chat", json!([room_path()]), None,
                json!({"type": "object", "properties": {"room_id": {"type": "string"},
                       "online": {"type": "integer"}}}),
                &[("400", "A bad room id (`invalid_room`)")])}),
        ),
        (
            "/api/v1/online/top".into(),
            json!({"get": momo("The busiest rooms' chats",
                json!([query("limit", "1–100 (default 20)", json!({"type": "integer"}), false)]),
                None,
                json!({"type": "object", "properties": {"rooms": {"type": "array", "items": {
                    "type": "object", "properties": {"room_id": {"type": "string"},
                    "online": {"type": "integer"}}}}}}),
                &[("400", "A malformed query (`invalid_query`)")])}),
        ),
        (
            "/goim/push/keys".into(),
            json!({"post": goim("goim: push to connections by key",
                json!([operation.clone(), keys]), Some(raw_message.clone()), delivered.clone())}),
        ),
        (
            "/goim/push/mids".into(),
            json!({"post": goim("goim: push to members (users)",
                json!([operation.clone(), mids]), Some(raw_message.clone()), delivered.clone())}),
        ),
        (
            "/goim/push/room".into(),
            json!({"post": goim("goim: push to a room",
                json!([operation.clone(), kind.clone(),
                       query("room", "The room id", json!({"type": "string"}), true)]),
                Some(raw_message.clone()), delivered.clone())}),
        ),
        (
            "/goim/push/all".into(),
            json!({"post": goim("goim: push to every connection",
                json!([operation.clone(),
                       query("speed", "Connections a second to pace the broadcast at; 0 or none: at once",
                             json!({"type": "integer", "minimum": 0, "maximum": 4294967295u64}), false)]),
                Some(raw_message), delivered)}),
        ),
        (
            "/goim/online/top".into(),
            json!({"get": goim("goim: the busiest rooms",
                json!([kind.clone(), query("limit", "How many (1–100 are given)", json!({"type": "integer", "minimum": 0}), true)]),
                None,
                json!({"type": "array", "items": {"type": "object",
                    "properties": {"room_id": {"type": "string"}, "count": {"type": "integer"}}}}))}),
        ),
        (
            "/goim/online/room".into(),
            json!({"get": goim("goim: how many are in these rooms", json!([kind, rooms]), None,
                json!({"type": "object", "additionalProperties": {"type": "integer"}}))}),
        ),
        (
            "/goim/online/total".into(),
            json!({"get": goim("goim: connections and distinct addresses on this node", json!([]), None,
                json!({"type": "object", "properties": {"ip_count": {"type": "integer"},
                       "conn_count": {"type": "integer"}}}))}),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        let (_, mut doc) = crate::api();
        complete(&mut doc);
        serde_json::to_value(&doc).unwrap()
    }

    #[test]
    fn every_operation_lists_what_its_extractors_answer() {
        let doc = doc();
        let paths = doc["paths"].as_object().unwrap();
        let mut checked = 0;
        for (path, item) in paths {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let responses = op["responses"].as_object().unwrap();
                let secured = op["security"].as_array().is_some_and(|r| {
                    r.iter()
                        .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
                });
                if secured {
                    assert!(responses.contains_key("401"), "{method} {path}");
                }
                if op
                    .pointer("/requestBody/content/application~1json")
                    .is_some()
                {
                    for status in ["413", "422"] {
                        assert!(responses.contains_key(status), "{method} {path} {status}");
                    }
                }
                if path.starts_with("/api/v1/admin") {
                    assert!(responses.contains_key("403"), "{method} {path}");
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked} operations");
    }

    #[test]
    fn the_socket_and_both_push_apis_are_described() {
        let doc = doc();
        // Every route served beside the annotated API survives the round trip through
        // utoipa's types (one that does not fit would drop them all).
        for (path, item) in beside_the_api() {
            for method in item.as_object().unwrap().keys() {
                assert!(doc["paths"][&path][method].is_object(), "{method} {path}");
            }
        }
        let description = doc["info"]["description"].as_str().unwrap();
        assert!(description.contains("docs/protocol.md"));
    }
}
