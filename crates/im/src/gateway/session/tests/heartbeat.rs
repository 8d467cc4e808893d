//! Heartbeats and the two deadlines: auth within `auth_timeout`, then bytes at least
//! every `heartbeat_timeout`.

use super::*;
use crate::proto;
use crate::ws::frame::{CLOSE_NORMAL, CLOSE_POLICY};

#[test]
fn no_auth_within_the_auth_timeout_closes_with_policy() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    // Bytes that make no whole packet do not put it off.
    s.handle_read(at(t0, 5));
    s.handle_timeout(at(t0, 9));
    assert_eq!(s.poll_output(), None);
    s.handle_timeout(at(t0, 10));
    let out = Host::default().drive(&mut s, at(t0, 10));
    assert_eq!(
        out,
        [Output::Close(Close {
            code: CLOSE_POLICY,
            last: None,
            error: None
        })]
    );
    assert!(s.is_closed());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn a_quiet_connection_is_closed_at_the_heartbeat_timeout() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(90)));
    s.handle_timeout(at(t0, 89));
    assert_eq!(s.poll_output(), None);
    s.handle_timeout(at(t0, 90));
    let out = host.drive(&mut s, at(t0, 90));
    assert_eq!(
        out,
        [Output::Close(Close {
            code: CLOSE_NORMAL,
            last: None,
            error: Some(("heartbeat_timeout", "no heartbeat".into())),
        })]
    );
}

#[test]
fn any_bytes_put_the_heartbeat_deadline_off() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    s.handle_read(at(t0, 60));
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(150)));
    s.handle_timeout(at(t0, 149));
    assert!(s.is_open());
    assert_eq!(s.poll_output(), None);
    s.handle_timeout(at(t0, 150));
    assert!(s.is_closed());
}

#[test]
fn a_heartbeat_is_answered_with_the_rooms_count_in_binary() {
    let t0 = Instant::now();
    let mut host = Host {
        online: 12,
        ..Host::default()
    };
    let mut s = in_room(&mut host, t0);
    let out = host.feed(&mut s, at(t0, 1), vec![Packet::new(op::HEARTBEAT, 5, "")]);
    assert_eq!(out[0], Output::Ask(Ask::Online));
    let reply = sent(&out)[0];
    assert_eq!((reply.op, reply.seq), (op::HEARTBEAT_REPLY, 5));
    assert_eq!(reply.body, proto::heartbeat_reply_body(12));
}

#[test]
fn a_heartbeat_over_text_frames_is_answered_in_json() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = Session::new(config(), at(t0, 0));
    s.handle_packets(Wire::WsText, vec![auth(json!({"token": "t"}))], at(t0, 0));
    host.drive(&mut s, at(t0, 0));
    let out = host.feed(&mut s, at(t0, 1), vec![Packet::new(op::HEARTBEAT, 6, "")]);
    assert_eq!(sent(&out)[0].body, proto::heartbeat_reply_json(0));
}

#[test]
fn the_next_packet_waits_for_the_answer_before_it() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let beats = vec![
        Packet::new(op::HEARTBEAT, 1, ""),
        Packet::new(op::HEARTBEAT, 2, ""),
    ];
    s.handle_packets(Wire::WsBinary, beats, at(t0, 1));
    assert_eq!(s.poll_output(), Some(Output::Ask(Ask::Online)));
    assert_eq!(
        s.poll_output(),
        None,
        "the second waits for the first's answer"
    );
    s.answer(Answer::Online(4), at(t0, 1)).unwrap();
    match s.poll_output() {
        Some(Output::Send(p)) => assert_eq!(p.seq, 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.poll_output(), Some(Output::Ask(Ask::Online)));
}
