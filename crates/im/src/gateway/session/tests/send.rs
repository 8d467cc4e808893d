//! Room messages (op 4): checks, rules, rate, words, broadcast.

use bytes::Bytes;

use super::*;

fn say(text: &str) -> Packet {
    packet(op::SEND_MSG, 6, json!({"text": text}))
}

/// The asks among `out`.
fn asks(out: &[Output]) -> Vec<&Ask> {
    out.iter()
        .filter_map(|o| match o {
            Output::Ask(a) => Some(a),
            _ => None,
        })
        .collect()
}

#[test]
fn a_message_is_broadcast_stamped_then_answered() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = in_room(&mut host, t0);
    let out = host.feed(&mut s, at(t0, 3), vec![say("  hello!  ")]);
    assert_eq!(
        asks(&out),
        [
            &Ask::Room,
            &Ask::MaySpeak {
                room: "42".into(),
                user: 7
            },
            &Ask::MaySend { user: 7 },
            &Ask::Filter {
                text: "hello!".into()
            },
        ]
    );
    let pushed = out
        .iter()
        .position(|o| matches!(o, Output::PushRoom { .. }))
        .expect("a broadcast");
    let Output::PushRoom { room, op, body } = &out[pushed] else {
        unreachable!()
    };
    assert_eq!((room.as_str(), *op), ("42", op::MESSAGE));
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        body,
        json!({
            "type": "danmaku",
            "room_id": "live://42",
            "user": {"id": 7, "name": "ann"},
            // As the word filter left it.
            "text": "hello",
            "ts": EPOCH_MS + 3000,
        })
    );
    let reply = out
        .iter()
        .position(|o| matches!(o, Output::Send(_)))
        .unwrap();
    assert!(pushed < reply, "broadcast before the answer");
    assert_eq!(only_sent(&out, op::SEND_MSG_REPLY), json!({"ok": true}));
}

#[test]
fn outside_a_room_nothing_else_is_asked() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = signed_in(&mut host, t0);
    let out = host.feed(&mut s, at(t0, 1), vec![say("hi")]);
    assert_eq!(asks(&out), [&Ask::Room]);
    assert_eq!(code_of(&only_sent(&out, op::ERROR)), "not_in_room");
}

#[test]
fn a_text_empty_or_too_long_or_missing_is_refused_before_the_rules() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = in_room(&mut host, t0);
    let cases = [
        (say("   "), "bad_text"),
        (say("eleven char"), "bad_text"),
        (packet(op::SEND_MSG, 6, json!({"txt": "hi"})), "bad_body"),
        (
            Packet::new(op::SEND_MSG, 6, Bytes::from_static(b"\xff")),
            "bad_body",
        ),
    ];
    for (p, code) in cases {
        let out = host.feed(&mut s, at(t0, 1), vec![p]);
        assert_eq!(asks(&out), [&Ask::Room]);
        let refused = only_sent(&out, op::ERROR);
        assert_eq!(code_of(&refused), code);
        assert_eq!(refused["op"], op::SEND_MSG);
    }
    // Ten characters (not bytes) is the limit.
    let out = host.feed(&mut s, at(t0, 1), vec![say("éééééééééé")]);
    assert_eq!(sent(&out)[0].op, op::SEND_MSG_REPLY);
}

#[test]
fn a_muted_user_is_refused_with_the_end_of_the_mute() {
    let t0 = Instant::now();
    let mut host = Host {
        speak: Err(refusal("muted", Some(123))),
        ..Host::default()
    };
    let mut s = in_room(&mut host, t0);
    let out = host.feed(&mut s, at(t0, 1), vec![say("hi")]);
    assert!(
        !asks(&out).contains(&&Ask::MaySend { user: 7 }),
        "the rate is not spent"
    );
    assert_eq!(
        only_sent(&out, op::ERROR),
        json!({"code": "muted", "message": "muted!", "op": op::SEND_MSG, "until": 123})
    );
}

#[test]
fn over_the_rate_is_refused_and_nothing_is_broadcast() {
    let t0 = Instant::now();
    let mut host = Host {
        may_send: false,
        ..Host::default()
    };
    let mut s = in_room(&mut host, t0);
    let out = host.feed(&mut s, at(t0, 1), vec![say("hi")]);
    assert!(!out.iter().any(|o| matches!(o, Output::PushRoom { .. })));
    let refused = only_sent(&out, op::ERROR);
    assert_eq!(code_of(&refused), "rate_limited");
    assert_eq!(refused["message"], "slow down");
    assert!(s.is_open());
}

#[test]
fn words_the_filter_refuses_are_not_broadcast() {
    let t0 = Instant::now();
    let mut host = Host::default();
    let mut s = in_room(&mut host, t0);
    let out = host.feed(&mut s, at(t0, 1), vec![say("a badword")]);
    assert!(!out.iter().any(|o| matches!(o, Output::PushRoom { .. })));
    assert_eq!(code_of(&only_sent(&out, op::ERROR)), "sensitive_words");
}
