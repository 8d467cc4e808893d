//! A chat client for the tests: JSON text frames over the real `/ws` endpoint.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::TestServer;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a socket without signing in.
pub async fn open(s: &TestServer) -> Ws {
    let url = format!("{}/ws", s.base.replace("http://", "ws://"));
    tokio_tungstenite::connect_async(url)
        .await
        .expect("ws connects")
        .0
}

/// Connects and sends auth (op 7, with `room` when given) without waiting for the answer.
pub async fn connect(s: &TestServer, token: &str, room: Option<&str>) -> Ws {
    let url = format!("{}/ws", s.base.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("ws connects");
    let mut body = json!({"token": token});
    if let Some(r) = room {
        body["room_id"] = json!(r);
    }
    send(&mut ws, json!({"op": 7, "seq": 1, "body": body})).await;
    ws
}

/// Connects, signs in (joining `room` when given) and waits for the auth reply.
pub async fn signed_in(s: &TestServer, token: &str, room: Option<&str>) -> Ws {
    let mut ws = connect(s, token, room).await;
    expect_op(&mut ws, 8).await;
    ws
}

pub async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .expect("ws send");
}

/// The next JSON frame within `wait`; `None` on timeout or when the server closed.
pub async fn next_within(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(wait, ws.next()).await.ok()??;
        match msg {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// The next JSON frame, or `None` when the server closed; panics after 5 s of silence.
pub async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")?;
        match msg {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Waits (up to 5 s) for a frame with `op`, skipping others.
pub async fn expect_op(ws: &mut Ws, op: u64) -> Value {
    loop {
        let v = next_within(ws, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no op {op} within 5 s"));
        if v["op"] == op {
            return v;
        }
    }
}

/// Whether a frame with `op` arrives within `wait` (others are skipped).
pub async fn sees_op_within(ws: &mut Ws, op: u64, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let v = next_within(ws, left).await?;
        if v["op"] == op {
            return Some(v);
        }
    }
}
