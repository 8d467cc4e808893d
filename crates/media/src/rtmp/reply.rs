//! What the server says back: `_result`s, `onStatus` and `|RtmpSampleAccess`.
//!
//! Each builder returns a message body (AMF0 bytes); the session decides the chunk
//! stream and message stream. The texts follow what Flash Media Server sent, because
//! players and encoders match on the `code` strings and some log `description`.

use bytes::Bytes;

use crate::amf0::{to_bytes, Value};

/// The server name and version reported in the `connect` reply; encoders log it, and a
/// few only enable features for an `FMS/3` or later.
pub const FMS_VERSION: &str = "FMS/3,0,1,123";

/// An `onStatus` code: what happened to a stream, as players understand it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCode {
    /// The publisher may send media now.
    PublishStart,
    /// The stream key was refused (unknown, or already live elsewhere).
    PublishBadName,
    /// Playback starts; media follows.
    PlayStart,
    /// Sent before `PlayStart`: the player resets its playlist.
    PlayReset,
    /// Playback ended.
    PlayStop,
    /// Playback failed for a reason given in the description.
    PlayFailed,
    /// No stream by that name.
    PlayStreamNotFound,
    /// The publisher of the stream being played stopped.
    PlayUnpublishNotify,
    /// The publisher's stream was unpublished.
    UnpublishSuccess,
}

impl StatusCode {
    /// The `code` string.
    pub fn code(self) -> &'static str {
        match self {
            StatusCode::PublishStart => "NetStream.Publish.Start",
            StatusCode::PublishBadName => "NetStream.Publish.BadName",
            StatusCode::PlayStart => "NetStream.Play.Start",
            StatusCode::PlayReset => "NetStream.Play.Reset",
            StatusCode::PlayStop => "NetStream.Play.Stop",
            StatusCode::PlayFailed => "NetStream.Play.Failed",
            StatusCode::PlayStreamNotFound => "NetStream.Play.StreamNotFound",
            StatusCode::PlayUnpublishNotify => "NetStream.Play.UnpublishNotify",
            StatusCode::UnpublishSuccess => "NetStream.Unpublish.Success",
        }
    }

    /// The `level` string: `error` for failures, which players surface to the user.
    pub fn level(self) -> &'static str {
        match self {
            StatusCode::PublishBadName
            | StatusCode::PlayFailed
            | StatusCode::PlayStreamNotFound => "error",
            _ => "status",
        }
    }
}

fn status_object(level: &str, code: &str, description: &str) -> Vec<(String, Value)> {
    vec![
        ("level".into(), Value::String(level.into())),
        ("code".into(), Value::String(code.into())),
        ("description".into(), Value::String(description.into())),
    ]
}

/// The `_result` that accepts a `connect`: server properties, then the
/// `NetConnection.Connect.Success` status. `objectEncoding` 0 tells Flash clients to
/// speak AMF0, the only encoding momo reads.
pub fn connect_result(transaction_id: f64) -> Bytes {
    let mut info = status_object(
        "status",
        "NetConnection.Connect.Success",
        "Connection succeeded.",
    );
    info.push(("objectEncoding".into(), Value::Number(0.0)));
    to_bytes(&[
        Value::String("_result".into()),
        Value::Number(transaction_id),
        Value::Object(vec![
            ("fmsVer".into(), Value::String(FMS_VERSION.into())),
            ("capabilities".into(), Value::Number(31.0)),
        ]),
        Value::Object(info),
    ])
}

/// The `_result` of a `createStream`: the new message stream id.
pub fn create_stream_result(transaction_id: f64, stream_id: u32) -> Bytes {
    to_bytes(&[
        Value::String("_result".into()),
        Value::Number(transaction_id),
        Value::Null,
        Value::Number(f64::from(stream_id)),
    ])
}

/// An `onStatus` command for a stream; send it on that stream's message stream id.
pub fn on_status(code: StatusCode, description: &str) -> Bytes {
    to_bytes(&[
        Value::String("onStatus".into()),
        Value::Number(0.0),
        Value::Null,
        Value::Object(status_object(code.level(), code.code(), description)),
    ])
}

/// The `|RtmpSampleAccess` data message (type 18) sent when play starts: it lets Flash
/// players read the audio and video samples (for visualisers, snapshots).
pub fn sample_access() -> Bytes {
    to_bytes(&[
        Value::String("|RtmpSampleAccess".into()),
        Value::Boolean(true),
        Value::Boolean(true),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amf0::decode_all;

    #[test]
    fn connect_result_carries_success_code_and_transaction_id() {
        let values = decode_all(&connect_result(1.0)).unwrap();
        assert_eq!(values[0].as_str(), Some("_result"));
        assert_eq!(values[1].as_number(), Some(1.0));
        assert_eq!(
            values[2].get("fmsVer").and_then(Value::as_str),
            Some(FMS_VERSION)
        );
        assert_eq!(
            values[3].get("code").and_then(Value::as_str),
            Some("NetConnection.Connect.Success")
        );
        assert_eq!(
            values[3].get("level").and_then(Value::as_str),
            Some("status")
        );
    }

    #[test]
    fn create_stream_result_carries_the_stream_id() {
        let values = decode_all(&create_stream_result(4.0, 1)).unwrap();
        assert_eq!(
            values,
            vec![
                Value::String("_result".into()),
                Value::Number(4.0),
                Value::Null,
                Value::Number(1.0)
            ]
        );
    }

    #[test]
    fn failures_are_error_level() {
        let values = decode_all(&on_status(StatusCode::PublishBadName, "taken")).unwrap();
        assert_eq!(values[0].as_str(), Some("onStatus"));
        let info = &values[3];
        assert_eq!(info.get("level").and_then(Value::as_str), Some("error"));
        assert_eq!(
            info.get("code").and_then(Value::as_str),
            Some("NetStream.Publish.BadName")
        );
        assert_eq!(
            info.get("description").and_then(Value::as_str),
            Some("taken")
        );
        assert_eq!(StatusCode::PlayStart.level(), "status");
    }

    #[test]
    fn sample_access_allows_both() {
        let values = decode_all(&sample_access()).unwrap();
        assert_eq!(values[0].as_str(), Some("|RtmpSampleAccess"));
        assert_eq!(values.len(), 3);
    }
}
