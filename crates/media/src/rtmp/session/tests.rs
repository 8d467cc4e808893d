//! The session driven as a real encoder or player would drive it: handshake bytes,
//! then chunked commands, reading back what the server writes.

use bytes::{Bytes, BytesMut};

use super::*;
use crate::amf0::{decode_all, to_bytes, Value};
use crate::rtmp::chunk::ChunkDecoder;
use crate::rtmp::handshake::PACKET_LEN;

/// The client end: encodes what it sends, decodes what the server sends back.
struct Client {
    session: ServerSession,
    encoder: ChunkEncoder,
    decoder: ChunkDecoder,
    /// Server bytes still owed to the handshake before chunks start.
    handshake_left: usize,
    transaction: f64,
}

impl Client {
    fn new() -> Self {
        Self::with_config(SessionConfig {
            handshake_seed: Some(7),
            ..SessionConfig::default()
        })
    }

    fn with_config(config: SessionConfig) -> Self {
        Client {
            session: ServerSession::new(config),
            encoder: ChunkEncoder::new(),
            decoder: ChunkDecoder::default(),
            handshake_left: 1 + 2 * PACKET_LEN,
            transaction: 0.0,
        }
    }

    /// A client that finished the plain handshake.
    fn handshaken() -> Self {
        let mut client = Client::new();
        let mut hello = vec![3u8];
        hello.extend(std::iter::repeat_n(0, PACKET_LEN * 2));
        client.session.handle_input(&hello).unwrap();
        assert!(client.received().is_empty());
        assert_eq!(client.handshake_left, 0);
        client
    }

    /// A client whose `connect` was accepted, events and replies drained.
    fn connected() -> Self {
        let mut client = Client::handshaken();
        client.connect().unwrap();
        client.received();
        client.events();
        client
    }

    /// A client with one message stream (id 1) made by `createStream`.
    fn with_stream() -> Self {
        let mut client = Client::connected();
        client
            .command(0, "createStream", vec![Value::Null])
            .unwrap();
        client.received();
        client
    }

    fn send(&mut self, message: Message) -> Result<(), SessionError> {
        let mut wire = BytesMut::new();
        self.encoder.encode(&message, &mut wire).unwrap();
        self.session.handle_input(&wire)
    }

    fn command(
        &mut self,
        stream_id: u32,
        name: &str,
        args: Vec<Value>,
    ) -> Result<(), SessionError> {
        self.transaction += 1.0;
        let mut values = vec![Value::String(name.into()), Value::Number(self.transaction)];
        values.extend(args);
        self.send(Message {
            csid: 3,
            timestamp: 0,
            type_id: type_id::COMMAND_AMF0,
            stream_id,
            payload: to_bytes(&values),
        })
    }

    fn connect(&mut self) -> Result<(), SessionError> {
        self.command(
            0,
            "connect",
            vec![Value::Object(vec![
                ("app".into(), Value::String("live".into())),
                (
                    "tcUrl".into(),
                    Value::String("rtmp://localhost/live".into()),
                ),
            ])],
        )
    }

    /// Messages the server wrote since the last call, with Set Chunk Size applied.
    fn received(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some(bytes) = self.session.poll_output() {
            let skip = self.handshake_left.min(bytes.len());
            self.handshake_left -= skip;
            self.decoder.push(&bytes[skip..]).unwrap();
            while let Some(m) = self.decoder.poll().unwrap() {
                if let Ok(Some(ControlMessage::SetChunkSize(n))) =
                    ControlMessage::parse(m.type_id, &m.payload)
                {
                    self.decoder.set_chunk_size(n).unwrap();
                }
                out.push(m);
            }
        }
        out
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }
}

fn status_codes(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m.type_id == type_id::COMMAND_AMF0)
        .filter_map(|m| {
            let values = decode_all(&m.payload).ok()?;
            (values[0].as_str() == Some("onStatus"))
                .then(|| values[3].get("code")?.as_str().map(str::to_owned))?
        })
        .collect()
}

