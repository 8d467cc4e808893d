//! Any bytes after a valid handshake (and, depending on the first byte, after a valid
//! `connect`, `createStream` and `publish`) into a server session: it never panics and
//! its events and output can always be drained.
#![no_main]

use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use media::amf0::{to_bytes, Value};
use media::rtmp::chunk::{ChunkEncoder, ChunkLimits, Message};
use media::rtmp::handshake::PACKET_LEN;
use media::rtmp::reply::StatusCode;
use media::rtmp::{Event, ServerSession, SessionConfig, SessionError};

/// Client bytes for: handshake; connect; createStream; publish "key". Each entry is
/// where one step ends.
fn prelude() -> &'static (Bytes, [usize; 4]) {
    static PRELUDE: OnceLock<(Bytes, [usize; 4])> = OnceLock::new();
    PRELUDE.get_or_init(|| {
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&[3]);
        wire.extend_from_slice(&[0; 2 * PACKET_LEN]);
        let mut ends = [wire.len(), 0, 0, 0];
        let mut encoder = ChunkEncoder::new();
        let commands = [
            (
                0,
                vec![
                    Value::String("connect".into()),
                    Value::Number(1.0),
                    Value::Object(vec![("app".into(), Value::String("live".into()))]),
                ],
            ),
            (
                0,
                vec![
                    Value::String("createStream".into()),
                    Value::Number(2.0),
                    Value::Null,
                ],
            ),
            (
                1,
                vec![
                    Value::String("publish".into()),
                    Value::Number(3.0),
                    Value::Null,
                    Value::String("key".into()),
                    Value::String("live".into()),
                ],
            ),
        ];
        for (i, (stream_id, values)) in commands.into_iter().enumerate() {
            let message = Message {
                csid: 3,
                timestamp: 0,
                type_id: 20,
                stream_id,
                payload: to_bytes(&values),
            };
            encoder.encode(&message, &mut wire).unwrap();
            ends[i + 1] = wire.len();
        }
        (wire.freeze(), ends)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let mut session = ServerSession::new(SessionConfig {
        handshake_seed: Some(0),
        limits: ChunkLimits {
            max_buffered: 1 << 20,
            max_message_len: 1 << 18,
            ..ChunkLimits::default()
        },
        ..SessionConfig::default()
    });
    let (prelude, ends) = prelude();
    let accept = mode & 4 == 0;
    session
        .handle_input(&prelude[..ends[usize::from(mode & 3)]])
        .expect("the prelude is valid");
    drain(&mut session, accept);
    let cut = usize::from(mode >> 3).max(1) * 4;
    for piece in data.chunks(cut) {
        if session.handle_input(piece).is_err() {
            break;
        }
        drain(&mut session, accept);
    }
});

fn drain(session: &mut ServerSession, accept: bool) {
    while let Some(event) = session.poll_event() {
        let answer = match event {
            Event::PublishRequested { stream_id, .. } if accept => {
                session.accept_publish(stream_id)
            }
            Event::PublishRequested { stream_id, .. } => session.reject_publish(stream_id, "no"),
            Event::PlayRequested { stream_id, .. } if accept => session.accept_play(stream_id),
            Event::PlayRequested { stream_id, .. } => {
                session.reject_play(stream_id, StatusCode::PlayStreamNotFound, "no")
            }
            _ => Ok(()),
        };
        // The only way an answer fails: the client dropped the stream in the same read
        // that asked for it, so the request is no longer pending.
        if let Err(error) = answer {
            assert!(
                matches!(error, SessionError::NoPendingRequest(_)),
                "{error}"
            );
        }
    }
    while session.poll_output().is_some() {}
}
