//! goim's own clients and pushers against momo, unchanged: a browser client's WebSocket at
//! goim's path `/sub` with the token in its URL and goim's auth body (`mid`, no token),
//! goim's push API (`/goim/push/*`, `/goim/online/*`), and goim's plain-TCP transport with
//! a raw-socket client. The Chromium run of goim's `client.js` itself is in `browser.rs`.

use crate::common;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// A goim packet: `ver` as the client chose it.
pub(crate) fn packet(ver: u16, op: u32, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&((16 + body.len()) as u32).to_be_bytes());
    p.extend_from_slice(&16u16.to_be_bytes());
    p.extend_from_slice(&ver.to_be_bytes());
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(body);
    p
}

/// A packet as read back: (ver, op, seq, body).
pub(crate) type Got = (u16, u32, u32, Vec<u8>);

fn parse(b: &[u8]) -> Got {
    assert_eq!(u16::from_be_bytes([b[4], b[5]]), 16, "header length");
    let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    assert_eq!(len, b.len(), "one packet per frame");
    (
        u16::from_be_bytes([b[6], b[7]]),
        u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
        b[16..].to_vec(),
    )
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next binary packet, or `None` when the server closed or said nothing for 5 s.
async fn next_ws(ws: &mut Ws) -> Option<Got> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => return Some(parse(&b)),
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => return None,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Waits for a packet with `op` (others skipped).
async fn expect_ws(ws: &mut Ws, op: u32) -> Got {
    loop {
        let got = next_ws(ws).await.unwrap_or_else(|| panic!("no op {op}"));
        if got.1 == op {
            return got;
        }
    }
}

/// goim's browser client's auth body, exactly as its `client.js` builds it but for `mid`.
fn goim_auth(mid: i64) -> Vec<u8> {
    format!(
        r#"{{"mid":{mid}, "room_id":"live://1000", "platform":"web", "accepts":[1000,1001,1002]}}"#
    )
    .into_bytes()
}

async fn open_sub(s: &common::TestServer, token: &str) -> Ws {
    let url = format!("{}/sub?token={token}", s.base.replace("http://", "ws://"));
    tokio_tungstenite::connect_async(url).await.expect("ws").0
}

/// Calls goim's push API as goim's pushers do: query parameters, the message as the body.
pub(crate) async fn goim(
    s: &common::TestServer,
    method: reqwest::Method,
    path_and_query: &str,
    token: Option<&str>,
    body: &'static str,
) -> (StatusCode, Value) {
    let mut req = s.client.request(method, s.url(path_and_query)).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("sent");
    let status = res.status();
    (status, res.json().await.expect("a JSON answer"))
}

#[tokio::test]
async fn a_goim_browser_client_signs_in_with_the_token_in_its_url_and_gets_goims_pushes() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let admin = s.admin_token("ops").await;
    let u = s.register("goimfan").await;
    let mut ws = open_sub(&s, &u.token).await;
    // Version 3 in, version 3 back in every reply.
    ws.send(Message::Binary(packet(3, 7, 1, &goim_auth(u.id)).into()))
        .await
        .unwrap();
    let (ver, op, seq, body) = next_ws(&mut ws).await.expect("auth reply");
    assert_eq!((ver, op, seq), (3, 8, 1));
    let reply: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(reply["mid"], u.id);
    let key = reply["key"].as_str().expect("a connection key").to_string();
    ws.send(Message::Binary(packet(3, 2, 2, b"").into()))
        .await
        .unwrap();
    assert_eq!(
        expect_ws(&mut ws, 3).await,
        (3, 3, 2, 1u32.to_be_bytes().to_vec()),
        "heartbeat reply with the room's online count"
    );

    // goim's example pushes, verbatim but for the host.
    let post = reqwest::Method::POST;
    let (status, answer) = goim(
        &s,
        post.clone(),
        &format!("/goim/push/mids?operation=1000&mids={}", u.id),
        Some(&admin),
        "mid message",
    )
    .await;
    assert_eq!(
        (status, &answer["code"]),
        (StatusCode::OK, &json!(0)),
        "{answer}"
    );
    assert_eq!(expect_ws(&mut ws, 1000).await.3, b"mid message");
    let room = "/goim/push/room?operation=1000&type=live&room=1000";
    let (status, _) = goim(&s, post.clone(), room, Some(&admin), "room message").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(expect_ws(&mut ws, 1000).await.3, b"room message");
    let all = "/goim/push/all?operation=1000";
    let (status, _) = goim(&s, post.clone(), all, Some(&admin), "broadcast message").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(expect_ws(&mut ws, 1000).await.3, b"broadcast message");
    // A paced broadcast arrives too.
    let paced = "/goim/push/all?operation=1001&speed=1000";
    assert_eq!(
        goim(&s, post.clone(), paced, Some(&admin), "paced").await.0,
        StatusCode::OK
    );
    assert_eq!(expect_ws(&mut ws, 1001).await.3, b"paced");
    let keys = format!("/goim/push/keys?operation=1002&keys={key}");
    let (status, answer) = goim(&s, post.clone(), &keys, Some(&admin), "by key").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["data"]["delivered"], 1);
    assert_eq!(expect_ws(&mut ws, 1002).await.3, b"by key");
    // Outside `accepts`: not delivered.
    let other = "/goim/push/all?operation=1003";
    goim(&s, post.clone(), other, Some(&admin), "unwanted").await;
    let mids = format!("/goim/push/mids?operation=1000&mids={}", u.id);
    goim(&s, post.clone(), &mids, Some(&admin), "after").await;
    assert_eq!(expect_ws(&mut ws, 1000).await.3, b"after");

    // goim's online figures.
    let get = reqwest::Method::GET;
    let (status, total) = goim(&s, get.clone(), "/goim/online/total", Some(&admin), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(total["data"], json!({"ip_count": 1, "conn_count": 1}));
    let rooms = "/goim/online/room?type=live&rooms=1000&rooms=2000";
    let (_, counts) = goim(&s, get.clone(), rooms, Some(&admin), "").await;
    assert_eq!(counts["data"], json!({"1000": 1, "2000": 0}));
    let top = "/goim/online/top?type=live&limit=10";
    let (_, top) = goim(&s, get.clone(), top, Some(&admin), "").await;
    assert_eq!(top["data"], json!([{"room_id": "1000", "count": 1}]));
    s.stop().await;
}