fn controls(messages: &[Message]) -> Vec<ControlMessage> {
    messages
        .iter()
        .filter_map(|m| ControlMessage::parse(m.type_id, &m.payload).ok().flatten())
        .collect()
}

fn publish(client: &mut Client, key: &str) {
    client
        .command(
            1,
            "publish",
            vec![
                Value::Null,
                Value::String(key.into()),
                Value::String("live".into()),
            ],
        )
        .unwrap();
}

#[test]
fn handshake_answer_is_written_first() {
    let mut session = ServerSession::new(SessionConfig::default());
    let mut c0c1 = vec![3u8];
    c0c1.extend(std::iter::repeat_n(1, PACKET_LEN));
    session.handle_input(&c0c1).unwrap();
    let answer = session.poll_output().unwrap();
    assert_eq!(answer.len(), 1 + 2 * PACKET_LEN);
    assert_eq!(session.poll_output(), None);
}

#[test]
fn garbage_instead_of_a_handshake_fails() {
    let mut session = ServerSession::new(SessionConfig::default());
    assert!(matches!(
        session.handle_input(b"\x16\x03\x01\x02\x00"),
        Err(SessionError::Handshake(_))
    ));
}

#[test]
fn connect_announces_window_bandwidth_and_chunk_size_then_succeeds() {
    let mut client = Client::handshaken();
    client.connect().unwrap();
    let messages = client.received();
    assert_eq!(
        controls(&messages),
        vec![
            ControlMessage::WindowAckSize(2_500_000),
            ControlMessage::SetPeerBandwidth {
                size: 2_500_000,
                limit: LimitType::Dynamic
            },
            ControlMessage::SetChunkSize(4096),
        ]
    );
    let result = decode_all(&messages.last().unwrap().payload).unwrap();
    assert_eq!(result[0].as_str(), Some("_result"));
    assert_eq!(result[1].as_number(), Some(1.0));
    assert_eq!(
        result[3].get("code").and_then(Value::as_str),
        Some("NetConnection.Connect.Success")
    );
    assert_eq!(
        client.events(),
        vec![Event::ConnectRequested {
            app: "live".into(),
            tc_url: Some("rtmp://localhost/live".into())
        }]
    );
    assert!(client.session.is_connected());
}

#[test]
fn connect_arriving_with_the_end_of_the_handshake_is_handled() {
    let mut client = Client::new();
    let mut bytes = vec![3u8];
    bytes.extend(std::iter::repeat_n(0, PACKET_LEN * 2));
    let mut wire = BytesMut::new();
    client
        .encoder
        .encode(
            &Message {
                csid: 3,
                timestamp: 0,
                type_id: type_id::COMMAND_AMF0,
                stream_id: 0,
                payload: to_bytes(&[
                    Value::String("connect".into()),
                    Value::Number(1.0),
                    Value::Object(vec![("app".into(), Value::String("live".into()))]),
                ]),
            },
            &mut wire,
        )
        .unwrap();
    bytes.extend_from_slice(&wire);
    client.session.handle_input(&bytes).unwrap();
    assert!(client.session.is_connected());
}

#[test]
fn publish_before_connect_is_an_error() {
    let mut client = Client::handshaken();
    let err = client
        .command(1, "publish", vec![Value::Null, Value::String("k".into())])
        .unwrap_err();
    assert!(matches!(err, SessionError::NotConnected(name) if name == "publish"));
}

#[test]
fn play_before_connect_is_an_error() {
    let mut client = Client::handshaken();
    let err = client
        .command(1, "play", vec![Value::Null, Value::String("room".into())])
        .unwrap_err();
    assert!(matches!(err, SessionError::NotConnected(name) if name == "play"));
}

#[test]
fn second_connect_is_an_error() {
    let mut client = Client::connected();
    assert!(matches!(
        client.connect(),
        Err(SessionError::AlreadyConnected)
    ));
}

