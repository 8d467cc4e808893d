//! The JSON bodies of the client's requests, and of the error reply.
//!
//! Each request body parses in one call that answers with a [`ProtoError`] whose message
//! shows the expected shape, ready for the op 24 error reply. Where goim sent a plain
//! string instead of JSON (a room id for op 12, comma-separated operations for 14 and
//! 16), that form is accepted too, so goim clients work unchanged.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{op, Packet, ProtoError, ROOM_PREFIX};

/// Longest room id after `live://`.
pub const MAX_ROOM_ID: usize = 64;

/// The bare id of a room written as `live://{id}`, if the id is 1 to [`MAX_ROOM_ID`]
/// ASCII letters, digits, `_` or `-`: `"live://123"` → `Some("123")`. Anything else,
/// including surrounding spaces, is `None`.
pub fn parse_room(s: &str) -> Option<String> {
    let id = s.strip_prefix(ROOM_PREFIX)?;
    let valid = (1..=MAX_ROOM_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    valid.then(|| id.to_owned())
}

/// The bare room id of `raw`, where `None`, `""` mean "no room"; a malformed id is
/// [`ProtoError::BadRoom`].
fn optional_room(raw: Option<&str>) -> Result<Option<String>, ProtoError> {
    match raw {
        None | Some("") => Ok(None),
        Some(r) => parse_room(r)
            .map(Some)
            .ok_or_else(|| ProtoError::BadRoom(r.to_owned())),
    }
}

/// Parses a JSON body; the error tells the client the `shape` that was expected.
fn json<T: DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ProtoError> {
    if body.is_empty() {
        return Err(ProtoError::BadBody(format!(
            "the body is empty; expected {shape}"
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ProtoError::BadBody(format!("{e}; expected {shape}"))
        } else {
            ProtoError::NotJson(format!("{e}; expected {shape}"))
        }
    })
}

/// [`json`] for bodies that must be objects: serde would also read a struct from an array.
fn object<T: DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ProtoError> {
    let text = body.trim_ascii_start();
    if !text.is_empty() && !text.starts_with(b"{") {
        return Err(ProtoError::BadBody(format!(
            "the body must be a JSON object; expected {shape}"
        )));
    }
    json(body, shape)
}

/// The body's text without surrounding whitespace, for goim's plain-text forms.
fn plain<'a>(body: &'a [u8], shape: &str) -> Result<&'a str, ProtoError> {
    std::str::from_utf8(body)
        .map(str::trim)
        .map_err(|_| ProtoError::BadBody(format!("the body is not UTF-8; expected {shape}")))
}

const AUTH_SHAPE: &str =
    r#"{"token": "<access token>", "room_id": "live://1", "platform": "web", "accepts": [1000]}"#;

/// Longest connection key a client may choose.
pub const MAX_KEY: usize = 64;

const GUEST_SHAPE: &str = r#"{"guest": true, "room_id": "live://1"}"#;

/// The auth body (op 7), the first packet of every connection, as goim clients send it:
/// `{"token": "...", "room_id": "live://123", "platform": "web", "accepts": [1000, 1001]}`.
///
/// Only the token is required, except for a guest (`"guest": true`, no token), who must
/// name a room and may only read it: the viewer site shows a room's chat to visitors who
/// have not signed in. A goim client's body carries no token: it signs in with the token
/// in its WebSocket URL (`/sub?token=…`), given to [`AuthBody::parse_with`]. goim's `mid`
/// is checked against the token's user by the gateway; its `key` names the connection for
/// goim's push by keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthBody {
    /// The access token from `/api/v1/auth/login` (the body's, or else the URL's); never
    /// empty unless `guest`.
    pub token: String,
    /// goim's member id: who the client says it is, which must be the token's user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mid: Option<i64>,
    /// goim's connection key, chosen by the client (1–64 printable ASCII characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A visitor without an account, who reads the room's messages and sends none.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub guest: bool,
    /// The room to join at once, as sent (`live://123`); `None` when absent, `null` or
    /// `""`. When present it is a valid room (see [`AuthBody::room`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    /// The client's platform (`web`, `ios`, `android`, …), for logs and metrics only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Pushed operations the client wants; empty means all of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accepts: Vec<u32>,
}

