//! A viewer that stops reading is let go: its connection's writes stop making progress,
//! and after `http_write_timeout_secs` the server closes it and drops its place in the
//! stream, while a viewer that reads goes on receiving.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::AsyncWriteExt;

use common::{Backend, TestServer};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../media/tests/fixtures/sample.flv"
);

#[tokio::test]
async fn a_viewer_that_stops_reading_is_disconnected_and_the_others_keep_playing() {
    let data = std::fs::read(FIXTURE).expect("fixture");
    let (_, frames) = media::flv::file::read_all(&data).expect("fixture parses");
    let s = TestServer::start_with(Backend::Sqlite, |c| c.http_write_timeout_secs = 1).await;
    let ana = s.register("ana").await;
    let (_, room) = s
        .post(
            "/api/v1/rooms",
            Some(&ana.token),
            json!({"title": "stalls"}),
        )
        .await;
    let room = room["id"].as_i64().unwrap();
    let publisher = s.go_live(room).await;
    let stream = publisher.stream().clone();
    let path = format!("/live/{room}.flv");

    // The stalled viewer: a small receive buffer, a request, and never a read.
    let addr: std::net::SocketAddr = s.url("").trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(addr).await.unwrap();
    stalled
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();

    // The viewer that reads.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let url = s.url(&path);
    let reader = tokio::spawn(async move {
        let mut res = reqwest::get(url).await.unwrap();
        while let Ok(Some(chunk)) = res.chunk().await {
            counter.fetch_add(chunk.len(), Ordering::Relaxed);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while stream.viewer_count() < 2 {
        assert!(Instant::now() < deadline, "both viewers never joined");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Stream until the stalled viewer is let go.
    let span = frames.last().map_or(1000, |f| f.timestamp) + 40;
    let mut offset = 0u32;
    let deadline = Instant::now() + Duration::from_secs(30);
    let push_round = |offset: u32| {
        for f in &frames {
            let mut f = f.clone();
            f.timestamp = f.timestamp.wrapping_add(offset);
            publisher.push(f);
        }
    };
    while stream.viewer_count() > 1 {
        assert!(
            Instant::now() < deadline,
            "the stalled viewer was never disconnected"
        );
        push_round(offset);
        offset = offset.wrapping_add(span);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The other one still plays.
    let before = received.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) == before {
        assert!(
            Instant::now() < deadline,
            "the reading viewer stopped receiving"
        );
        push_round(offset);
        offset = offset.wrapping_add(span);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stream.viewer_count(), 1);
    reader.abort();
    drop(stalled);
    s.stop().await;
}
