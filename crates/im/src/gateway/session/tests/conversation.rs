//! Conversations over the socket (ops 18, 20, 22, 30).

use super::*;

fn unavailable_history() -> SessionConfig {
    SessionConfig {
        history: false,
        ..config()
    }
}

#[test]
fn without_a_history_every_conversation_op_is_unavailable_even_with_a_bad_body() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = Session::new(unavailable_history(), at(t0, 0));
    host.feed(&mut s, at(t0, 0), vec![auth(json!({"token": "t"}))]);
    for op in [op::SYNC, op::READ, op::ACK, op::CONV_SEND] {
        let out = host.feed(&mut s, at(t0, 1), vec![Packet::new(op, 1, "garbage")]);
        let refused = only_sent(&out, op::ERROR);
        assert_eq!(code_of(&refused), "unavailable", "op {op}");
        assert_eq!(refused["op"], op);
    }
}

#[test]
fn sync_asks_for_every_position_and_answers_the_messages() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let p = packet(op::SYNC, 4, json!({"positions": {"11": 2}}));
    let out = host.feed(&mut s, at(t0, 1), vec![p]);
    assert_eq!(
        out[0],
        Output::Ask(Ask::Sync {
            user: 7,
            positions: vec![(11, 2)],
            limit: 200
        })
    );
    let reply = only_sent(&out, op::SYNC_REPLY);
    assert_eq!(
        reply,
        json!({"messages": [{"conversation_id": 11, "seq": 3}], "more": false})
    );
}

#[test]
fn sync_refuses_bad_positions_without_asking() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let many: serde_json::Map<String, Value> =
        (0..101).map(|i| (i.to_string(), json!(0))).collect();
    for body in [
        json!({"positions": {"x": 1}}),
        json!({"positions": {"1": -1}}),
        json!({"positions": many}),
        json!({"position": {}}),
    ] {
        let out = host.feed(&mut s, at(t0, 1), vec![packet(op::SYNC, 4, body)]);
        assert_eq!(out.len(), 1, "nothing asked: {out:?}");
        assert_eq!(code_of(&only_sent(&out, op::ERROR)), "bad_body");
    }
}

#[test]
fn ack_and_read_answer_their_own_positions() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let body = json!({"conversation_id": 11, "seq": 9});
    let out = host.feed(&mut s, at(t0, 1), vec![packet(op::ACK, 1, body.clone())]);
    assert_eq!(
        out[0],
        Output::Ask(Ask::Ack {
            user: 7,
            conversation_id: 11,
            seq: 9
        })
    );
    assert_eq!(
        only_sent(&out, op::ACK_REPLY),
        json!({"conversation_id": 11, "delivered_seq": 9})
    );
    let out = host.feed(&mut s, at(t0, 1), vec![packet(op::READ, 2, body)]);
    assert!(matches!(out[0], Output::Ask(Ask::Read { .. })));
    assert_eq!(
        only_sent(&out, op::READ_REPLY),
        json!({"conversation_id": 11, "read_seq": 9})
    );
}

#[test]
fn the_stores_refusals_carry_its_codes() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    host.store_error = Some(HistoryError {
        code: "not_a_member",
        message: "no".into(),
        until: Some(5),
    });
    let body = json!({"conversation_id": 11, "seq": 9});
    let out = host.feed(&mut s, at(t0, 1), vec![packet(op::READ, 2, body)]);
    // A read's refusal has no `until`; a send's has.
    assert_eq!(
        only_sent(&out, op::ERROR),
        json!({"code": "not_a_member", "message": "no", "op": op::READ})
    );
    let body = json!({"conversation_id": 11, "kind": "text", "content": "hi", "client_id": "c"});
    let out = host.feed(&mut s, at(t0, 1), vec![packet(op::CONV_SEND, 3, body)]);
    assert_eq!(
        only_sent(&out, op::ERROR),
        json!({"code": "not_a_member", "message": "no", "op": op::CONV_SEND, "until": 5})
    );
}

#[test]
fn a_message_sent_over_the_socket_is_answered_as_stored() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let body = json!({"conversation_id": 11, "kind": "text", "content": "hi", "client_id": "c"});
    let out = host.feed(&mut s, at(t0, 1), vec![packet(op::CONV_SEND, 3, body)]);
    assert_eq!(
        out[0],
        Output::Ask(Ask::SendMessage {
            user: 7,
            conversation_id: 11,
            message: json!({"kind": "text", "content": "hi", "client_id": "c"})
        })
    );
    let stored = only_sent(&out, op::CONV_SEND_REPLY);
    assert_eq!(stored["seq"], 5);
    assert_eq!(stored["conversation_id"], 11);
}