#[test]
fn create_stream_answers_with_stream_one() {
    let mut client = Client::connected();
    client
        .command(0, "createStream", vec![Value::Null])
        .unwrap();
    let messages = client.received();
    let values = decode_all(&messages[0].payload).unwrap();
    assert_eq!(values[0].as_str(), Some("_result"));
    assert_eq!(values[3], Value::Number(1.0));
}

#[test]
fn obs_publish_sequence_ends_in_frames() {
    let mut client = Client::connected();
    // OBS sends these three before it has a stream id; none needs an answer but the last.
    client
        .command(
            0,
            "releaseStream",
            vec![Value::Null, Value::String("key".into())],
        )
        .unwrap();
    client
        .command(
            0,
            "FCPublish",
            vec![Value::Null, Value::String("key".into())],
        )
        .unwrap();
    client
        .command(0, "createStream", vec![Value::Null])
        .unwrap();
    client.received();
    publish(&mut client, "key");
    assert_eq!(
        client.events(),
        vec![Event::PublishRequested {
            stream_id: 1,
            app: "live".into(),
            key: "key".into()
        }]
    );
    client.session.accept_publish(1).unwrap();
    let messages = client.received();
    assert_eq!(status_codes(&messages), vec!["NetStream.Publish.Start"]);
    assert!(messages
        .iter()
        .all(|m| m.csid != 5 && m.csid != 6 && m.csid != 7));

    let metadata = to_bytes(&[
        Value::String("@setDataFrame".into()),
        Value::String("onMetaData".into()),
        Value::EcmaArray(vec![("width".into(), Value::Number(1280.0))]),
    ]);
    client
        .send(Message {
            csid: 4,
            timestamp: 0,
            type_id: type_id::DATA_AMF0,
            stream_id: 1,
            payload: metadata,
        })
        .unwrap();
    client
        .send(Message {
            csid: 6,
            timestamp: 0,
            type_id: type_id::VIDEO,
            stream_id: 1,
            payload: Bytes::from_static(&[0x17, 0, 0, 0, 0]),
        })
        .unwrap();
    client
        .send(Message {
            csid: 4,
            timestamp: 23,
            type_id: type_id::AUDIO,
            stream_id: 1,
            payload: Bytes::from_static(&[0xAF, 1, 9]),
        })
        .unwrap();
    let events = client.events();
    assert_eq!(events.len(), 3);
    let Event::Frame(script) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(script.kind, FrameKind::Script);
    assert_eq!(
        decode_all(&script.payload).unwrap()[0],
        Value::String("onMetaData".into())
    );
    assert_eq!(
        events[1],
        Event::Frame(Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::from_static(&[0x17, 0, 0, 0, 0])
        })
    );
    assert_eq!(
        events[2],
        Event::Frame(Frame {
            kind: FrameKind::Audio,
            timestamp: 23,
            payload: Bytes::from_static(&[0xAF, 1, 9])
        })
    );

    client
        .command(
            0,
            "FCUnpublish",
            vec![Value::Null, Value::String("key".into())],
        )
        .unwrap();
    client
        .command(0, "deleteStream", vec![Value::Null, Value::Number(1.0)])
        .unwrap();
    assert_eq!(client.events(), vec![Event::Unpublished { stream_id: 1 }]);
    assert_eq!(
        status_codes(&client.received()),
        vec!["NetStream.Unpublish.Success"]
    );
}

#[test]
fn media_before_publish_is_accepted_is_dropped() {
    let mut client = Client::with_stream();
    publish(&mut client, "key");
    client.events();
    client
        .send(Message {
            csid: 6,
            timestamp: 0,
            type_id: type_id::VIDEO,
            stream_id: 1,
            payload: Bytes::from_static(&[0x17]),
        })
        .unwrap();
    assert!(client.events().is_empty());
}

#[test]
fn rejected_publish_gets_bad_name() {
    let mut client = Client::with_stream();
    publish(&mut client, "wrong");
    client.events();
    client
        .session
        .reject_publish(1, "unknown stream key")
        .unwrap();
    assert_eq!(
        status_codes(&client.received()),
        vec!["NetStream.Publish.BadName"]
    );
    assert!(matches!(
        client.session.accept_publish(1),
        Err(SessionError::NoPendingRequest(1))
    ));
}