#[tokio::test]
async fn goims_push_api_refuses_strangers_and_bad_parameters_in_both_shapes() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let admin = s.admin_token("ops").await;
    let viewer = s.register("viewer").await;
    let post = reqwest::Method::POST;
    let all = "/goim/push/all?operation=1000";
    let cases: Vec<(&str, Option<&str>, StatusCode, &str)> = vec![
        (all, None, StatusCode::UNAUTHORIZED, "missing_token"),
        (
            all,
            Some(&viewer.token),
            StatusCode::FORBIDDEN,
            "admin_required",
        ),
        (
            "/goim/push/all",
            Some(&admin),
            StatusCode::BAD_REQUEST,
            "missing_parameter",
        ),
        (
            "/goim/push/all?operation=7",
            Some(&admin),
            StatusCode::BAD_REQUEST,
            "invalid_op",
        ),
        (
            "/goim/push/all?operation=x",
            Some(&admin),
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "/goim/push/mids?operation=1000&mids=a",
            Some(&admin),
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "/goim/push/mids?operation=1000",
            Some(&admin),
            StatusCode::BAD_REQUEST,
            "missing_parameter",
        ),
        (
            "/goim/push/room?operation=1000&type=game&room=1",
            Some(&admin),
            StatusCode::BAD_REQUEST,
            "invalid_room",
        ),
        (
            "/goim/push/room?operation=1000&type=live&room=a%20b",
            Some(&admin),
            StatusCode::BAD_REQUEST,
            "invalid_room",
        ),
    ];
    for (path, token, want, code) in cases {
        let (status, body) = goim(&s, post.clone(), path, token, "x").await;
        assert_eq!(status, want, "{path}: {body}");
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
        assert_eq!(body["code"], -i64::from(want.as_u16()), "{path}: {body}");
    }
    // A message over the limit.
    let big: &'static str = Box::leak("x".repeat(1 << 20).into_boxed_str());
    let (status, body) = goim(&s, post, all, Some(&admin), big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    s.stop().await;
}

#[tokio::test]
async fn a_goim_client_whose_mid_is_someone_else_is_refused() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let u = s.register("honest").await;
    let mut ws = open_sub(&s, &u.token).await;
    ws.send(Message::Binary(
        packet(1, 7, 1, &goim_auth(u.id + 1)).into(),
    ))
    .await
    .unwrap();
    let (_, op, _, body) = next_ws(&mut ws).await.expect("an error packet");
    assert_eq!(op, 24);
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["code"], "mid_mismatch");
    assert!(next_ws(&mut ws).await.is_none(), "then closed");
    // No token in the URL nor the body: refused.
    let url = format!("{}/sub", s.base.replace("http://", "ws://"));
    let mut ws = tokio_tungstenite::connect_async(url).await.unwrap().0;
    ws.send(Message::Binary(packet(1, 7, 1, &goim_auth(u.id)).into()))
        .await
        .unwrap();
    let (_, op, _, body) = next_ws(&mut ws).await.expect("an error packet");
    assert_eq!(op, 24, "{}", String::from_utf8_lossy(&body));
    // A token in the URL that is not one: refused as in the body.
    let mut ws = open_sub(&s, "nonsense").await;
    ws.send(Message::Binary(packet(1, 7, 1, &goim_auth(u.id)).into()))
        .await
        .unwrap();
    let (_, _, _, body) = next_ws(&mut ws).await.expect("an error packet");
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["code"], "invalid_token");
    s.stop().await;
}