#[derive(Deserialize)]
struct AuthWire {
    #[serde(default)]
    token: String,
    mid: Option<i64>,
    key: Option<String>,
    #[serde(default)]
    guest: bool,
    room_id: Option<String>,
    platform: Option<String>,
    accepts: Option<Vec<u32>>,
}

impl AuthBody {
    /// Reads an auth body, refusing a missing or empty token and a malformed room id.
    pub fn parse(body: &[u8]) -> Result<AuthBody, ProtoError> {
        AuthBody::parse_with(body, None)
    }

    /// [`AuthBody::parse`] for a connection whose URL carried `url_token`: a body without
    /// a token of its own (goim's) takes that one.
    pub fn parse_with(body: &[u8], url_token: Option<&str>) -> Result<AuthBody, ProtoError> {
        let mut wire: AuthWire = object(body, AUTH_SHAPE)?;
        if wire.token.is_empty() {
            wire.token = url_token.unwrap_or_default().to_owned();
        }
        if let Some(key) = &wire.key {
            let valid =
                (1..=MAX_KEY).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
            if !valid {
                return Err(ProtoError::BadBody(format!(
                    "\"key\" must be 1 to {MAX_KEY} printable ASCII characters"
                )));
            }
        }
        let room_id = wire.room_id.filter(|r| !r.is_empty());
        if wire.guest && room_id.is_none() {
            return Err(ProtoError::BadBody(format!(
                "a guest must name a room; expected {GUEST_SHAPE}"
            )));
        }
        if wire.token.is_empty() && !wire.guest {
            return Err(ProtoError::BadBody(format!(
                "\"token\" is empty; expected {AUTH_SHAPE}"
            )));
        }
        optional_room(room_id.as_deref())?;
        Ok(AuthBody {
            token: if wire.guest {
                String::new()
            } else {
                wire.token
            },
            mid: wire.mid,
            key: wire.key,
            guest: wire.guest,
            room_id,
            platform: wire.platform,
            accepts: wire.accepts.unwrap_or_default(),
        })
    }

    /// The bare id of the room to join (`"123"` for `live://123`), if one was given.
    pub fn room(&self) -> Option<String> {
        self.room_id.as_deref().and_then(parse_room)
    }

    /// This body as JSON, for clients and tests that connect.
    pub fn to_bytes(&self) -> Bytes {
        // Strings and numbers only: serialising cannot fail.
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }
}

const ROOM_SHAPE: &str = r#"{"room_id": "live://1"} (or null to leave)"#;

/// The change-room body (op 12): `{"room_id": "live://123"}` to join or move,
/// `{"room_id": null}`, `{"room_id": ""}` or `{}` to leave. goim's plain body
/// (`live://123`, or empty to leave) and a JSON string are accepted too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRoomBody {
    /// The bare id of the room to be in (`"123"`); `None` to leave the current one.
    pub room: Option<String>,
}

#[derive(Deserialize)]
struct RoomWire {
    room_id: Option<String>,
}

impl ChangeRoomBody {
    /// Reads a change-room body in any of its forms.
    pub fn parse(body: &[u8]) -> Result<ChangeRoomBody, ProtoError> {
        let text = plain(body, ROOM_SHAPE)?;
        let raw = if text.starts_with('{') {
            object::<RoomWire>(body, ROOM_SHAPE)?.room_id
        } else if text.starts_with('"') {
            Some(json::<String>(body, ROOM_SHAPE)?)
        } else {
            Some(text.to_owned())
        };
        Ok(ChangeRoomBody {
            room: optional_room(raw.as_deref())?,
        })
    }
}

