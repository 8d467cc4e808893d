//! goim's subscriptions (ops 14 and 16).

use super::*;
use crate::proto::OpsBody;

#[test]
fn sub_adds_and_unsub_removes_answering_the_set_in_force() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let out = host.feed(
        &mut s,
        at(t0, 1),
        vec![packet(op::SUB, 2, json!({"ops": [1000, 1001]}))],
    );
    assert_eq!(
        out[0],
        Output::Ask(Ask::UpdateAccepts {
            ops: vec![1000, 1001],
            add: true
        })
    );
    assert_eq!(only_sent(&out, op::SUB_REPLY), json!({"ops": [1000, 1001]}));

    let out = host.feed(&mut s, at(t0, 1), vec![Packet::new(op::UNSUB, 3, "1000")]);
    assert_eq!(
        out[0],
        Output::Ask(Ask::UpdateAccepts {
            ops: vec![1000],
            add: false
        })
    );
    assert_eq!(only_sent(&out, op::UNSUB_REPLY), json!({"ops": [1001]}));
}

#[test]
fn a_bad_ops_body_gets_the_protocols_error() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let body = br#"{"ops": "all"}"#;
    let expected = OpsBody::parse(body).unwrap_err();
    let out = host.feed(
        &mut s,
        at(t0, 1),
        vec![Packet::new(op::SUB, 2, body.to_vec())],
    );
    assert_eq!(out.len(), 1, "nothing asked: {out:?}");
    assert_eq!(code_of(&only_sent(&out, op::ERROR)), expected.code());
}
