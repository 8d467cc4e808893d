//! The commands a client sends, as AMF0 message bodies: what OBS and FFmpeg send,
//! reduced to what servers read.
//!
//! Each builder returns a body; the session picks the chunk stream and message stream.

use bytes::Bytes;

use crate::amf0::{to_bytes, Value};

/// What an encoder calls itself in `connect`; servers log it, and some only enable
/// publishing features for an `FMLE/3.0` client.
pub const PUBLISHER_FLASH_VER: &str = "FMLE/3.0 (compatible; momo)";

/// What a player calls itself in `connect`, as FFmpeg's player does: servers that tell
/// players from publishers by this string treat it as a Flash player on Linux.
pub const PLAYER_FLASH_VER: &str = "LNX 9,0,124,2";

fn s(text: &str) -> Value {
    Value::String(text.into())
}

/// `connect` for a publisher: application, `type` and `tcUrl`, as OBS sends it.
pub fn connect_publisher(transaction_id: f64, app: &str, tc_url: &str) -> Bytes {
    to_bytes(&[
        s("connect"),
        Value::Number(transaction_id),
        Value::Object(vec![
            ("app".into(), s(app)),
            ("type".into(), s("nonprivate")),
            ("flashVer".into(), s(PUBLISHER_FLASH_VER)),
            ("tcUrl".into(), s(tc_url)),
        ]),
    ])
}

/// `connect` for a player: the codecs it takes (all AAC/MP3 and H.264 variants, as
/// FFmpeg announces) so servers that filter on them send everything.
pub fn connect_player(transaction_id: f64, app: &str, tc_url: &str) -> Bytes {
    to_bytes(&[
        s("connect"),
        Value::Number(transaction_id),
        Value::Object(vec![
            ("app".into(), s(app)),
            ("flashVer".into(), s(PLAYER_FLASH_VER)),
            ("tcUrl".into(), s(tc_url)),
            ("fpad".into(), Value::Boolean(false)),
            ("capabilities".into(), Value::Number(15.0)),
            ("audioCodecs".into(), Value::Number(4071.0)),
            ("videoCodecs".into(), Value::Number(252.0)),
            ("videoFunction".into(), Value::Number(1.0)),
        ]),
    ])
}

/// `createStream`: asks for a message stream to publish or play on.
pub fn create_stream(transaction_id: f64) -> Bytes {
    to_bytes(&[
        s("createStream"),
        Value::Number(transaction_id),
        Value::Null,
    ])
}

/// `publish`: starts a live publish of `key` on the message stream it is sent on.
pub fn publish(transaction_id: f64, key: &str) -> Bytes {
    to_bytes(&[
        s("publish"),
        Value::Number(transaction_id),
        Value::Null,
        s(key),
        s("live"),
    ])
}

/// `play`: plays `name`, live or recorded (start -2), to its end.
pub fn play(transaction_id: f64, name: &str) -> Bytes {
    to_bytes(&[
        s("play"),
        Value::Number(transaction_id),
        Value::Null,
        s(name),
        Value::Number(-2.0),
    ])
}

/// `FCUnpublish`: the FMLE courtesy that tells a server the publisher is stopping.
pub fn fc_unpublish(transaction_id: f64, key: &str) -> Bytes {
    to_bytes(&[
        s("FCUnpublish"),
        Value::Number(transaction_id),
        Value::Null,
        s(key),
    ])
}

/// `deleteStream`: the client is done with message stream `stream_id`.
pub fn delete_stream(transaction_id: f64, stream_id: u32) -> Bytes {
    to_bytes(&[
        s("deleteStream"),
        Value::Number(transaction_id),
        Value::Null,
        Value::Number(f64::from(stream_id)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtmp::command::Command;

    /// The server's parser is the reference for what these builders must say.
    #[test]
    fn the_server_reads_every_command_as_meant() {
        match Command::parse(&connect_publisher(1.0, "live", "rtmp://h/live")).unwrap() {
            Command::Connect {
                transaction_id,
                app,
                tc_url,
                ..
            } => {
                assert_eq!(transaction_id, 1.0);
                assert_eq!(app, "live");
                assert_eq!(tc_url.as_deref(), Some("rtmp://h/live"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Command::parse(&connect_player(1.0, "live", "rtmp://h/live")).unwrap(),
            Command::Connect { app, .. } if app == "live"
        ));
        assert_eq!(
            Command::parse(&create_stream(2.0)).unwrap(),
            Command::CreateStream {
                transaction_id: 2.0
            }
        );
        assert_eq!(
            Command::parse(&publish(3.0, "key")).unwrap(),
            Command::Publish {
                transaction_id: 3.0,
                stream_name: "key".into(),
                publish_type: "live".into()
            }
        );
        assert!(matches!(
            Command::parse(&play(3.0, "42")).unwrap(),
            Command::Play { stream_name, start, .. } if stream_name == "42" && start == -2.0
        ));
        assert_eq!(
            Command::parse(&fc_unpublish(4.0, "key")).unwrap(),
            Command::FcUnpublish {
                transaction_id: 4.0,
                stream_name: "key".into()
            }
        );
        assert_eq!(
            Command::parse(&delete_stream(5.0, 1)).unwrap(),
            Command::DeleteStream {
                transaction_id: 5.0,
                stream_id: 1
            }
        );
    }
}
