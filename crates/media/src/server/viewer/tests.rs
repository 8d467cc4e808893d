use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncReadExt;

use super::*;
use crate::frame::{Frame, FrameKind};
use crate::hub::{Hub, HubConfig, Packet, Protocol, Publisher};
use crate::rtmp::play::{encode_frame_for, PLAY_STREAM_ID};

const VIDEO_HEADER: &[u8] = &[0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1F];
const KEYFRAME: &[u8] = &[0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65];
const INTER: &[u8] = &[0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41];
const AUDIO: &[u8] = &[0xAF, 1, 0x21];

fn frame(kind: FrameKind, timestamp: u32, payload: &'static [u8]) -> Frame {
    Frame {
        kind,
        timestamp,
        payload: Bytes::from_static(payload),
    }
}

/// A live stream (no grace period: it ends with its publisher) with a header and a
/// keyframe in its cache.
fn live() -> (Arc<Hub>, Publisher) {
    let hub = Hub::new(HubConfig {
        grace: Duration::ZERO,
        ..HubConfig::default()
    });
    let publisher = hub.publish("7").unwrap();
    publisher.push(frame(FrameKind::Video, 0, VIDEO_HEADER));
    publisher.push(frame(FrameKind::Video, 0, KEYFRAME));
    (hub, publisher)
}

fn push_inter(publisher: &Publisher, from: u32, n: u32) {
    for i in 0..n {
        let ts = from + 40 * i;
        publisher.push(frame(FrameKind::Video, ts, INTER));
        publisher.push(frame(FrameKind::Audio, ts + 3, AUDIO));
    }
}

fn drain(sub: &mut Subscription) -> Vec<Arc<Packet>> {
    std::iter::from_fn(|| sub.rx.try_recv().ok()).collect()
}

/// Keeps every batch written to it; says when each one arrives.
#[derive(Clone, Default)]
struct Recorder {
    writes: Arc<Mutex<Vec<Vec<Bytes>>>>,
    wrote: Option<tokio::sync::mpsc::UnboundedSender<usize>>,
}

impl Sink for Recorder {
    async fn write(&mut self, parts: &[Bytes]) -> io::Result<()> {
        let mut writes = self.writes.lock().unwrap();
        writes.push(parts.to_vec());
        if let Some(tx) = &self.wrote {
            let _ = tx.send(writes.len());
        }
        Ok(())
    }
}

/// A client that never says anything.
struct Silent;

impl<S> Peer<S> for Silent {
    type Error = std::convert::Infallible;

