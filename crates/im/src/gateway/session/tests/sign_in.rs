//! Signing in: auth first, the token checked, the connection registered and joined.

use super::*;
use crate::proto::{AuthBody, VERSION};
use crate::ws::frame::CLOSE_POLICY;

#[test]
fn a_valid_token_registers_joins_then_answers_op_8_between_hold_and_release() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    let body = json!({"token": "t", "room_id": "live://42", "accepts": [1000]});
    s.handle_packets(Wire::WsBinary, vec![auth(body)], at(t0, 1));
    let mut host = Host::default();

    let out = host.drive(&mut s, at(t0, 1));
    let asked: Vec<&Ask> = out
        .iter()
        .filter_map(|o| match o {
            Output::Ask(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(
        asked,
        [
            &Ask::Authenticate { token: "t".into() },
            &Ask::Register {
                user_id: 7,
                accepts: vec![1000],
                key: None
            },
            &Ask::MayJoin {
                room: "42".into(),
                user: 7
            },
            &Ask::ChangeRoom {
                room: Some("42".into())
            },
        ]
    );
    // Held from before the join until after the reply.
    let hold = out.iter().position(|o| *o == Output::Hold).unwrap();
    let join = out
        .iter()
        .position(|o| matches!(o, Output::Ask(Ask::ChangeRoom { .. })))
        .unwrap();
    let reply = out
        .iter()
        .position(|o| matches!(o, Output::Send(_)))
        .unwrap();
    assert!(hold < join && join < reply);
    assert_eq!(out.last(), Some(&Output::Release));
    let reply = only_sent(&out, op::AUTH_REPLY);
    assert_eq!(reply, json!({"mid": 7, "key": "key-1"}));
    assert_eq!(sent(&out)[0].seq, 1);
    assert!(s.is_open());
    assert_eq!(s.identity(), Some(&ann()));
    // The heartbeat deadline runs from signing in.
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(91)));
}

#[test]
fn replies_carry_the_version_of_the_auth_packet() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    let mut p = auth(json!({"token": "t"}));
    p.ver = 3;
    let out = Host::default().feed(&mut s, at(t0, 0), vec![p]);
    assert_eq!(sent(&out)[0].ver, 3);
}

#[test]
fn a_refused_token_ends_the_connection_with_its_code() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    let mut host = Host {
        identity: Err(AuthError::Expired),
        ..Host::default()
    };
    let out = host.feed(&mut s, at(t0, 0), vec![auth(json!({"token": "old"}))]);
    let close = closed(&out);
    assert_eq!(close.code, CLOSE_POLICY);
    assert_eq!(close.error, None);
    let last = close.last.as_ref().expect("an op 24 before the close");
    assert_eq!(last.packet.op, op::ERROR);
    assert_eq!(last.packet.seq, 1);
    assert!(!last.wait);
    assert_eq!(code_of(&json_of(&last.packet)), "token_expired");
    assert!(s.is_closed());
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::Ask(Ask::Register { .. }))));
}

#[test]
fn a_first_packet_other_than_auth_is_refused_with_auth_required() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    let mut heartbeat = Packet::new(op::HEARTBEAT, 9, "");
    heartbeat.ver = 2;
    let out = Host::default().feed(&mut s, at(t0, 0), vec![heartbeat]);
    assert_eq!(out.len(), 1, "nothing asked: {out:?}");
    let last = closed(&out).last.as_ref().unwrap();
    assert_eq!(code_of(&json_of(&last.packet)), "auth_required");
    assert_eq!((last.packet.ver, last.packet.seq), (2, 0));
}

#[test]
fn an_empty_first_frame_is_refused_in_the_first_version() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    let out = Host::default().feed(&mut s, at(t0, 0), vec![]);
    let last = closed(&out).last.as_ref().unwrap();
    assert_eq!(code_of(&json_of(&last.packet)), "auth_required");
    assert_eq!(last.packet.ver, VERSION);
}

#[test]
fn an_auth_body_that_does_not_parse_gets_the_protocols_error() {
    let t0 = Instant::now();
    for body in [
        &b"not json"[..],
        b"{}",
        br#"{"token": "t", "room_id": "tv://1"}"#,
    ] {
        let mut s = Session::new(config(), at(t0, 0));
        let expected = AuthBody::parse(body).unwrap_err();
        let p = Packet::new(op::AUTH, 4, body.to_vec());
        let out = Host::default().feed(&mut s, at(t0, 0), vec![p]);
        assert_eq!(out.len(), 1, "nothing asked: {out:?}");
        let last = closed(&out).last.as_ref().unwrap();
        let error = json_of(&last.packet);
        assert_eq!(code_of(&error), expected.code());
        assert_eq!(error["message"], expected.to_string());
        assert_eq!(last.packet.seq, 4);
    }
}

