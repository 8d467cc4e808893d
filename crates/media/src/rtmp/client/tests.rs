//! A client driven against momo's own server session, in memory: the bytes one writes
//! are the bytes the other reads, and a small stand-in for the server's application
//! answers publish and play requests.

use bytes::Bytes;

use super::*;
use crate::amf0::{to_bytes, Value};
use crate::rtmp::chunk::encode_standalone;
use crate::rtmp::handshake::PACKET_LEN;
use crate::rtmp::reply::StatusCode;
use crate::rtmp::session::{Event, ServerSession, SessionConfig};

const KEY: &str = "secret";
const ROOM: &str = "42";

/// A client and a server joined by memory.
struct Link {
    client: ClientSession,
    server: ServerSession,
    /// Frames the server's publisher handed up.
    published: Vec<Frame>,
    /// Every server event, in order.
    server_events: Vec<Event>,
    /// The messages the client wrote, decoded as the server saw them.
    tap: Tap,
    /// Feed the server's output to the client this many bytes at a time.
    slice: usize,
}

/// Decodes the client's output on the side, for checks on what it sent.
struct Tap {
    handshake_left: usize,
    decoder: ChunkDecoder,
    messages: Vec<Message>,
}

impl Tap {
    fn observe(&mut self, mut bytes: &[u8]) {
        let skip = self.handshake_left.min(bytes.len());
        self.handshake_left -= skip;
        bytes = &bytes[skip..];
        self.decoder.push(bytes).unwrap();
        while let Some(m) = self.decoder.poll().unwrap() {
            if let Ok(Some(ControlMessage::SetChunkSize(n))) =
                ControlMessage::parse(m.type_id, &m.payload)
            {
                self.decoder.set_chunk_size(n).unwrap();
            }
            self.messages.push(m);
        }
    }

    fn controls(&self) -> Vec<ControlMessage> {
        self.messages
            .iter()
            .filter_map(|m| ControlMessage::parse(m.type_id, &m.payload).ok().flatten())
            .collect()
    }
}

impl Link {
    fn new(client: ClientSession) -> Self {
        Self::with_server_config(client, SessionConfig::default())
    }

    fn with_server_config(client: ClientSession, config: SessionConfig) -> Self {
        Link {
            client,
            server: ServerSession::new(config),
            published: Vec::new(),
            server_events: Vec::new(),
            tap: Tap {
                // C0+C1, then C2.
                handshake_left: 1 + 2 * PACKET_LEN,
                decoder: ChunkDecoder::default(),
                messages: Vec::new(),
            },
            slice: usize::MAX,
        }
    }

    /// Moves bytes both ways and answers the server's requests until both are quiet.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(bytes) = self.client.poll_output() {
                self.tap.observe(&bytes);
                self.server.handle_input(&bytes).unwrap();
                moved = true;
            }
            while let Some(event) = self.server.poll_event() {
                self.serve(event.clone());
                self.server_events.push(event);
                moved = true;
            }
            while let Some(bytes) = self.server.poll_output() {
                for piece in bytes.chunks(self.slice.min(bytes.len()).max(1)) {
                    self.client.handle_input(piece).unwrap();
                }
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }

    /// What momo's RTMP server does, reduced: one key may publish, one room plays.
    fn serve(&mut self, event: Event) {
        match event {
            Event::PublishRequested { stream_id, key, .. } if key == KEY => {
                self.server.accept_publish(stream_id).unwrap()
            }
            Event::PublishRequested { stream_id, .. } => self
                .server
                .reject_publish(stream_id, "unknown stream key")
                .unwrap(),
            Event::PlayRequested {
                stream_id, name, ..
            } if name == ROOM => self.server.accept_play(stream_id).unwrap(),
            Event::PlayRequested { stream_id, .. } => self
                .server
                .reject_play(
                    stream_id,
                    StatusCode::PlayStreamNotFound,
                    "this stream is not live",
                )
                .unwrap(),
            Event::Frame(frame) => self.published.push(frame),
            _ => {}
        }
    }

    fn events(&mut self) -> Vec<ClientEvent> {
        std::iter::from_fn(|| self.client.poll_event()).collect()
    }
}

fn publisher(key: &str) -> ClientSession {
    ClientSession::publisher("live", "rtmp://localhost/live", key)
}

fn player(name: &str) -> ClientSession {
    ClientSession::player("live", "rtmp://localhost/live", name)
}