/// The next packet on a raw goim TCP stream, or `None` at its end or after 5 s.
pub(crate) async fn next_tcp(sock: &mut TcpStream) -> Option<Got> {
    let read = async {
        let mut head = [0u8; 16];
        sock.read_exact(&mut head).await.ok()?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let mut whole = head.to_vec();
        whole.resize(len, 0);
        sock.read_exact(&mut whole[16..]).await.ok()?;
        Some(parse(&whole))
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()
        .flatten()
}

pub(crate) async fn expect_tcp(sock: &mut TcpStream, op: u32) -> Got {
    loop {
        let got = next_tcp(sock).await.unwrap_or_else(|| panic!("no op {op}"));
        if got.1 == op {
            return got;
        }
    }
}

#[tokio::test]
async fn a_raw_tcp_goim_client_signs_in_chats_and_receives_pushes() {
    let s = common::TestServer::start_with(common::Backend::Sqlite, |c| {
        c.chat.tcp = Some("127.0.0.1:0".into());
    })
    .await;
    let addr = s.chat_tcp_addr().expect("the TCP transport is on");
    let admin = s.admin_token("ops").await;
    let u = s.register("native").await;
    let mut sock = TcpStream::connect(addr).await.unwrap();
    // Auth and a heartbeat written together, then split across writes: a stream has no
    // frames.
    let auth = json!({"token": u.token, "mid": u.id, "key": "phone-1", "room_id": "live://42"});
    let mut bytes = packet(1, 7, 1, auth.to_string().as_bytes());
    bytes.extend(packet(1, 2, 2, b""));
    let (a, b) = bytes.split_at(bytes.len() - 7);
    sock.write_all(a).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    sock.write_all(b).await.unwrap();
    let (ver, op, seq, body) = next_tcp(&mut sock).await.expect("auth reply");
    assert_eq!((ver, op, seq), (1, 8, 1));
    let reply: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(reply["key"], "phone-1");
    assert_eq!(
        expect_tcp(&mut sock, 3).await,
        (1, 3, 2, 1u32.to_be_bytes().to_vec())
    );

    // A room message from a WebSocket member reaches the TCP one, and back.
    let web = s.register("web").await;
    let mut ws = common::ws::signed_in(&s, &web.token, Some("live://42")).await;
    common::ws::send(
        &mut ws,
        json!({"op": 4, "seq": 5, "body": {"text": "hi tcp"}}),
    )
    .await;
    let (_, _, _, body) = expect_tcp(&mut sock, 1000).await;
    let m: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(m["text"], "hi tcp");
    sock.write_all(&packet(1, 4, 6, br#"{"text":"hi web"}"#))
        .await
        .unwrap();
    assert_eq!(expect_tcp(&mut sock, 5).await.2, 6);
    // The sender sees its own message in the room too.
    let (_, _, _, body) = expect_tcp(&mut sock, 1000).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["text"],
        "hi web"
    );
    loop {
        let m = common::ws::expect_op(&mut ws, 1000).await;
        if m["body"]["text"] == "hi web" {
            break;
        }
    }

    // goim's pushes by member, by key and to the room.
    let post = reqwest::Method::POST;
    let mids = format!("/goim/push/mids?operation=1000&mids={}", u.id);
    assert_eq!(
        goim(&s, post.clone(), &mids, Some(&admin), "to you")
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(expect_tcp(&mut sock, 1000).await.3, b"to you");
    let keys = "/goim/push/keys?operation=1000&keys=phone-1";
    assert_eq!(
        goim(&s, post.clone(), keys, Some(&admin), "to the phone")
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(expect_tcp(&mut sock, 1000).await.3, b"to the phone");
    // momo's own push API reaches it too.
    let (status, _) = s
        .post(
            "/api/v1/push/users",
            Some(&admin),
            json!({"user_ids": [u.id], "body": {"n": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(expect_tcp(&mut sock, 1000).await.3, br#"{"n":1}"#);

    // A lying header: an error packet, then the end of the stream.
    let mut bad = packet(1, 2, 9, b"");
    bad[5] = 20;
    sock.write_all(&bad).await.unwrap();
    let (_, op, _, body) = expect_tcp(&mut sock, 24).await;
    assert_eq!(op, 24);
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["code"], "bad_header_len");
    assert!(next_tcp(&mut sock).await.is_none(), "closed");

    // A first packet that is not auth, over TCP.
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(&packet(1, 2, 1, b"")).await.unwrap();
    let (_, op, _, body) = next_tcp(&mut sock).await.expect("an error packet");
    assert_eq!(op, 24);
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["code"], "auth_required");
    assert!(next_tcp(&mut sock).await.is_none());
    s.stop().await;
}

#[tokio::test]
async fn the_tcp_transport_is_off_by_default() {
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    assert_eq!(s.chat_tcp_addr(), None);
    s.stop().await;
}
