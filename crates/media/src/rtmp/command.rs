//! Commands a client sends (AMF0 command messages, type 20), read into an enum.
//!
//! A command body is a sequence of AMF0 values: the command name, a transaction id, a
//! command object (or null), then arguments. Only the commands a live server acts on
//! get their own variant; everything else (`getStreamLength`, `_checkbw`, `pause`,
//! `receiveAudio`, replies like `_result` …) comes out as [`Command::Unknown`] so the
//! session can ignore it without failing the connection.
//!
//! Reading is lenient where encoders disagree (a missing transaction id is 0, a missing
//! publish type is "live", `reset` may be a boolean or a number) and strict where the
//! server could not act (a `publish` without a stream name is an error).

use crate::amf0::{self, Amf0Error, Value};

/// One client command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `connect`: opens the application; the first command of every connection.
    Connect {
        /// Echoed in the `_result`.
        transaction_id: f64,
        /// The application name (`live` in `rtmp://host/live/key`).
        app: String,
        /// The URL the client connected to, if it said.
        tc_url: Option<String>,
        /// Every property of the command object, `app` and `tcUrl` included, in wire
        /// order (flashVer, objectEncoding, codecs …).
        properties: Vec<(String, Value)>,
    },
    /// `releaseStream`: an FMLE/OBS courtesy before publishing; needs no answer.
    ReleaseStream {
        /// Transaction id.
        transaction_id: f64,
        /// The stream key about to be published.
        stream_name: String,
    },
    /// `FCPublish`: another FMLE/OBS courtesy before publishing.
    FcPublish {
        /// Transaction id.
        transaction_id: f64,
        /// The stream key about to be published.
        stream_name: String,
    },
    /// `FCUnpublish`: the publisher is about to stop.
    FcUnpublish {
        /// Transaction id.
        transaction_id: f64,
        /// The stream key being stopped.
        stream_name: String,
    },
    /// `createStream`: asks for a message stream id to publish or play on.
    CreateStream {
        /// Echoed in the `_result` carrying the stream id.
        transaction_id: f64,
    },
    /// `deleteStream`: the client is done with a message stream.
    DeleteStream {
        /// Transaction id.
        transaction_id: f64,
        /// The message stream to delete.
        stream_id: u32,
    },
    /// `closeStream`: stop publishing or playing on the message stream it arrives on.
    CloseStream {
        /// Transaction id.
        transaction_id: f64,
    },
    /// `publish`: start publishing on the message stream it arrives on.
    Publish {
        /// Transaction id.
        transaction_id: f64,
        /// The stream key, as sent (it may carry a `?query`).
        stream_name: String,
        /// `live`, `record` or `append`; momo treats them all as live.
        publish_type: String,
    },
    /// `play`: start playing on the message stream it arrives on.
    Play {
        /// Transaction id.
        transaction_id: f64,
        /// The stream to play, as sent (it may carry a `?query`).
        stream_name: String,
        /// -2 live or recorded, -1 live only, ≥ 0 a position in a recording (ms).
        start: f64,
        /// -1 until the end; otherwise a length in seconds.
        duration: f64,
        /// Whether to flush previous playlists.
        reset: bool,
    },
    /// Any other command, kept so the session can log or answer it.
    Unknown {
        /// The command name.
        name: String,
        /// Transaction id (0 if absent).
        transaction_id: f64,
        /// The values after the transaction id (command object included).
        args: Vec<Value>,
    },
}

/// Why a command message could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// The body is not valid AMF0.
    #[error("command body: {0}")]
    Amf0(#[from] Amf0Error),
    /// The body does not start with a command name.
    #[error("command message does not start with a name")]
    NoName,
    /// A command lacks a value the server needs to act on it.
    #[error("`{command}` lacks its {field}")]
    Missing {
        /// The command.
        command: &'static str,
        /// What is missing.
        field: &'static str,
    },
}