const OPS_SHAPE: &str = r#"{"ops": [1000, 1001]}"#;

/// The subscribe and unsubscribe body (ops 14 and 16): the pushed operations to start or
/// stop accepting, `{"ops": [1000, 1001]}`. goim's plain body (`1000,1001`) and a bare
/// JSON array are accepted too; an empty plain body is an empty list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsBody {
    /// The operations, as sent.
    pub ops: Vec<u32>,
}

#[derive(Deserialize)]
struct OpsWire {
    ops: Vec<u32>,
}

impl OpsBody {
    /// Reads a subscribe/unsubscribe body in any of its forms.
    pub fn parse(body: &[u8]) -> Result<OpsBody, ProtoError> {
        let text = plain(body, OPS_SHAPE)?;
        let ops = if text.starts_with('{') {
            object::<OpsWire>(body, OPS_SHAPE)?.ops
        } else if text.starts_with('[') {
            json::<Vec<u32>>(body, OPS_SHAPE)?
        } else if text.is_empty() {
            Vec::new()
        } else {
            text.split(',')
                .map(|n| n.trim().parse::<u32>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    ProtoError::BadBody(format!(
                        "{text:?} is not a list of operations; expected {OPS_SHAPE} or 1000,1001"
                    ))
                })?
        };
        Ok(OpsBody { ops })
    }
}

const SEND_SHAPE: &str = r#"{"text": "hello"}"#;

/// The body of a danmaku sent to the current room (op 4): `{"text": "..."}`. How long
/// the text may be, and what words it may hold, is the gateway's to judge.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SendMsgBody {
    /// The message as typed.
    pub text: String,
}

impl SendMsgBody {
    /// Reads a send body.
    pub fn parse(body: &[u8]) -> Result<SendMsgBody, ProtoError> {
        object(body, SEND_SHAPE)
    }
}

/// The body of an error reply (op 24): what the server refused and why.
///
/// `code` is stable snake_case for programs ([`ProtoError::code`], or the gateway's own
/// such as `rate_limited`); `message` is for people; `op` is the operation of the
/// refused request, absent when the frame itself could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<u32>,
}

impl ErrorBody {
    /// An error about a request of operation `op` (`None` when the frame was unreadable).
    pub fn new(code: impl Into<String>, message: impl Into<String>, op: Option<u32>) -> Self {
        ErrorBody {
            code: code.into(),
            message: message.into(),
            op,
        }
    }

    /// The body for a protocol error.
    pub fn from_error(e: &ProtoError, op: Option<u32>) -> Self {
        ErrorBody::new(e.code(), e.to_string(), op)
    }

