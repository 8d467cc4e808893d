//! WebSocket clients of the chat gateway, speaking the JSON text form of the protocol.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(s: &super::TestServer) -> Ws {
    let url = format!("{}/ws", s.base.replace("http://", "ws://"));
    tokio_tungstenite::connect_async(url)
        .await
        .expect("ws connects")
        .0
}

pub async fn send_json(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next JSON text frame (skipping pings), or `None` when the server closed.
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

/// Waits for a frame with `op`, skipping others.
pub async fn expect_op(ws: &mut Ws, op: u64) -> Value {
    loop {
        let v = next_json(ws)
            .await
            .unwrap_or_else(|| panic!("closed while waiting for op {op}"));
        if v["op"] == op {
            return v;
        }
    }
}

pub async fn signed_in(s: &super::TestServer, token: &str, room: Option<&str>) -> Ws {
    let mut ws = connect(s).await;
    let mut body = json!({"token": token, "platform": "web"});
    if let Some(r) = room {
        body["room_id"] = json!(r);
    }
    send_json(&mut ws, json!({"op": 7, "seq": 1, "body": body})).await;
    let reply = expect_op(&mut ws, 8).await;
    assert_eq!(reply["seq"], 1);
    ws
}