impl Command {
    /// Reads a command message body (type 20, or type 17 after its leading 0 byte).
    pub fn parse(body: &[u8]) -> Result<Command, CommandError> {
        let mut values = amf0::decode_all(body)?.into_iter();
        let name = match values.next() {
            Some(Value::String(s)) | Some(Value::LongString(s)) => s,
            _ => return Err(CommandError::NoName),
        };
        let transaction_id = values.next().and_then(|v| v.as_number()).unwrap_or(0.0);
        let args: Vec<Value> = values.collect();
        // args[0] is the command object (null for everything but connect).
        let arg_str = |i: usize| args.get(i).and_then(Value::as_str).map(str::to_owned);
        let arg_num = |i: usize| args.get(i).and_then(Value::as_number);
        let missing = |command, field| CommandError::Missing { command, field };
        Ok(match name.as_str() {
            "connect" => {
                let properties = args
                    .first()
                    .and_then(Value::properties)
                    .ok_or(missing("connect", "command object"))?
                    .to_vec();
                let prop = |key: &str| {
                    properties
                        .iter()
                        .find(|(k, _)| k == key)
                        .and_then(|(_, v)| v.as_str())
                        .map(str::to_owned)
                };
                Command::Connect {
                    transaction_id,
                    app: prop("app").ok_or(missing("connect", "app"))?,
                    tc_url: prop("tcUrl"),
                    properties,
                }
            }
            "releaseStream" => Command::ReleaseStream {
                transaction_id,
                stream_name: arg_str(1).unwrap_or_default(),
            },
            "FCPublish" => Command::FcPublish {
                transaction_id,
                stream_name: arg_str(1).unwrap_or_default(),
            },
            "FCUnpublish" => Command::FcUnpublish {
                transaction_id,
                stream_name: arg_str(1).unwrap_or_default(),
            },
            "createStream" => Command::CreateStream { transaction_id },
            "deleteStream" => Command::DeleteStream {
                transaction_id,
                stream_id: arg_num(1).ok_or(missing("deleteStream", "stream id"))? as u32,
            },
            "closeStream" => Command::CloseStream { transaction_id },
            "publish" => Command::Publish {
                transaction_id,
                stream_name: arg_str(1).ok_or(missing("publish", "stream name"))?,
                publish_type: arg_str(2).unwrap_or_else(|| "live".to_owned()),
            },
            "play" => Command::Play {
                transaction_id,
                stream_name: arg_str(1).ok_or(missing("play", "stream name"))?,
                start: arg_num(2).unwrap_or(-2.0),
                duration: arg_num(3).unwrap_or(-1.0),
                reset: match args.get(4) {
                    Some(Value::Boolean(b)) => *b,
                    Some(Value::Number(n)) => *n != 0.0,
                    _ => true,
                },
            },
            _ => Command::Unknown {
                name,
                transaction_id,
                args,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amf0::to_bytes;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    #[test]
    fn obs_connect_gives_app_and_tc_url() {
        let body = to_bytes(&[
            s("connect"),
            Value::Number(1.0),
            Value::Object(vec![
                ("app".into(), s("live")),
                ("type".into(), s("nonprivate")),
                ("flashVer".into(), s("FMLE/3.0 (compatible; FMSc/1.0)")),
                ("tcUrl".into(), s("rtmp://localhost/live")),
            ]),
        ]);
        match Command::parse(&body).unwrap() {
            Command::Connect {
                transaction_id,
                app,
                tc_url,
                properties,
            } => {
                assert_eq!(transaction_id, 1.0);
                assert_eq!(app, "live");
                assert_eq!(tc_url.as_deref(), Some("rtmp://localhost/live"));
                assert_eq!(properties.len(), 4);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn connect_without_app_is_an_error() {
        let body = to_bytes(&[s("connect"), Value::Number(1.0), Value::Object(vec![])]);
        assert!(matches!(
            Command::parse(&body),
            Err(CommandError::Missing { field: "app", .. })
        ));
    }

    #[test]
    fn publish_reads_name_and_type() {
        let body = to_bytes(&[
            s("publish"),
            Value::Number(5.0),
            Value::Null,
            s("key123"),
            s("live"),
        ]);
        assert_eq!(
            Command::parse(&body).unwrap(),
            Command::Publish {
                transaction_id: 5.0,
                stream_name: "key123".into(),
                publish_type: "live".into()
            }
        );
    }

    #[test]
    fn publish_without_name_is_an_error() {
        let body = to_bytes(&[s("publish"), Value::Number(5.0), Value::Null]);
        assert!(Command::parse(&body).is_err());
    }

    #[test]
    fn play_defaults_follow_the_spec() {
        let body = to_bytes(&[s("play"), Value::Number(4.0), Value::Null, s("room1")]);
        assert_eq!(
            Command::parse(&body).unwrap(),
            Command::Play {
                transaction_id: 4.0,
                stream_name: "room1".into(),
                start: -2.0,
                duration: -1.0,
                reset: true
            }
        );
    }

    #[test]
    fn stream_lifecycle_commands_are_recognised() {
        let cases = [
            (
                to_bytes(&[s("releaseStream"), Value::Number(2.0), Value::Null, s("k")]),
                Command::ReleaseStream {
                    transaction_id: 2.0,
                    stream_name: "k".into(),
                },
            ),
            (
                to_bytes(&[s("FCPublish"), Value::Number(3.0), Value::Null, s("k")]),
                Command::FcPublish {
                    transaction_id: 3.0,
                    stream_name: "k".into(),
                },
            ),
            (
                to_bytes(&[s("createStream"), Value::Number(4.0), Value::Null]),
                Command::CreateStream {
                    transaction_id: 4.0,
                },
            ),
            (
                to_bytes(&[s("FCUnpublish"), Value::Number(6.0), Value::Null, s("k")]),
                Command::FcUnpublish {
                    transaction_id: 6.0,
                    stream_name: "k".into(),
                },
            ),
            (
                to_bytes(&[
                    s("deleteStream"),
                    Value::Number(7.0),
                    Value::Null,
                    Value::Number(1.0),
                ]),
                Command::DeleteStream {
                    transaction_id: 7.0,
                    stream_id: 1,
                },
            ),
            (
                to_bytes(&[s("closeStream"), Value::Number(0.0), Value::Null]),
                Command::CloseStream {
                    transaction_id: 0.0,
                },
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(Command::parse(&body).unwrap(), expected);
        }
    }

    #[test]
    fn other_commands_are_unknown_not_errors() {
        let body = to_bytes(&[
            s("getStreamLength"),
            Value::Number(3.0),
            Value::Null,
            s("x"),
        ]);
        assert_eq!(
            Command::parse(&body).unwrap(),
            Command::Unknown {
                name: "getStreamLength".into(),
                transaction_id: 3.0,
                args: vec![Value::Null, s("x")]
            }
        );
    }

    #[test]
    fn body_without_a_name_is_an_error() {
        assert_eq!(
            Command::parse(&to_bytes(&[Value::Number(1.0)])),
            Err(CommandError::NoName)
        );
        assert_eq!(Command::parse(&[]), Err(CommandError::NoName));
        assert!(matches!(
            Command::parse(&[0x02, 0, 9]),
            Err(CommandError::Amf0(_))
        ));
    }
}
