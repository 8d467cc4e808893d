//! Signing in: the first packet must be auth (op 7). Its token says who the client is
//! (or it is a guest), the connection is registered, joins the room the body names
//! (when the room's rules let it) and gets op 8 with its user id and goim key. Any
//! other first packet, a body that is not auth's, a token refused or a goim `mid` that
//! is not the token's user ends the connection with an op 24 saying why.

use serde_json::json;

use super::reply::error_packet;
use super::{Answer, Ask, Close, Last, Pending, Phase, Session};
use crate::gateway::policy::Refusal;
use crate::gateway::{Identity, Wire};
use crate::proto::{self, op, AuthBody, Packet};
use crate::ws::frame as wsf;

/// What the auth body asked for, kept while the session signs in; the token is not kept.
#[derive(Debug)]
pub(super) struct Request {
    /// The auth packet's sequence number, which op 8 carries back.
    seq: u32,
    /// goim's user id, which must be the token's.
    mid: Option<i64>,
    key: Option<String>,
    accepts: Vec<u32>,
    room: Option<String>,
}

/// Where signing in stands.
#[derive(Debug)]
pub(super) enum Step {
    /// The token is being checked.
    Token(Request),
    /// The connection of `who` is being registered.
    Register(Request, Identity),
    /// The room's rules are asked whether it may join.
    Join { seq: u32, room: String, key: String },
    /// The connection is moving into its room.
    Enter { seq: u32, key: String },
}

impl Session {
    /// The first packets: the first must be auth; the rest are served once signed in.
    pub(super) fn first_packets(&mut self, wire: Wire, packets: Vec<Packet>) {
        self.wire = wire;
        self.deadline = None;
        self.phase = Phase::SigningIn;
        let mut packets = packets.into_iter();
        let auth = match packets.next() {
            Some(p) if p.op == op::AUTH => p,
            other => {
                let ver = other.map_or(proto::VERSION, |p| p.ver);
                let why = "the first packet must be auth (op 7)";
                return self.refuse_sign_in(ver, 0, "auth_required", why);
            }
        };
        self.ver = auth.ver;
        self.queue.extend(packets);
        let body = match AuthBody::parse_with(&auth.body, self.config.url_token.as_deref()) {
            Ok(b) => b,
            Err(e) => return self.refuse_sign_in(auth.ver, auth.seq, e.code(), &e.to_string()),
        };
        let request = Request {
            seq: auth.seq,
            mid: body.mid,
            key: body.key.clone(),
            accepts: body.accepts.clone(),
            room: body.room(),
        };
        if body.guest {
            let guest = Identity {
                user_id: 0,
                name: "guest".into(),
                is_admin: false,
            };
            return self.authenticated(request, guest);
        }
        let token = body.token;
        self.ask(
            Ask::Authenticate { token },
            Pending::SignIn(Step::Token(request)),
        );
    }

    pub(super) fn resume_sign_in(
        &mut self,
        step: Step,
        answer: Answer,
    ) -> Result<(), super::UnexpectedAnswer> {
        match (step, answer) {
            (Step::Token(request), Answer::Identity(Ok(who))) => self.authenticated(request, who),
            (Step::Token(request), Answer::Identity(Err(e))) => {
                metrics::counter!("im_errors_total", "code" => e.code()).increment(1);
                self.refuse_sign_in(self.ver, request.seq, e.code(), &e.to_string());
            }
            (Step::Register(request, who), Answer::Registered { key }) => {
                self.registered(request, who, key)
            }
            (Step::Join { seq, room, key }, Answer::Policy(Ok(()))) => self.ask(
                Ask::ChangeRoom { room: Some(room) },
                Pending::SignIn(Step::Enter { seq, key }),
            ),
            (Step::Join { seq, key, .. }, Answer::Policy(Err(no))) => {
                self.signed_in(seq, &key, Some(no))
            }
            (Step::Enter { seq, key }, Answer::Online(_)) => self.signed_in(seq, &key, None),
            (step, _) => return self.unexpected(Pending::SignIn(step)),
        }
        Ok(())
    }

    /// The token is `who`'s: check goim's `mid`, then register.
    fn authenticated(&mut self, request: Request, who: Identity) {
        // goim's client says who it is; it must be who the token says.
        if request.mid.is_some_and(|mid| mid != who.user_id) {
            metrics::counter!("im_errors_total", "code" => "mid_mismatch").increment(1);
            let why = "\"mid\" is not the user the token belongs to";
            return self.refuse_sign_in(self.ver, request.seq, "mid_mismatch", why);
        }
        let register = Ask::Register {
            user_id: who.user_id,
            accepts: request.accepts.clone(),
            key: request.key.clone(),
        };
        self.ask(register, Pending::SignIn(Step::Register(request, who)));
    }

    /// Registered: join before answering, so that a client holding op 8 is in its room.
    fn registered(&mut self, request: Request, who: Identity, key: String) {
        let user = who.user_id;
        self.who = Some(who);
        // What the room sends (its recent messages first) is held back until the answer
        // is written.
        self.outputs.push_back(super::Output::Hold);
        match request.room {
            Some(room) => self.ask(
                Ask::MayJoin {
                    room: room.clone(),
                    user,
                },
                Pending::SignIn(Step::Join {
                    seq: request.seq,
                    room,
                    key,
                }),
            ),
            None => self.signed_in(request.seq, &key, None),
        }
    }

    /// Op 8, then (signed in either way) why the room was refused, if it was: a refused
    /// join leaves the connection in no room.
    fn signed_in(&mut self, seq: u32, key: &str, refused: Option<Refusal>) {
        // The reply's body says who the connection is: goim's clients ignore it.
        self.reply_json(op::AUTH_REPLY, seq, json!({"mid": self.user(), "key": key}));
        if let Some(no) = refused {
            self.refuse_policy(seq, op::AUTH, &no);
        }
        self.outputs.push_back(super::Output::Release);
        self.phase = Phase::Open;
        self.deadline = Some(self.now.instant + self.config.heartbeat_timeout);
    }

    /// Signing in failed: an op 24 saying why, then close.
    fn refuse_sign_in(&mut self, ver: u16, seq: u32, code: &str, message: &str) {
        self.close(Close {
            code: wsf::CLOSE_POLICY,
            last: Some(Last {
                packet: error_packet(ver, seq, code, message),
                wait: false,
            }),
            error: None,
        });
    }
}