fn frames() -> Vec<Frame> {
    let metadata = to_bytes(&[
        Value::String("onMetaData".into()),
        Value::EcmaArray(vec![("width".into(), Value::Number(320.0))]),
    ]);
    vec![
        Frame {
            kind: FrameKind::Script,
            timestamp: 0,
            payload: metadata,
        },
        Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 0x64]),
        },
        Frame {
            kind: FrameKind::Audio,
            timestamp: 0,
            payload: Bytes::from_static(&[0xAF, 0, 0x12, 0x10]),
        },
        // Longer than both ends' chunk size: travels in several chunks.
        Frame {
            kind: FrameKind::Video,
            timestamp: 0,
            payload: (0..10_000u32).map(|i| i as u8).collect(),
        },
        Frame {
            kind: FrameKind::Audio,
            timestamp: 23,
            payload: Bytes::from_static(&[0xAF, 1, 9, 9]),
        },
        Frame {
            kind: FrameKind::Video,
            timestamp: 40,
            payload: Bytes::from(vec![0x27; 5000]),
        },
    ]
}

fn status(code: &str, description: &str) -> ClientEvent {
    ClientEvent::Status {
        code: code.into(),
        description: description.into(),
    }
}

#[test]
fn publisher_walks_to_publish_start_and_its_frames_reach_the_server() {
    let mut link = Link::new(publisher(KEY));
    link.pump();
    assert_eq!(
        link.events(),
        vec![ClientEvent::Connected, ClientEvent::PublishStarted]
    );
    assert!(link.client.is_started());
    assert_eq!(link.client.stream_id(), Some(1));
    assert!(matches!(
        &link.server_events[..2],
        [
            Event::ConnectRequested { app, tc_url: Some(url) },
            Event::PublishRequested { stream_id: 1, key, .. },
        ] if app == "live" && url == "rtmp://localhost/live" && key == KEY
    ));

    for frame in frames() {
        link.client.send_frame(&frame).unwrap();
    }
    link.pump();
    // The server unwraps `@setDataFrame`: what players get is what was given.
    assert_eq!(link.published, frames());
    let script = link
        .tap
        .messages
        .iter()
        .find(|m| m.type_id == type_id::DATA_AMF0)
        .unwrap();
    assert_eq!(
        amf0::decode_all(&script.payload).unwrap()[0].as_str(),
        Some("@setDataFrame"),
        "metadata goes out wrapped, as encoders send it"
    );
    assert!(link.events().is_empty());
}

#[test]
fn client_announces_its_chunk_size_before_connect() {
    let mut link = Link::new(publisher(KEY));
    link.pump();
    let first = &link.tap.messages[0];
    assert_eq!(
        ControlMessage::parse(first.type_id, &first.payload).unwrap(),
        Some(ControlMessage::SetChunkSize(4096))
    );
    let second = &link.tap.messages[1];
    assert_eq!(
        amf0::decode_all(&second.payload).unwrap()[0].as_str(),
        Some("connect")
    );
}

#[test]
fn publish_with_an_unknown_key_is_refused_with_bad_name() {
    let mut link = Link::new(publisher("wrong"));
    link.pump();
    assert_eq!(
        link.events(),
        vec![
            ClientEvent::Connected,
            status("NetStream.Publish.BadName", "unknown stream key")
        ]
    );
    assert!(!link.client.is_started());
    assert!(matches!(
        link.client.send_frame(&frames()[0]),
        Err(ClientError::NotPublishing)
    ));
}

#[test]
fn player_walks_to_play_start_and_receives_frames_as_events() {
    let mut link = Link::new(player(ROOM));
    link.pump();
    assert_eq!(
        link.events(),
        vec![
            ClientEvent::Connected,
            status("NetStream.Play.Reset", "Playing and resetting"),
            ClientEvent::PlayStarted
        ],
        "`|RtmpSampleAccess` is not a frame"
    );
    assert!(link.tap.controls().contains(&ControlMessage::UserControl(
        UserControl::SetBufferLength {
            stream_id: 1,
            millis: 3000
        }
    )));

    // Shared encodings, as the hub sends them, and one of the connection's own.
    for frame in &frames()[..3] {
        link.server
            .send_shared(crate::rtmp::play::encode_frame(frame));
    }
    for frame in &frames()[3..] {
        link.server.send_frame(1, frame).unwrap();
    }
    link.pump();
    let received: Vec<ClientEvent> = frames().into_iter().map(ClientEvent::Frame).collect();
    assert_eq!(link.events(), received);

    link.server.notify_unpublished(1).unwrap();
    link.pump();
    assert_eq!(link.events(), vec![ClientEvent::StreamEnded]);
}

#[test]
fn player_reads_the_server_a_byte_at_a_time() {
    let mut link = Link::new(player(ROOM));
    link.slice = 1;
    link.pump();
    assert_eq!(link.events().last(), Some(&ClientEvent::PlayStarted));
    for frame in frames() {
        link.server.send_frame(1, &frame).unwrap();
    }
    link.pump();
    let received: Vec<ClientEvent> = frames().into_iter().map(ClientEvent::Frame).collect();
    assert_eq!(link.events(), received);
}

