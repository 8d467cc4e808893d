//! What a server says to a client, read from AMF0 command messages: answers to
//! transactions (`_result`, `_error`) and stream statuses (`onStatus`).
//!
//! Reading is lenient, as clients must be with the servers out there: a missing
//! information object is an empty status, extra values are ignored, and commands a
//! client does not act on (`onBWDone`, `_checkbw`, `close` …) come out as
//! [`Reply::Other`].

use crate::amf0::{self, Amf0Error, Value};

/// One command from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `_result` for transaction `transaction_id`; `value` is the last value sent (the
    /// information object for `connect`, the stream id for `createStream`).
    Result {
        /// The transaction it answers.
        transaction_id: f64,
        /// The last value of the answer, `Null` if there was none.
        value: Value,
    },
    /// `_error` for transaction `transaction_id`.
    Error {
        /// The transaction it answers.
        transaction_id: f64,
        /// What went wrong.
        status: Status,
    },
    /// `onStatus`: something happened to a stream.
    OnStatus(Status),
    /// Any other command.
    Other(String),
}

/// The fields of an information object that clients act on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// `status`, `warning` or `error`.
    pub level: String,
    /// For example `NetStream.Publish.Start`.
    pub code: String,
    /// Text for people.
    pub description: String,
}

impl Status {
    /// Reads the information object among `values` (the last object there is).
    fn from_values(values: &[Value]) -> Status {
        let info = values.iter().rev().find(|v| v.properties().is_some());
        let field = |key: &str| {
            info.and_then(|i| i.get(key))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Status {
            level: field("level"),
            code: field("code"),
            description: field("description"),
        }
    }

    /// Whether this reports a failure.
    pub fn is_error(&self) -> bool {
        self.level == "error"
    }
}

/// Why a command from the server could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The body is not valid AMF0.
    #[error("server command: {0}")]
    Amf0(#[from] Amf0Error),
    /// The body does not start with a command name.
    #[error("server command does not start with a name")]
    NoName,
}

impl Reply {
    /// Reads a command message body (type 20, or type 17 after its leading byte).
    pub fn parse(body: &[u8]) -> Result<Reply, ReplyError> {
        let values = amf0::decode_all(body)?;
        let name = values
            .first()
            .and_then(Value::as_str)
            .ok_or(ReplyError::NoName)?;
        let transaction_id = values.get(1).and_then(Value::as_number).unwrap_or(0.0);
        let rest = values.get(2..).unwrap_or_default();
        Ok(match name {
            "_result" => Reply::Result {
                transaction_id,
                value: rest.last().cloned().unwrap_or(Value::Null),
            },
            "_error" => Reply::Error {
                transaction_id,
                status: Status::from_values(rest),
            },
            "onStatus" => Reply::OnStatus(Status::from_values(rest)),
            other => Reply::Other(other.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtmp::reply::{connect_result, create_stream_result, on_status, StatusCode};

    #[test]
    fn reads_what_momo_s_server_answers() {
        match Reply::parse(&connect_result(1.0)).unwrap() {
            Reply::Result {
                transaction_id,
                value,
            } => {
                assert_eq!(transaction_id, 1.0);
                assert_eq!(
                    value.get("code").and_then(Value::as_str),
                    Some("NetConnection.Connect.Success")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            Reply::parse(&create_stream_result(2.0, 1)).unwrap(),
            Reply::Result {
                transaction_id: 2.0,
                value: Value::Number(1.0)
            }
        );
        let status = match Reply::parse(&on_status(StatusCode::PublishBadName, "no")).unwrap() {
            Reply::OnStatus(status) => status,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            status,
            Status {
                level: "error".into(),
                code: "NetStream.Publish.BadName".into(),
                description: "no".into()
            }
        );
        assert!(status.is_error());
    }

    #[test]
    fn error_answers_and_other_commands() {
        let body = amf0::to_bytes(&[
            Value::String("_error".into()),
            Value::Number(1.0),
            Value::Null,
            Value::Object(vec![(
                "code".into(),
                Value::String("NetConnection.Connect.Rejected".into()),
            )]),
        ]);
        assert!(matches!(
            Reply::parse(&body).unwrap(),
            Reply::Error { transaction_id, status }
                if transaction_id == 1.0 && status.code == "NetConnection.Connect.Rejected"
        ));
        let body = amf0::to_bytes(&[Value::String("onBWDone".into()), Value::Number(0.0)]);
        assert_eq!(
            Reply::parse(&body).unwrap(),
            Reply::Other("onBWDone".into())
        );
        assert_eq!(
            Reply::parse(&amf0::to_bytes(&[Value::Null])),
            Err(ReplyError::NoName)
        );
    }
}