    /// The op 24 packet carrying this body, echoing the refused request's `seq`.
    pub fn packet(&self, seq: u32) -> Packet {
        // Strings and a number only: serialising cannot fail.
        let body = serde_json::to_vec(self).unwrap_or_default();
        Packet::new(op::ERROR, seq, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_ids_are_live_urls_of_1_to_64_safe_characters() {
        assert_eq!(parse_room("live://123"), Some("123".into()));
        assert_eq!(parse_room("live://a-B_9"), Some("a-B_9".into()));
        let longest = format!("live://{}", "x".repeat(64));
        assert_eq!(parse_room(&longest), Some("x".repeat(64)));
        for bad in [
            "",
            "live://",
            "123",
            "LIVE://123",
            "live:/123",
            " live://123",
            "live://123 ",
            "live://12/3",
            "live://1.2",
            "live://é",
            "live://a b",
            &format!("live://{}", "x".repeat(65)),
        ] {
            assert_eq!(parse_room(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn auth_body_as_goim_clients_send_it() {
        let body = br#"{"mid":123,"key":"k","token":"t0k","room_id":"live://1000","platform":"web","accepts":[1000,1001,1002]}"#;
        let auth = AuthBody::parse(body).unwrap();
        assert_eq!(
            auth,
            AuthBody {
                token: "t0k".into(),
                mid: Some(123),
                key: Some("k".into()),
                guest: false,
                room_id: Some("live://1000".into()),
                platform: Some("web".into()),
                accepts: vec![1000, 1001, 1002],
            }
        );
        assert_eq!(auth.room(), Some("1000".into()));
        assert_eq!(AuthBody::parse(&auth.to_bytes()).unwrap(), auth);
    }

    #[test]
    fn goims_body_without_a_token_takes_the_urls() {
        let body = br#"{"mid":123, "room_id":"live://1000", "platform":"web", "accepts":[1000,1001,1002]}"#;
        assert_eq!(AuthBody::parse(body).unwrap_err().code(), "bad_body");
        let auth = AuthBody::parse_with(body, Some("url-token")).unwrap();
        assert_eq!((auth.token.as_str(), auth.mid), ("url-token", Some(123)));
        // The body's own token wins.
        let own = AuthBody::parse_with(br#"{"token":"mine"}"#, Some("url-token")).unwrap();
        assert_eq!(own.token, "mine");
        assert!(AuthBody::parse_with(b"{}", Some("")).is_err());
        for key in ["\"\"", "\"a b\"", &format!("\"{}\"", "k".repeat(65))] {
            let body = format!(r#"{{"token":"t","key":{key}}}"#);
            assert_eq!(
                AuthBody::parse(body.as_bytes()).unwrap_err().code(),
                "bad_body"
            );
        }
    }

    #[test]
    fn a_guest_needs_a_room_and_no_token() {
        let auth = AuthBody::parse(br#"{"guest":true,"room_id":"live://7"}"#).unwrap();
        assert!(auth.guest);
        assert_eq!(auth.token, "");
        assert_eq!(auth.room(), Some("7".into()));
        assert!(AuthBody::parse(br#"{"guest":true}"#).is_err());
        assert!(AuthBody::parse(br#"{"room_id":"live://7"}"#).is_err());
    }

    #[test]
    fn auth_body_needs_only_a_token() {
        for body in [
            &br#"{"token":"t"}"#[..],
            br#"{"token":"t","room_id":null,"platform":null,"accepts":null}"#,
            br#"{"token":"t","room_id":""}"#,
        ] {
            let auth = AuthBody::parse(body).unwrap();
            assert_eq!((auth.room_id.as_deref(), auth.room()), (None, None));
            assert!(auth.accepts.is_empty());
        }
    }

    #[test]
    fn auth_body_without_a_usable_token_is_refused() {
        for body in [
            &b""[..],
            b"{}",
            br#"{"token":""}"#,
            br#"{"token":null}"#,
            br#"{"token":42}"#,
            b"[]",
        ] {
            let e = AuthBody::parse(body).unwrap_err();
            assert_eq!(e.code(), "bad_body", "{e}");
            assert!(e.to_string().contains("\"token\""), "{e}");
        }
        assert_eq!(AuthBody::parse(b"token=t").unwrap_err().code(), "bad_body");
        assert_eq!(
            AuthBody::parse(b"{token:t}").unwrap_err().code(),
            "not_json"
        );
        assert_eq!(AuthBody::parse(br#"["t"]"#).unwrap_err().code(), "bad_body");
    }

    #[test]
    fn auth_body_with_a_malformed_room_or_accepts_is_refused() {
        assert_eq!(
            AuthBody::parse(br#"{"token":"t","room_id":"1000"}"#),
            Err(ProtoError::BadRoom("1000".into()))
        );
        for accepts in ["[-1]", "[1.5]", "[4294967296]", r#"["1000"]"#, "1000"] {
            let body = format!(r#"{{"token":"t","accepts":{accepts}}}"#);
            assert_eq!(
                AuthBody::parse(body.as_bytes()).unwrap_err().code(),
                "bad_body",
                "{accepts}"
            );
        }
    }

    #[test]
    fn change_room_accepts_json_and_goims_plain_room_id() {
        let joins = [
            &br#"{"room_id":"live://123"}"#[..],
            br#" {"room_id": "live://123", "x": 1} "#,
            br#""live://123""#,
            b"live://123",
            b" live://123\n",
        ];
        for body in joins {
            assert_eq!(
                ChangeRoomBody::parse(body).unwrap().room,
                Some("123".into()),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        for leave in [
            &br#"{"room_id":null}"#[..],
            br#"{"room_id":""}"#,
            b"{}",
            b"",
            br#""""#,
        ] {
            assert_eq!(ChangeRoomBody::parse(leave).unwrap().room, None);
        }
    }

    #[test]
    fn change_room_to_a_malformed_room_is_refused() {
        assert_eq!(
            ChangeRoomBody::parse(br#"{"room_id":"123"}"#),
            Err(ProtoError::BadRoom("123".into()))
        );
        assert_eq!(
            ChangeRoomBody::parse(b"live://no spaces"),
            Err(ProtoError::BadRoom("live://no spaces".into()))
        );
        assert_eq!(
            ChangeRoomBody::parse(br#"{"room_id":5}"#)
                .unwrap_err()
                .code(),
            "bad_body"
        );
        assert_eq!(
            ChangeRoomBody::parse(br#"{"room_id":"#).unwrap_err().code(),
            "not_json"
        );
        assert_eq!(
            ChangeRoomBody::parse(&[0xff, 0xfe]).unwrap_err().code(),
            "bad_body"
        );
    }

    #[test]
    fn ops_accept_json_and_goims_comma_list() {
        for body in [
            &br#"{"ops":[1000,1001]}"#[..],
            b"[1000, 1001]",
            b"1000,1001",
            b" 1000 , 1001 ",
        ] {
            assert_eq!(OpsBody::parse(body).unwrap().ops, vec![1000, 1001]);
        }
        assert_eq!(OpsBody::parse(b"").unwrap().ops, Vec::<u32>::new());
        assert_eq!(
            OpsBody::parse(br#"{"ops":[]}"#).unwrap().ops,
            Vec::<u32>::new()
        );
    }

    #[test]
    fn malformed_ops_are_refused() {
        for body in [
            &b"1000,,1001"[..],
            b"1000,x",
            b"-1",
            b"4294967296",
            b"{}",
            br#"{"ops":"1000"}"#,
            br#"{"ops":[1000.5]}"#,
            b"[-1]",
        ] {
            let e = OpsBody::parse(body).unwrap_err();
            assert_eq!(e.code(), "bad_body", "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn send_body_needs_text() {
        assert_eq!(
            SendMsgBody::parse(br#"{"text":"hi","color":"red"}"#)
                .unwrap()
                .text,
            "hi"
        );
        assert_eq!(SendMsgBody::parse(b"{}").unwrap_err().code(), "bad_body");
        assert_eq!(SendMsgBody::parse(b"").unwrap_err().code(), "bad_body");
        assert_eq!(SendMsgBody::parse(b"hi").unwrap_err().code(), "bad_body");
        assert_eq!(SendMsgBody::parse(b"{hi}").unwrap_err().code(), "not_json");
    }

    #[test]
    fn error_reply_is_op_24_with_code_message_and_op() {
        let p = ErrorBody::from_error(&ProtoError::MissingOp, Some(op::SEND_MSG)).packet(9);
        assert_eq!((p.op, p.seq), (op::ERROR, 9));
        let body: serde_json::Value = serde_json::from_slice(&p.body).unwrap();
        assert_eq!(body["code"], "missing_op");
        assert_eq!(body["op"], 4);
        assert!(body["message"].as_str().unwrap().contains("op"));
        let unreadable = ErrorBody::new("truncated", "cut short", None).packet(0);
        assert_eq!(
            &unreadable.body[..],
            br#"{"code":"truncated","message":"cut short"}"#
        );
    }
}