#[test]
fn play_of_a_stream_that_is_not_live_gets_stream_not_found() {
    let mut link = Link::new(player("nope"));
    link.pump();
    assert_eq!(
        link.events(),
        vec![
            ClientEvent::Connected,
            status("NetStream.Play.StreamNotFound", "this stream is not live")
        ]
    );
    assert!(!link.client.is_started());
}

#[test]
fn acknowledgement_is_sent_each_time_the_server_s_window_fills() {
    let config = SessionConfig {
        window_ack_size: 5000,
        ..SessionConfig::default()
    };
    let mut link = Link::with_server_config(player(ROOM), config);
    link.pump();
    let frame = Frame {
        kind: FrameKind::Video,
        timestamp: 0,
        payload: Bytes::from(vec![0x27; 3000]),
    };
    for _ in 0..10 {
        link.server.send_frame(1, &frame).unwrap();
        link.pump();
    }
    let acks: Vec<u32> = link
        .tap
        .controls()
        .into_iter()
        .filter_map(|c| match c {
            ControlMessage::Acknowledgement { sequence } => Some(sequence),
            _ => None,
        })
        .collect();
    let received = link.client.bytes_in() as u32;
    assert!(received > 30_000);
    // One per window: the handshake's 3073 bytes count too.
    assert!(acks.len() >= (received / 5000 - 1) as usize, "{acks:?}");
    assert!(acks[0] >= 5000);
    for pair in acks.windows(2) {
        assert!(pair[1] - pair[0] >= 5000, "{acks:?}");
    }
}

#[test]
fn ping_request_is_answered_with_the_same_value() {
    let mut link = Link::new(player(ROOM));
    link.pump();
    let ping = ControlMessage::UserControl(UserControl::PingRequest(777)).to_message();
    link.client
        .handle_input(&encode_standalone(&ping, 4096).unwrap())
        .unwrap();
    link.pump();
    assert!(link
        .tap
        .controls()
        .contains(&ControlMessage::UserControl(UserControl::PingResponse(777))));
}

#[test]
fn aggregate_messages_are_unpacked_for_a_player() {
    let mut link = Link::new(player(ROOM));
    link.pump();
    link.events();
    let mut body = Vec::new();
    for (type_id, ts, data) in [
        (9u8, 100u32, &b"\x27\x01\0\0\0v"[..]),
        (8, 123, b"\xAF\x01a"),
    ] {
        body.push(type_id);
        body.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
        body.extend_from_slice(&ts.to_be_bytes()[1..]);
        body.extend_from_slice(&[0, 0, 0, 0]);
        body.extend_from_slice(data);
        body.extend_from_slice(&(11 + data.len() as u32).to_be_bytes());
    }
    let message = Message {
        csid: 7,
        timestamp: 1000,
        type_id: type_id::AGGREGATE,
        stream_id: 1,
        payload: Bytes::from(body),
    };
    link.client
        .handle_input(&encode_standalone(&message, 4096).unwrap())
        .unwrap();
    let got: Vec<(FrameKind, u32)> = link
        .events()
        .into_iter()
        .map(|e| match e {
            ClientEvent::Frame(f) => (f.kind, f.timestamp),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        got,
        vec![(FrameKind::Video, 1000), (FrameKind::Audio, 1023)]
    );
}

#[test]
fn finishing_tells_the_server_the_publisher_or_player_left() {
    let mut link = Link::new(publisher(KEY));
    link.pump();
    link.client.finish().unwrap();
    link.pump();
    assert_eq!(
        link.server_events.last(),
        Some(&Event::Unpublished { stream_id: 1 })
    );
    assert!(matches!(
        link.client.send_frame(&frames()[0]),
        Err(ClientError::NotPublishing)
    ));

    let mut link = Link::new(player(ROOM));
    link.pump();
    link.client.finish().unwrap();
    link.pump();
    assert_eq!(
        link.server_events.last(),
        Some(&Event::Closed { stream_id: 1 })
    );
}

#[test]
fn a_server_that_does_not_speak_rtmp_is_an_error() {
    let mut client = player(ROOM);
    assert!(client
        .poll_output()
        .is_some_and(|hello| hello.len() == 1 + PACKET_LEN));
    assert!(matches!(
        client.handle_input(b"SSH-2.0-OpenSSH_9.2\r\n"),
        Err(ClientError::Handshake(_))
    ));
}

#[test]
fn a_zero_chunk_size_from_the_server_is_an_error() {
    let mut link = Link::new(player(ROOM));
    link.pump();
    let bad = ControlMessage::SetChunkSize(0).to_message();
    assert!(matches!(
        link.client
            .handle_input(&encode_standalone(&bad, 4096).unwrap()),
        Err(ClientError::Chunk(ChunkError::InvalidChunkSize(0)))
    ));
}