#[test]
fn publish_on_a_stream_never_created_is_an_error() {
    let mut client = Client::connected();
    assert!(matches!(
        client.command(1, "publish", vec![Value::Null, Value::String("k".into())]),
        Err(SessionError::UnknownStream(1))
    ));
}

#[test]
fn second_publish_on_one_connection_is_an_error() {
    let mut client = Client::with_stream();
    client
        .command(0, "createStream", vec![Value::Null])
        .unwrap();
    publish(&mut client, "a");
    assert!(matches!(
        client.command(2, "publish", vec![Value::Null, Value::String("b".into())]),
        Err(SessionError::StreamBusy(2))
    ));
}

#[test]
fn accepted_play_sends_begin_reset_start_and_sample_access() {
    let mut client = Client::with_stream();
    client
        .command(1, "play", vec![Value::Null, Value::String("room1".into())])
        .unwrap();
    assert_eq!(
        client.events(),
        vec![Event::PlayRequested {
            stream_id: 1,
            app: "live".into(),
            name: "room1".into()
        }]
    );
    client.session.accept_play(1).unwrap();
    let messages = client.received();
    assert_eq!(
        controls(&messages),
        vec![ControlMessage::UserControl(UserControl::StreamBegin(1))]
    );
    assert_eq!(
        status_codes(&messages),
        vec!["NetStream.Play.Reset", "NetStream.Play.Start"]
    );
    let data = messages
        .iter()
        .find(|m| m.type_id == type_id::DATA_AMF0)
        .unwrap();
    assert_eq!(
        decode_all(&data.payload).unwrap()[0].as_str(),
        Some("|RtmpSampleAccess")
    );
    assert!(messages
        .iter()
        .filter(|m| m.type_id != 4)
        .all(|m| m.stream_id == 1));

    // Frames arrive on the media chunk streams, decodable at the announced chunk size.
    let frame = Frame {
        kind: FrameKind::Video,
        timestamp: 40,
        payload: Bytes::from(vec![0x27; 10_000]),
    };
    client
        .session
        .send_shared(crate::rtmp::play::encode_frame(&frame));
    client.session.send_frame(1, &frame).unwrap();
    let media = client.received();
    assert_eq!(media.len(), 2);
    for m in media {
        assert_eq!((m.csid, m.type_id, m.stream_id, m.timestamp), (7, 9, 1, 40));
        assert_eq!(m.payload, frame.payload);
    }

    client
        .command(0, "deleteStream", vec![Value::Null, Value::Number(1.0)])
        .unwrap();
    assert_eq!(client.events(), vec![Event::Closed { stream_id: 1 }]);
}

#[test]
fn rejected_play_gets_the_given_code() {
    let mut client = Client::with_stream();
    client
        .command(1, "play", vec![Value::Null, Value::String("nope".into())])
        .unwrap();
    client
        .session
        .reject_play(1, StatusCode::PlayStreamNotFound, "no such room")
        .unwrap();
    assert_eq!(
        status_codes(&client.received()),
        vec!["NetStream.Play.StreamNotFound"]
    );
}

#[test]
fn ping_request_is_answered_with_the_same_value() {
    let mut client = Client::connected();
    client
        .send(ControlMessage::UserControl(UserControl::PingRequest(4242)).to_message())
        .unwrap();
    assert_eq!(
        controls(&client.received()),
        vec![ControlMessage::UserControl(UserControl::PingResponse(4242))]
    );
}

#[test]
fn peer_chunk_size_change_applies_to_what_follows() {
    let mut client = Client::with_stream();
    client
        .send(ControlMessage::SetChunkSize(8192).to_message())
        .unwrap();
    client.encoder.set_chunk_size(8192).unwrap();
    publish(&mut client, "key");
    client.events();
    client.session.accept_publish(1).unwrap();
    let payload = Bytes::from(vec![0x27; 8000]);
    client
        .send(Message {
            csid: 6,
            timestamp: 1,
            type_id: type_id::VIDEO,
            stream_id: 1,
            payload: payload.clone(),
        })
        .unwrap();
    assert_eq!(
        client.events(),
        vec![Event::Frame(Frame {
            kind: FrameKind::Video,
            timestamp: 1,
            payload
        })]
    );
}

