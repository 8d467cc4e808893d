//! How connections end: bytes that cannot be understood, the client leaving, a kick.

use bytes::Bytes;

use super::*;
use crate::proto::{ProtoError, VERSION};
use crate::ws::frame::{FrameError, CLOSE_NORMAL, CLOSE_POLICY};

#[test]
fn a_malformed_packet_after_sign_in_gets_an_op_24_and_a_policy_close() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = Session::new(config(), at(t0, 0));
    let mut p = auth(json!({"token": "t"}));
    p.ver = 2;
    host.feed(&mut s, at(t0, 0), vec![p]);
    let e = ProtoError::BadHeaderLen(3);
    let (code, message) = (e.code(), e.to_string());
    s.handle_bad_packet(e, Wire::WsText, at(t0, 1));
    let out = host.drive(&mut s, at(t0, 1));
    let close = closed(&out);
    assert_eq!(close.code, CLOSE_POLICY);
    assert_eq!(close.error, Some((code, message.clone())));
    let last = close.last.as_ref().unwrap();
    assert_eq!(
        (last.packet.op, last.packet.ver, last.packet.seq),
        (op::ERROR, 2, 0)
    );
    assert_eq!(
        json_of(&last.packet),
        json!({"code": code, "message": message})
    );
    assert_eq!(
        s.wire(),
        Wire::WsBinary,
        "a signed-in connection keeps its wire"
    );
}

#[test]
fn a_malformed_first_packet_is_answered_in_its_own_wire_without_a_session_error() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    let e = ProtoError::BadHeaderLen(3);
    let code = e.code();
    s.handle_bad_packet(e, Wire::WsText, at(t0, 0));
    let out = Host::default().drive(&mut s, at(t0, 0));
    let close = closed(&out);
    assert_eq!((close.code, &close.error), (CLOSE_POLICY, &None));
    let last = close.last.as_ref().unwrap();
    assert_eq!(last.packet.ver, VERSION);
    assert_eq!(code_of(&json_of(&last.packet)), code);
    assert_eq!(s.wire(), Wire::WsText);
}

#[test]
fn broken_websocket_framing_closes_with_the_framings_code() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let e = FrameError::BadUtf8;
    let (code, close_code) = (e.code(), e.close_code());
    s.handle_bad_frame(e, at(t0, 1));
    let out = host.drive(&mut s, at(t0, 1));
    let close = closed(&out);
    assert_eq!(close.code, close_code);
    assert_ne!(close.code, CLOSE_NORMAL);
    assert_eq!(close.last, None);
    assert_eq!(close.error.as_ref().map(|e| e.0), Some(code));

    let mut s = Session::new(config(), at(t0, 0));
    s.handle_bad_frame(FrameError::BadUtf8, at(t0, 0));
    let out = host.drive(&mut s, at(t0, 0));
    assert_eq!(closed(&out).code, close_code);
    assert_eq!(closed(&out).error, None, "not signed in: no session error");
}

#[test]
fn the_client_leaving_closes_normally_and_drops_what_waits() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    s.handle_packets(
        Wire::WsBinary,
        vec![
            Packet::new(op::HEARTBEAT, 1, ""),
            Packet::new(op::HEARTBEAT, 2, ""),
        ],
        at(t0, 1),
    );
    assert_eq!(s.poll_output(), Some(Output::Ask(Ask::Online)));
    s.handle_peer_closed();
    let out = host.drive(&mut s, at(t0, 1));
    assert_eq!(
        out,
        [Output::Close(Close {
            code: CLOSE_NORMAL,
            last: None,
            error: None
        })]
    );
    // After the close, nothing is served and nothing more comes out.
    assert_eq!(
        s.answer(Answer::Online(1), at(t0, 1)),
        Err(UnexpectedAnswer)
    );
    s.handle_packets(
        Wire::WsBinary,
        vec![Packet::new(op::HEARTBEAT, 3, "")],
        at(t0, 2),
    );
    s.handle_peer_closed();
    s.handle_timeout(at(t0, 1000));
    assert_eq!(s.poll_output(), None);
}

#[test]
fn a_kick_says_op_6_waits_for_it_and_closes_with_policy() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    s.handle_kick();
    let out = host.drive(&mut s, at(t0, 1));
    let close = closed(&out);
    assert_eq!(close.code, CLOSE_POLICY);
    assert_eq!(
        close.error,
        Some(("kicked", "disconnected by the server".into()))
    );
    let last = close.last.as_ref().unwrap();
    assert!(last.wait);
    assert_eq!(
        last.packet,
        Packet::new(op::DISCONNECT_REPLY, 0, Bytes::new())
    );
}

#[test]
fn a_drain_says_when_to_reconnect_and_closes_with_service_restart() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    s.handle_drain(1234);
    let out = host.drive(&mut s, at(t0, 1));
    let close = closed(&out);
    assert_eq!(close.code, 1012);
    let last = close.last.as_ref().unwrap();
    assert_eq!(last.packet.op, op::DISCONNECT_REPLY);
    let body: serde_json::Value = serde_json::from_slice(&last.packet.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"code": "node_stopping", "reconnect_after_ms": 1234})
    );
}

#[test]
fn a_kick_before_sign_in_does_nothing() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    s.handle_kick();
    assert_eq!(s.poll_output(), None);
    assert!(!s.is_closed());
}

#[test]
fn unknown_operations_and_a_second_auth_are_refused_not_fatal() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let out = host.feed(&mut s, at(t0, 1), vec![Packet::new(999, 4, "")]);
    let refused = only_sent(&out, op::ERROR);
    assert_eq!(code_of(&refused), "unknown_operation");
    assert_eq!(refused["op"], 999);
    assert_eq!(sent(&out)[0].seq, 4);

    let out = host.feed(&mut s, at(t0, 1), vec![auth(json!({"token": "t"}))]);
    assert_eq!(
        code_of(&only_sent(&out, op::ERROR)),
        "already_authenticated"
    );
    assert!(s.is_open());
}

#[test]
fn garbage_bodies_for_every_operation_never_panic_and_leave_the_connection_open() {
    let t0 = Instant::now();
    let mut host = Host {
        room: None,
        ..Host::default()
    };
    let mut s = signed_in(&mut host, t0);
    let bodies: [&[u8]; 6] = [b"", b"\xff\xfe", b"null", b"[]", b"{\"a\":", b"{}"];
    for op in 0..=40 {
        if op == op::AUTH {
            continue;
        }
        for body in bodies {
            let out = host.feed(&mut s, at(t0, 1), vec![Packet::new(op, 1, body.to_vec())]);
            assert!(s.is_open(), "op {op} body {body:?}: {out:?}");
            assert!(!sent(&out).is_empty(), "op {op} is answered: {out:?}");
        }
    }
}
