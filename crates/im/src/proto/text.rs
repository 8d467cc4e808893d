//! The same packets as JSON text frames, for clients that would rather not pack bytes:
//! `{"op": 7, "seq": 1, "body": {"token": "..."}}`, one packet per frame.
//!
//! The body is kept as the exact JSON text the client sent (a borrowed span, never
//! parsed into a tree here), so a body round-trips byte for byte and costs one copy.
//! Going out, a JSON body is inserted as it is, so a room message encoded once serves
//! binary and text members alike.

use std::fmt::Write;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Limits, Packet, ProtoError, VERSION};

/// The fields of a text frame that matter. Others (a `ver` some clients add) are ignored;
/// `null` counts as absent.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    op: Option<&'a RawValue>,
    #[serde(borrow, default)]
    seq: Option<&'a RawValue>,
    #[serde(borrow, default)]
    body: Option<&'a RawValue>,
}

/// One packet from a JSON text frame.
///
/// `op` is required and `seq` optional (0 when absent), both whole numbers that fit 32
/// bits: `7.0`, `"7"`, `-1` and `4294967296` are refused rather than guessed at. `body`
/// may be any JSON value; the packet's body is its text exactly as sent (without the
/// whitespace around it), empty when absent or `null`. The version is always
/// [`VERSION`]. A frame longer than [`Limits::max_text_frame`] is refused before it is
/// parsed, and a body longer than `limits.max_body` after.
pub fn decode_text(text: &str, limits: &Limits) -> Result<Packet, ProtoError> {
    if text.len() > limits.max_text_frame() {
        return Err(ProtoError::FrameTooLarge(text.len()));
    }
    // serde would also read a JSON array as the struct's fields in order; only an
    // object is a packet.
    let is_object = text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{');
    let envelope: Envelope = match serde_json::from_str(text) {
        Ok(envelope) if is_object => envelope,
        Ok(_) => return Err(ProtoError::NotAnObject),
        Err(e) if e.is_data() && !is_object => return Err(ProtoError::NotAnObject),
        // Syntax errors, and the one data error an object can have: a repeated field.
        Err(e) => return Err(ProtoError::NotJson(e.to_string())),
    };
    let op = match envelope.op {
        Some(raw) => number(raw, "op")?,
        None => return Err(ProtoError::MissingOp),
    };
    let seq = match envelope.seq {
        Some(raw) => number(raw, "seq")?,
        None => 0,
    };
    let body = match envelope.body {
        Some(raw) if raw.get().len() > limits.max_body => {
            return Err(ProtoError::BodyTooLarge(raw.get().len()))
        }
        Some(raw) => Bytes::copy_from_slice(raw.get().as_bytes()),
        None => Bytes::new(),
    };
    Ok(Packet {
        ver: VERSION,
        op,
        seq,
        body,
    })
}

fn number(raw: &RawValue, field: &'static str) -> Result<u32, ProtoError> {
    serde_json::from_str(raw.get()).map_err(|_| ProtoError::BadField(field))
}

/// `p` as a JSON text frame: `{"op":1000,"seq":0,"body":{...}}`, without `body` when it
/// is empty.
///
/// A body that is valid JSON goes in as it is. Anything else (a binary heartbeat reply
/// or RAW batch sent here by mistake) becomes a JSON string of its bytes read as UTF-8,
/// so the frame is always valid JSON; JSON clients should be sent JSON bodies, such as
/// [`heartbeat_reply_json`]'s.
pub fn encode_text(p: &Packet) -> String {
    let mut out = String::with_capacity(48 + p.body.len());
    // Writing into a String cannot fail.
    let _ = write!(out, r#"{{"op":{},"seq":{}"#, p.op, p.seq);
    if !p.body.is_empty() {
        out.push_str(r#","body":"#);
        match json_text(&p.body) {
            Some(json) => out.push_str(json),
            None => {
                let text = String::from_utf8_lossy(&p.body);
                match serde_json::to_string(&text) {
                    Ok(quoted) => out.push_str(&quoted),
                    // Serialising a str into memory does not fail; stay valid if it did.
                    Err(_) => out.push_str("null"),
                }
            }
        }
    }
    out.push('}');
    out
}

/// `body` as JSON text without surrounding whitespace, if it is exactly one JSON value.
fn json_text(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    serde_json::from_str::<&RawValue>(text)
        .ok()
        .map(RawValue::get)
}

/// The body of a heartbeat reply (op 3) for a JSON client: `{"online":N}`, N being the
/// room's online count. Binary clients get [`heartbeat_reply_body`](super::heartbeat_reply_body).
pub fn heartbeat_reply_json(online: u32) -> Bytes {
    Bytes::from(format!(r#"{{"online":{online}}}"#))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{op, SendMsgBody};

    fn decode(text: &str) -> Result<Packet, ProtoError> {
        decode_text(text, &Limits::default())
    }

    fn body_of(text: &str) -> String {
        String::from_utf8(decode(text).unwrap().body.to_vec()).unwrap()
    }

    #[test]
    fn auth_frame_decodes_with_its_body_as_sent() {
        let p = decode(r#"{"op":7,"seq":1,"body":{"token":"abc","room_id":"live://1"}}"#).unwrap();
        assert_eq!(
            p,
            Packet::new(op::AUTH, 1, &br#"{"token":"abc","room_id":"live://1"}"#[..])
        );
    }

    #[test]
    fn body_text_is_kept_verbatim_inside_and_trimmed_outside() {
        assert_eq!(
            body_of(
                "{\"op\":4, \"body\" :  {\"b\": 1,  \"a\":[1e400, 18446744073709551616123]} \n}"
            ),
            r#"{"b": 1,  "a":[1e400, 18446744073709551616123]}"#
        );
        assert_eq!(body_of(r#"{"op":4,"body":"\u00e9\n"}"#), r#""\u00e9\n""#);
    }

    #[test]
    fn body_may_be_any_json_value() {
        for body in [
            r#""text""#,
            "42",
            "-1.5e3",
            "true",
            "false",
            "[]",
            "[1,{}]",
            "{}",
        ] {
            assert_eq!(body_of(&format!(r#"{{"op":4,"body":{body}}}"#)), body);
        }
    }

    #[test]
    fn absent_or_null_body_is_empty() {
        assert!(decode(r#"{"op":2,"seq":1}"#).unwrap().body.is_empty());
        assert!(decode(r#"{"op":2,"seq":1,"body":null}"#)
            .unwrap()
            .body
            .is_empty());
    }

    #[test]
    fn absent_or_null_seq_is_zero() {
        assert_eq!(decode(r#"{"op":2}"#).unwrap().seq, 0);
        assert_eq!(decode(r#"{"op":2,"seq":null}"#).unwrap().seq, 0);
    }

    #[test]
    fn fields_may_come_in_any_order_and_unknown_ones_are_ignored() {
        let p = decode(r#" {"body":{},"ver":9,"x":[1,{"y":null}],"seq":5,"op":14} "#).unwrap();
        assert_eq!(p, Packet::new(op::SUB, 5, &b"{}"[..]));
    }

    #[test]
    fn missing_or_null_op_is_refused() {
        assert_eq!(decode(r#"{"seq":1}"#), Err(ProtoError::MissingOp));
        assert_eq!(decode("{}"), Err(ProtoError::MissingOp));
        assert_eq!(decode(r#"{"op":null}"#), Err(ProtoError::MissingOp));
    }

    #[test]
    fn op_and_seq_must_be_whole_numbers_that_fit_32_bits() {
        for bad in [
            r#""7""#,
            "7.0",
            "7.5",
            "1e3",
            "-1",
            "4294967296",
            "99999999999999999999999999999",
            "true",
            "[7]",
            "{}",
        ] {
            assert_eq!(
                decode(&format!(r#"{{"op":{bad}}}"#)),
                Err(ProtoError::BadField("op")),
                "op {bad}"
            );
            assert_eq!(
                decode(&format!(r#"{{"op":2,"seq":{bad}}}"#)),
                Err(ProtoError::BadField("seq")),
                "seq {bad}"
            );
        }
        let p = decode(r#"{"op":4294967295,"seq":4294967295}"#).unwrap();
        assert_eq!((p.op, p.seq), (u32::MAX, u32::MAX));
    }

    #[test]
    fn text_that_is_not_json_is_refused() {
        for bad in [
            "",
            "   ",
            "hello",
            r#"{"op":7"#,
            r#"{"op":7,}"#,
            r#"{op:7}"#,
            r#"{"op":7}x"#,
            r#"{"op":7} {"op":2}"#,
            "{\"op\":7,\"body\":\"\u{1}\"}",
        ] {
            assert!(
                matches!(decode(bad), Err(ProtoError::NotJson(_))),
                "{bad:?}: {:?}",
                decode(bad)
            );
        }
    }

    #[test]
    fn json_that_is_not_an_object_is_refused() {
        for bad in [
            "[7,1,{}]", "[7]", "[]", "7", r#""op""#, "null", "true", " [7,1]",
        ] {
            assert_eq!(decode(bad), Err(ProtoError::NotAnObject), "{bad}");
        }
    }

    #[test]
    fn repeated_field_is_refused() {
        assert!(matches!(
            decode(r#"{"op":2,"op":7}"#),
            Err(ProtoError::NotJson(m)) if m.contains("duplicate field")
        ));
    }

    #[test]
    fn deep_nesting_is_kept_as_text_without_recursing() {
        // The body is skimmed, not built into a tree, so depth costs no stack, and body
        // parsers skim fields they do not read the same way.
        let nested = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
        let deep = format!(r#"{{"op":4,"body":{nested}}}"#);
        let limits = Limits {
            max_body: 8192,
            ..Limits::default()
        };
        let p = decode_text(&deep, &limits).unwrap();
        assert_eq!(p.body, nested.as_bytes());
        assert_eq!(decode_text(&encode_text(&p), &limits).unwrap(), p);
        let deep_extra = format!(r#"{{"op":4,"body":{{"text":"hi","x":{nested}}}}}"#);
        let p = decode_text(&deep_extra, &limits).unwrap();
        assert_eq!(SendMsgBody::parse(&p.body).unwrap().text, "hi");
    }

    #[test]
    fn body_over_the_limit_is_refused_and_at_the_limit_accepted() {
        let limits = Limits {
            max_body: 10,
            ..Limits::default()
        };
        // `"12345678"` is 10 bytes of JSON text.
        assert!(decode_text(r#"{"op":4,"body":"12345678"}"#, &limits).is_ok());
        assert_eq!(
            decode_text(r#"{"op":4,"body":"123456789"}"#, &limits),
            Err(ProtoError::BodyTooLarge(11))
        );
    }

    #[test]
    fn frame_over_the_limit_is_refused_before_parsing() {
        let limits = Limits::default();
        let padded = format!(r#"{{"op":2{}}}"#, " ".repeat(limits.max_text_frame()));
        assert_eq!(
            decode_text(&padded, &limits),
            Err(ProtoError::FrameTooLarge(padded.len()))
        );
        // Even when it is not JSON at all.
        let junk = "x".repeat(limits.max_text_frame() + 1);
        assert_eq!(
            decode_text(&junk, &limits),
            Err(ProtoError::FrameTooLarge(junk.len()))
        );
    }

    #[test]
    fn largest_body_fits_in_the_largest_frame() {
        let limits = Limits::default();
        let body = format!(r#""{}""#, "x".repeat(limits.max_body - 2));
        let p = Packet::new(u32::MAX, u32::MAX, body);
        let text = encode_text(&p);
        assert!(text.len() <= limits.max_text_frame());
        assert_eq!(decode_text(&text, &limits).unwrap(), p);
    }

    #[test]
    fn encoding_writes_op_seq_and_the_body_as_json() {
        assert_eq!(
            encode_text(&Packet::new(op::AUTH_REPLY, 1, Bytes::new())),
            r#"{"op":8,"seq":1}"#
        );
        assert_eq!(
            encode_text(&Packet::new(op::MESSAGE, 0, &br#"{"text":"hi"}"#[..])),
            r#"{"op":1000,"seq":0,"body":{"text":"hi"}}"#
        );
        assert_eq!(
            encode_text(&Packet::new(
                op::HEARTBEAT_REPLY,
                3,
                heartbeat_reply_json(12)
            )),
            r#"{"op":3,"seq":3,"body":{"online":12}}"#
        );
        // JSON with whitespace around it is trimmed, as decoding would.
        assert_eq!(
            encode_text(&Packet::new(op::MESSAGE, 0, &b" [1] \n"[..])),
            r#"{"op":1000,"seq":0,"body":[1]}"#
        );
    }

    #[test]
    fn body_that_is_not_json_becomes_a_json_string() {
        assert_eq!(
            encode_text(&Packet::new(op::MESSAGE, 0, &b"hi \"you\""[..])),
            r#"{"op":1000,"seq":0,"body":"hi \"you\""}"#
        );
        // A binary heartbeat body sent to a JSON client by mistake stays valid JSON.
        let text = encode_text(&Packet::new(op::HEARTBEAT_REPLY, 1, &[0, 0, 0xff, 7][..]));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["body"], "\u{0}\u{0}\u{fffd}\u{7}");
    }

    #[test]
    fn decoded_packets_encode_and_decode_to_themselves() {
        for text in [
            r#"{"op":7,"seq":1,"body":{"token":"abc","accepts":[1000,1001]}}"#,
            r#"{"op":2}"#,
            r#"{"seq":9,"op":4,"body":"text"}"#,
            r#"{"op":4,"body":{"n":1e400,"s":"\ud83d\ude00"}}"#,
        ] {
            let p = decode(text).unwrap();
            let again = decode(&encode_text(&p)).unwrap();
            assert_eq!(again, p, "{text}");
        }
    }
}