#[test]
fn chunk_size_zero_from_the_peer_is_an_error() {
    let mut client = Client::connected();
    assert!(matches!(
        client.send(ControlMessage::SetChunkSize(0).to_message()),
        Err(SessionError::Chunk(ChunkError::InvalidChunkSize(0)))
    ));
    let mut client = Client::connected();
    assert!(matches!(
        client.send(ControlMessage::SetChunkSize(1 << 31).to_message()),
        Err(SessionError::Chunk(ChunkError::InvalidChunkSize(_)))
    ));
}

#[test]
fn acknowledgement_is_sent_when_the_window_fills() {
    let mut client = Client::connected();
    client
        .send(ControlMessage::WindowAckSize(5000).to_message())
        .unwrap();
    client.received();
    // Messages of a type nobody handles still count towards the window.
    let mut acks = Vec::new();
    for _ in 0..100 {
        client
            .send(Message {
                csid: 3,
                timestamp: 0,
                type_id: 99,
                stream_id: 0,
                payload: Bytes::from(vec![0; 100]),
            })
            .unwrap();
        acks.extend(controls(&client.received()));
    }
    let sequences: Vec<u32> = acks
        .iter()
        .map(|ack| match ack {
            ControlMessage::Acknowledgement { sequence } => *sequence,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(sequences.len() >= 2, "{sequences:?}");
    assert!(sequences[0] >= 5000);
    for pair in sequences.windows(2) {
        // One ack per window, sent as soon as a read crosses it (reads are ~110 bytes).
        assert!((5000..5200).contains(&(pair[1] - pair[0])), "{sequences:?}");
    }
}

#[test]
fn aggregate_message_is_unpacked_into_frames() {
    let mut client = Client::with_stream();
    publish(&mut client, "key");
    client.events();
    client.session.accept_publish(1).unwrap();
    let mut body = Vec::new();
    for (ts, data) in [(1000u32, &b"ab"[..]), (1040, &b"cde"[..])] {
        body.push(9);
        body.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
        body.extend_from_slice(&ts.to_be_bytes()[1..]);
        body.push((ts >> 24) as u8);
        body.extend_from_slice(&[0, 0, 0]);
        body.extend_from_slice(data);
        body.extend_from_slice(&(11 + data.len() as u32).to_be_bytes());
    }
    client
        .send(Message {
            csid: 6,
            timestamp: 500,
            type_id: type_id::AGGREGATE,
            stream_id: 1,
            payload: Bytes::from(body),
        })
        .unwrap();
    let ts: Vec<u32> = client
        .events()
        .into_iter()
        .map(|e| match e {
            Event::Frame(f) => f.timestamp,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ts, vec![500, 540]);
}

#[test]
fn too_many_create_streams_is_an_error() {
    let mut client = Client::with_config(SessionConfig {
        max_streams: 2,
        ..SessionConfig::default()
    });
    let mut hello = vec![3u8];
    hello.extend(std::iter::repeat_n(0, PACKET_LEN * 2));
    client.session.handle_input(&hello).unwrap();
    client.connect().unwrap();
    client
        .command(0, "createStream", vec![Value::Null])
        .unwrap();
    client
        .command(0, "createStream", vec![Value::Null])
        .unwrap();
    assert!(matches!(
        client.command(0, "createStream", vec![Value::Null]),
        Err(SessionError::TooManyStreams(2))
    ));
}

#[test]
fn unknown_commands_are_ignored() {
    let mut client = Client::with_stream();
    client
        .command(
            0,
            "getStreamLength",
            vec![Value::Null, Value::String("x".into())],
        )
        .unwrap();
    client.command(0, "_checkbw", vec![Value::Null]).unwrap();
    assert!(client.received().is_empty());
    assert!(client.events().is_empty());
}
