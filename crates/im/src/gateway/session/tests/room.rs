//! Joining, changing and leaving rooms (op 12).

use super::*;
use crate::proto::ChangeRoomBody;

#[test]
fn joining_asks_the_rules_then_moves_between_hold_and_release() {
    let t0 = Instant::now();
    let mut host = Host {
        online: 2,
        ..Host::default()
    };
    let mut s = signed_in(&mut host, t0);
    let p = packet(op::CHANGE_ROOM, 8, json!({"room_id": "live://5"}));
    let out = host.feed(&mut s, at(t0, 1), vec![p]);
    assert_eq!(
        out[..3],
        [
            Output::Ask(Ask::MayJoin {
                room: "5".into(),
                user: 7
            }),
            Output::Hold,
            Output::Ask(Ask::ChangeRoom {
                room: Some("5".into())
            }),
        ]
    );
    assert_eq!(out.last(), Some(&Output::Release));
    let reply = only_sent(&out, op::CHANGE_ROOM_REPLY);
    assert_eq!(reply, json!({"room_id": "live://5", "online": 2}));
    assert_eq!(sent(&out)[0].seq, 8);
    assert_eq!(host.room.as_deref(), Some("5"));
}

#[test]
fn leaving_asks_no_rules_and_says_no_room() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = in_room(&mut host, t0);
    for body in [&br#"{"room_id": null}"#[..], b"{}", b""] {
        let out = host.feed(
            &mut s,
            at(t0, 1),
            vec![Packet::new(op::CHANGE_ROOM, 2, body.to_vec())],
        );
        assert!(!out
            .iter()
            .any(|o| matches!(o, Output::Ask(Ask::MayJoin { .. }))));
        assert!(out.contains(&Output::Ask(Ask::ChangeRoom { room: None })));
        let reply = only_sent(&out, op::CHANGE_ROOM_REPLY);
        assert_eq!(reply, json!({"room_id": null, "online": 0}));
        assert_eq!(host.room, None);
    }
}

#[test]
fn a_refused_join_stays_where_it_was_and_says_why() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = in_room(&mut host, t0);
    host.join = Err(refusal("kicked", None));
    let p = packet(op::CHANGE_ROOM, 3, json!({"room_id": "live://5"}));
    let out = host.feed(&mut s, at(t0, 1), vec![p]);
    assert!(!out.contains(&Output::Hold));
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::Ask(Ask::ChangeRoom { .. }))));
    let refused = only_sent(&out, op::ERROR);
    assert_eq!(
        refused,
        json!({"code": "kicked", "message": "kicked!", "op": op::CHANGE_ROOM})
    );
    assert_eq!(host.room.as_deref(), Some("42"));
}

#[test]
fn a_bad_room_gets_the_protocols_error() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let body = br#"{"room_id": "rtmp://5"}"#;
    let expected = ChangeRoomBody::parse(body).unwrap_err();
    let out = host.feed(
        &mut s,
        at(t0, 1),
        vec![Packet::new(op::CHANGE_ROOM, 3, body.to_vec())],
    );
    let refused = only_sent(&out, op::ERROR);
    assert_eq!(code_of(&refused), expected.code());
    assert_eq!(refused["op"], op::CHANGE_ROOM);
    assert!(s.is_open());
}
