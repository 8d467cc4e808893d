//! Resources a client cannot hold without bound: the HTTP header timeout (slowloris and
//! idle kept-alive connections), connection caps per address for HTTP, the chat gateway
//! and RTMP, and the room send rate per user over all of their sockets.

use crate::common;

use std::time::{Duration, Instant};

use common::ws::{expect_op, next_json, send, signed_in};
use common::{Backend, TestServer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn http_addr(s: &TestServer) -> String {
    s.base.trim_start_matches("http://").to_string()
}

/// Reads until the peer closes (Ok(bytes)) or `wait` passes (Err).
async fn read_to_close(sock: &mut TcpStream, wait: Duration) -> Result<Vec<u8>, ()> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, sock.read(&mut buf)).await {
            Err(_) => return Err(()),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn a_client_trickling_its_request_head_is_cut_off() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.http_header_timeout_secs = 1).await;
    let mut sock = TcpStream::connect(http_addr(&s)).await.unwrap();
    sock.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    // A header byte every 200 ms: the head never ends.
    let closed = async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if sock.write_all(b"X").await.is_err() {
                return;
            }
            let mut probe = [0u8; 256];
            match tokio::time::timeout(Duration::from_millis(1), sock.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), closed)
        .await
        .expect("the trickling client is cut off");
    assert!(started.elapsed() < Duration::from_secs(5));
    s.stop().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.http_header_timeout_secs = 1).await;
    let mut sock = TcpStream::connect(http_addr(&s)).await.unwrap();
    sock.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let got = read_to_close(&mut sock, Duration::from_secs(10))
        .await
        .expect("closed after idling");
    assert!(
        got.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    s.stop().await;
}

#[tokio::test]
async fn one_address_gets_its_share_of_http_connections() {
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.http_max_connections_per_ip = 3;
        c.http_header_timeout_secs = 30;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(http_addr(&s)).await.unwrap());
    }
    let mut fourth = TcpStream::connect(http_addr(&s)).await.unwrap();
    let got = read_to_close(&mut fourth, Duration::from_secs(5))
        .await
        .expect("refused at once");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("too_many_connections"), "{text}");
    // One of the three goes; there is room again.
    drop(held.pop());
    let mut again = None;
    for _ in 0..50 {
        let mut sock = TcpStream::connect(http_addr(&s)).await.unwrap();
        sock.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let got = read_to_close(&mut sock, Duration::from_secs(5))
            .await
            .unwrap();
        if got.starts_with(b"HTTP/1.1 200") {
            again = Some(got);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "a freed place is not given again");
    let metrics = s.metrics().await;
    assert!(
        metrics.contains(r#"connections_refused_total{listener="http",reason="per_address"}"#),
        "{metrics}"
    );
    drop(held);
    s.stop().await;
}

#[tokio::test]
async fn one_address_gets_its_share_of_chat_connections() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.chat.max_connections_per_ip = 2).await;
    let u = s.register("many_tabs").await;
    let _a = signed_in(&s, &u.token, None).await;
    let _b = signed_in(&s, &u.token, None).await;
    let url = format!("{}/ws", s.base.replace("http://", "ws://"));
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 503);
            let body = String::from_utf8_lossy(res.body().as_deref().unwrap_or_default());
            assert!(body.contains("too_many_connections"), "{body}");
        }
        Err(e) => panic!("expected a 503, got {e}"),
        Ok(_) => panic!("a third socket was upgraded"),
    }
    drop(_a);
    // The place comes back when a socket closes.
    let mut ok = false;
    for _ in 0..100 {
        let url = format!("{}/ws", s.base.replace("http://", "ws://"));
        if tokio_tungstenite::connect_async(url).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "a closed socket's place is not given again");
    s.stop().await;
}

#[tokio::test]
async fn one_address_gets_its_share_of_rtmp_connections() {
    let s =
        TestServer::start_with(Backend::Sqlite, |c| c.media.rtmp_max_connections_per_ip = 2).await;
    let rtmp = s
        .rtmp_base
        .trim_start_matches("rtmp://")
        .trim_end_matches("/live")
        .to_string();
    let _a = TcpStream::connect(&rtmp).await.unwrap();
    let _b = TcpStream::connect(&rtmp).await.unwrap();
    let mut c = TcpStream::connect(&rtmp).await.unwrap();
    // RTMP has no way to say why before its handshake: the third is closed at once.
    let _ = c.write_all(&[3u8; 1537]).await;
    let got = read_to_close(&mut c, Duration::from_secs(5))
        .await
        .expect("closed at once");
    assert!(got.is_empty(), "answered a handshake over the cap");
    s.stop().await;
}

#[tokio::test]
async fn the_room_send_rate_is_per_user_over_all_sockets() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.chat.send_per_sec = 1).await;
    let u = s.register("five_sockets").await;
    let mut socks = Vec::new();
    for _ in 0..5 {
        socks.push(signed_in(&s, &u.token, Some("live://7")).await);
    }
    // A burst of two, then one a second: five sockets get no more than one would.
    let mut ok = 0;
    let mut limited = 0;
    for (i, ws) in socks.iter_mut().enumerate() {
        send(ws, json!({"op": 4, "seq": 100 + i, "body": {"text": "hi"}})).await;
        loop {
            let v = next_json(ws).await.expect("an answer");
            match v["op"].as_u64() {
                Some(5) => {
                    ok += 1;
                    break;
                }
                Some(24) => {
                    assert_eq!(v["body"]["code"], "rate_limited");
                    limited += 1;
                    break;
                }
                _ => {}
            }
        }
    }
    assert!(ok <= 3 && limited >= 2, "ok {ok}, limited {limited}");
    // Another user is not held back by this one.
    let other = s.register("someone_else").await;
    let mut ws = signed_in(&s, &other.token, Some("live://7")).await;
    send(&mut ws, json!({"op": 4, "seq": 1, "body": {"text": "hi"}})).await;
    expect_op(&mut ws, 5).await;
    s.stop().await;
}

#[tokio::test]
async fn a_room_audience_counts_people_not_sockets() {
    let s = TestServer::start(Backend::Sqlite).await;
    let u = s.register("many_sockets").await;
    let v = s.register("one_socket").await;
    let mut socks = Vec::new();
    for _ in 0..3 {
        socks.push(signed_in(&s, &u.token, Some("live://9")).await);
    }
    socks.push(signed_in(&s, &v.token, Some("live://9")).await);
    // Guests from one address (this test's) count once however many sockets they open.
    for _ in 0..4 {
        let mut g = common::ws::open(&s).await;
        send(
            &mut g,
            json!({"op": 7, "seq": 1, "body": {"guest": true, "room_id": "live://9"}}),
        )
        .await;
        expect_op(&mut g, 8).await;
        socks.push(g);
    }
    let ws = socks.last_mut().unwrap();
    send(ws, json!({"op": 2, "seq": 5})).await;
    let beat = expect_op(ws, 3).await;
    assert_eq!(beat["body"]["online"], 3, "{beat}");
    // One of the three sockets of the first user leaves: still three people.
    drop(socks.remove(0));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ws = socks.last_mut().unwrap();
    send(ws, json!({"op": 2, "seq": 6})).await;
    assert_eq!(expect_op(ws, 3).await["body"]["online"], 3);
    s.stop().await;
}