    async fn listen(&mut self, _sink: &mut S) -> Result<bool, Self::Error> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn an_flv_viewer_writes_what_is_queued_as_the_shared_tags_in_one_write() {
    let (hub, publisher) = live();
    let mut sub = hub.subscribe("7", Protocol::HttpFlv).unwrap();
    let mut witness = hub.subscribe("7", Protocol::HttpFlv).unwrap();
    push_inter(&publisher, 40, 3);
    drop(publisher);

    let recorder = Recorder::default();
    let mut viewer = Viewer::new(FlvTags, recorder.clone(), Duration::ZERO, "http_flv")
        .with_preamble(Bytes::from_static(b"FLV-HEADER"));
    let ended = viewer.run(&mut sub, &mut Silent).await;

    assert!(matches!(ended, Ended::StreamOver), "{ended:?}");
    let writes = recorder.writes.lock().unwrap();
    assert_eq!(writes.len(), 1, "one write for everything queued");
    let packets = drain(&mut witness);
    assert_eq!(packets.len(), 2 + 6);
    assert_eq!(&writes[0][0][..], b"FLV-HEADER");
    for (part, packet) in writes[0][1..].iter().zip(&packets) {
        assert_eq!(part, packet.flv_tag());
        // The very bytes every FLV viewer shares, not a copy.
        assert_eq!(part.as_ptr(), packet.flv_tag().as_ptr());
    }
    assert_eq!(writes[0].len(), 1 + packets.len());
}

#[test]
fn rtmp_framing_shares_the_play_stream_chunks_and_encodes_another_stream_its_own() {
    let packet = Packet::new(frame(FrameKind::Video, 40, KEYFRAME));
    let shared = RtmpChunks {
        stream_id: PLAY_STREAM_ID,
    }
    .frame(&packet);
    assert_eq!(shared.as_ptr(), packet.rtmp_chunks().as_ptr());

    let own = RtmpChunks { stream_id: 3 }.frame(&packet);
    assert_eq!(own, encode_frame_for(&packet.frame, 3).unwrap());
    assert_ne!(own, shared, "the message stream id is in the chunk header");
    assert_eq!(own.len(), shared.len());
}

#[tokio::test]
async fn an_rtmp_viewer_writes_the_frames_chunks_to_a_byte_stream() {
    let (hub, publisher) = live();
    let mut sub = hub.subscribe("7", Protocol::Rtmp).unwrap();
    let mut witness = hub.subscribe("7", Protocol::Rtmp).unwrap();
    push_inter(&publisher, 40, 2);
    drop(publisher);

    let (server, mut client) = tokio::io::duplex(1 << 16);
    let sink = IoSink {
        io: server,
        timeout: Duration::from_secs(5),
    };
    let mut viewer = Viewer::new(RtmpChunks { stream_id: 1 }, sink, Duration::ZERO, "rtmp");
    let ended = viewer.run(&mut sub, &mut Silent).await;
    assert!(matches!(ended, Ended::StreamOver), "{ended:?}");
    drop(viewer);

    let mut got = Vec::new();
    client.read_to_end(&mut got).await.unwrap();
    let want: Vec<u8> = drain(&mut witness)
        .iter()
        .flat_map(|p| p.rtmp_chunks().to_vec())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
}

#[tokio::test]
async fn frames_that_arrive_while_a_viewer_rests_go_out_together_on_the_next_tick() {
    let (hub, publisher) = live();
    let mut sub = hub.subscribe("7", Protocol::HttpFlv).unwrap();
    let (tx, mut wrote) = tokio::sync::mpsc::unbounded_channel();
    let recorder = Recorder {
        wrote: Some(tx),
        ..Recorder::default()
    };
    let mut viewer = Viewer::new(
        FlvTags,
        recorder.clone(),
        Duration::from_millis(200),
        "http_flv",
    );
    let task = tokio::spawn(async move { viewer.run(&mut sub, &mut Silent).await });

    assert_eq!(wrote.recv().await, Some(1), "the primer at once");
    push_inter(&publisher, 40, 5);
    drop(publisher);
    let ended = task.await.unwrap();
    assert!(matches!(ended, Ended::StreamOver), "{ended:?}");
    let sizes: Vec<usize> = recorder
        .writes
        .lock()
        .unwrap()
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(
        sizes,
        vec![2, 10],
        "the ten frames of the rest in one write"
    );
}

#[tokio::test]
async fn a_viewer_whose_client_stops_reading_fails_after_the_write_timeout() {
    let (hub, publisher) = live();
    let mut sub = hub.subscribe("7", Protocol::Rtmp).unwrap();
    // Room for less than the primer, and nobody reading the other end.
    let (server, _client) = tokio::io::duplex(16);
    let sink = IoSink {
        io: server,
        timeout: Duration::from_millis(100),
    };
    let mut viewer = Viewer::new(RtmpChunks { stream_id: 1 }, sink, Duration::ZERO, "rtmp");
    let started = std::time::Instant::now();
    let ended = viewer.run(&mut sub, &mut Silent).await;
    let waited = started.elapsed();

    assert!(
        matches!(&ended, Ended::WriteFailed(e) if e.kind() == io::ErrorKind::TimedOut),
        "{ended:?}"
    );
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    // The publisher never waited for it.
    push_inter(&publisher, 40, 3);
    drop(sub);
    assert_eq!(publisher.stream().viewer_count(), 0);
}

#[tokio::test]
async fn a_viewer_whose_connection_closed_ends_with_the_write_error() {
    let (hub, _publisher) = live();
    let mut sub = hub.subscribe("7", Protocol::HttpFlv).unwrap();
    let (server, client) = tokio::io::duplex(1 << 16);
    drop(client);
    let sink = IoSink {
        io: server,
        timeout: Duration::from_secs(5),
    };
    let mut viewer = Viewer::new(FlvTags, sink, Duration::ZERO, "http_flv");
    let ended = viewer.run(&mut sub, &mut Silent).await;
    assert!(
        matches!(&ended, Ended::WriteFailed(e) if e.kind() == io::ErrorKind::BrokenPipe),
        "{ended:?}"
    );
}

#[tokio::test]
async fn a_viewer_ends_when_its_client_hangs_up() {
    let hub = Hub::new(HubConfig::default());
    let _publisher = hub.publish("7").unwrap();
    let mut sub = hub.subscribe("7", Protocol::HttpFlv).unwrap();
    let (server, client) = tokio::io::duplex(1 << 16);
    let (rd, wr) = tokio::io::split(server);
    let sink = IoSink {
        io: wr,
        timeout: Duration::from_secs(5),
    };
    let mut viewer = Viewer::new(FlvTags, sink, Duration::ZERO, "http_flv");
    drop(client);
    let ended = viewer.run(&mut sub, &mut ReadPeer(rd)).await;
    assert!(matches!(ended, Ended::Left), "{ended:?}");
}

#[tokio::test]
async fn an_http_body_viewer_ends_when_the_server_drops_the_body() {
    let hub = Hub::new(HubConfig::default());
    let _publisher = hub.publish("7").unwrap();
    let mut sub = hub.subscribe("7", Protocol::HttpFlv).unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut viewer = Viewer::new(FlvTags, BodySink(tx), Duration::ZERO, "http_flv");
    drop(rx);
    let ended = viewer.run(&mut sub, &mut BodyPeer).await;
    assert!(matches!(ended, Ended::Left), "{ended:?}");
}
