//! The notifications inbox over the socket (ops 26 and 28).

use super::*;

#[test]
fn an_empty_sync_body_syncs_from_the_start() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let out = host.feed(&mut s, at(t0, 1), vec![Packet::new(op::NOTIFY_SYNC, 2, "")]);
    assert_eq!(
        out[0],
        Output::Ask(Ask::InboxSync {
            user: 7,
            after_seq: 0,
            limit: 200
        })
    );
    assert_eq!(
        only_sent(&out, op::NOTIFY_SYNC_REPLY),
        json!({"notifications": [{"seq": 1}], "more": false, "last_seq": 1, "read_seq": 0})
    );
}

#[test]
fn a_negative_position_is_a_bad_body() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let out = host.feed(
        &mut s,
        at(t0, 1),
        vec![packet(op::NOTIFY_SYNC, 2, json!({"after_seq": -1}))],
    );
    assert_eq!(out.len(), 1, "nothing asked: {out:?}");
    let refused = only_sent(&out, op::ERROR);
    assert_eq!(code_of(&refused), "bad_body");
    assert_eq!(
        refused["message"],
        "expected {\"after_seq\": n} with n >= 0"
    );
}

#[test]
fn read_answers_the_position_and_what_is_unread() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let out = host.feed(
        &mut s,
        at(t0, 1),
        vec![packet(op::NOTIFY_READ, 2, json!({"seq": 4}))],
    );
    assert_eq!(
        only_sent(&out, op::NOTIFY_READ_REPLY),
        json!({"read_seq": 4, "unread": 2})
    );
    let out = host.feed(&mut s, at(t0, 1), vec![Packet::new(op::NOTIFY_READ, 3, "")]);
    assert_eq!(code_of(&only_sent(&out, op::ERROR)), "bad_body");
}

#[test]
fn without_an_inbox_both_are_unavailable() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let config = SessionConfig {
        inbox: false,
        ..config()
    };
    let mut s = Session::new(config, at(t0, 0));
    host.feed(&mut s, at(t0, 0), vec![auth(json!({"token": "t"}))]);
    for op in [op::NOTIFY_SYNC, op::NOTIFY_READ] {
        let out = host.feed(&mut s, at(t0, 1), vec![Packet::new(op, 1, "{}")]);
        assert_eq!(code_of(&only_sent(&out, op::ERROR)), "unavailable");
    }
}