#[test]
fn the_urls_token_signs_in_a_body_without_one() {
    let t0 = Instant::now();
    let mut s = Session::new(
        SessionConfig {
            url_token: Some("from-url".into()),
            ..config()
        },
        at(t0, 0),
    );
    let out = Host::default().feed(&mut s, at(t0, 0), vec![auth(json!({"mid": 7}))]);
    assert_eq!(
        out[0],
        Output::Ask(Ask::Authenticate {
            token: "from-url".into()
        })
    );
    assert!(s.is_open());
}

#[test]
fn a_goim_mid_that_is_not_the_tokens_user_is_refused() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    let out = Host::default().feed(
        &mut s,
        at(t0, 0),
        vec![auth(json!({"token": "t", "mid": 8}))],
    );
    let last = closed(&out).last.as_ref().unwrap();
    assert_eq!(code_of(&json_of(&last.packet)), "mid_mismatch");
    assert!(s.identity().is_none(), "never registered");
}

#[test]
fn a_guest_signs_in_without_a_token_and_may_only_read() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    let mut host = Host::default();
    let body = json!({"guest": true, "room_id": "live://42"});
    let out = host.feed(&mut s, at(t0, 0), vec![auth(body)]);
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::Ask(Ask::Authenticate { .. }))));
    assert!(out.contains(&Output::Ask(Ask::Register {
        user_id: 0,
        accepts: vec![],
        key: None
    })));
    assert_eq!(sent(&out)[0].op, op::AUTH_REPLY);

    let out = host.feed(
        &mut s,
        at(t0, 1),
        vec![packet(op::SEND_MSG, 2, json!({"text": "hi"}))],
    );
    let refused = only_sent(&out, op::ERROR);
    assert_eq!(code_of(&refused), "sign_in_required");
    assert_eq!(refused["op"], op::SEND_MSG);
    assert!(s.is_open(), "a refusal leaves the connection open");

    let out = host.feed(&mut s, at(t0, 1), vec![Packet::new(op::HEARTBEAT, 3, "")]);
    assert_eq!(sent(&out)[0].op, op::HEARTBEAT_REPLY);
}

#[test]
fn a_refused_join_still_signs_in_and_says_why_after_op_8() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    let mut host = Host {
        join: Err(refusal("kicked", Some(99))),
        ..Host::default()
    };
    let body = json!({"token": "t", "room_id": "live://42"});
    let out = host.feed(&mut s, at(t0, 0), vec![auth(body)]);
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::Ask(Ask::ChangeRoom { .. }))));
    let sent = sent(&out);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].op, op::AUTH_REPLY);
    assert_eq!(sent[1].op, op::ERROR);
    assert_eq!(
        json_of(sent[1]),
        json!({"code": "kicked", "message": "kicked!", "op": op::AUTH, "until": 99})
    );
    assert_eq!(out.last(), Some(&Output::Release));
    assert!(s.is_open());
    assert_eq!(host.room, None);
}

#[test]
fn packets_behind_auth_in_its_frame_are_served_after_op_8() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    let packets = vec![
        auth(json!({"token": "t"})),
        Packet::new(op::HEARTBEAT, 2, ""),
        Packet::new(op::HEARTBEAT, 3, ""),
    ];
    let out = Host::default().feed(&mut s, at(t0, 0), packets);
    let ops: Vec<(u32, u32)> = sent(&out).iter().map(|p| (p.op, p.seq)).collect();
    assert_eq!(
        ops,
        [
            (op::AUTH_REPLY, 1),
            (op::HEARTBEAT_REPLY, 2),
            (op::HEARTBEAT_REPLY, 3)
        ]
    );
}

#[test]
fn nothing_is_served_while_signing_in_waits_for_the_token() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    s.handle_packets(
        Wire::WsText,
        vec![
            auth(json!({"token": "t"})),
            Packet::new(op::HEARTBEAT, 2, ""),
        ],
        at(t0, 0),
    );
    assert!(matches!(
        s.poll_output(),
        Some(Output::Ask(Ask::Authenticate { .. }))
    ));
    assert_eq!(s.poll_output(), None);
    assert_eq!(s.poll_output(), None);
    // No deadline while the app checks the token.
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(
        s.wire(),
        Wire::WsText,
        "the first frame's type fixes the wire"
    );
    assert!(!s.is_open());
}

#[test]
fn an_answer_to_another_question_is_refused_and_changes_nothing() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), at(t0, 0));
    assert_eq!(
        s.answer(Answer::Online(1), at(t0, 0)),
        Err(UnexpectedAnswer)
    );
    s.handle_packets(Wire::WsBinary, vec![auth(json!({"token": "t"}))], at(t0, 0));
    assert!(matches!(s.poll_output(), Some(Output::Ask(_))));
    assert_eq!(
        s.answer(Answer::MaySend(true), at(t0, 0)),
        Err(UnexpectedAnswer)
    );
    // Still waiting for the token's answer, which is taken.
    assert_eq!(s.answer(Answer::Identity(Ok(ann())), at(t0, 0)), Ok(()));
    assert!(matches!(
        s.poll_output(),
        Some(Output::Ask(Ask::Register { user_id: 7, .. }))
    ));
}
