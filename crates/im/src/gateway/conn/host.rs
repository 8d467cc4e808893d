//! The session's questions, answered for one connection: from the gateway's memory
//! (its room, the rate limit, the word filter), or by the app through the gateway's
//! traits (the token, the room's rules, conversations, the inbox).

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::watch;

use super::Sink;
use crate::gateway::history::HistoryError;
use crate::gateway::session::{Answer, Ask};
use crate::gateway::{Gateway, Wire};

/// One connection's place in the gateway.
pub(super) struct Host {
    pub(super) gw: Arc<Gateway>,
    link: Sink,
    client: Option<IpAddr>,
    /// The connection's id, once registered.
    pub(super) id: Option<u64>,
    /// Changes when the server disconnects the connection, once registered.
    pub(super) kicked: Option<watch::Receiver<crate::gateway::Kick>>,
}

impl Host {
    pub(super) fn new(gw: Arc<Gateway>, link: Sink, client: Option<IpAddr>) -> Host {
        Host {
            gw,
            link,
            client,
            id: None,
            kicked: None,
        }
    }

    /// The answer to `ask`, for a connection speaking `wire`.
    pub(super) async fn answer(&mut self, ask: Ask, wire: Wire) -> Answer {
        // No connection has id 0: before registering, the gateway knows nothing of it.
        let id = self.id.unwrap_or(0);
        let gw = &self.gw;
        match ask {
            Ask::Authenticate { token } => {
                Answer::Identity(gw.authenticator().authenticate(&token).await)
            }
            Ask::Register {
                user_id,
                accepts,
                key,
            } => {
                let link = self.link.clone();
                let reg = gw.register(user_id, self.client, accepts, link, wire, key.as_deref());
                self.id = Some(reg.id);
                self.kicked = Some(reg.kicked);
                if let Some(heard) = reg.heard {
                    heard.await;
                }
                Answer::Registered { key: reg.key }
            }
            Ask::MayJoin { room, user } => Answer::Policy(match gw.policy() {
                Some(policy) => policy.may_join(&room, user).await,
                None => Ok(()),
            }),
            Ask::MaySpeak { room, user } => Answer::Policy(match gw.policy() {
                Some(policy) => policy.may_speak(&room, user).await,
                None => Ok(()),
            }),
            Ask::ChangeRoom { room } => {
                let joining = match &room {
                    Some(room) => Some(gw.prepare_room(room).await),
                    None => None,
                };
                let online = gw.change_room(id, room.as_deref());
                drop(joining);
                Answer::Online(online)
            }
            Ask::Online => Answer::Online(gw.room_of(id).map(|r| gw.online(&r)).unwrap_or(0)),
            Ask::Room => Answer::Room(gw.room_of(id)),
            Ask::MaySend { user } => Answer::MaySend(gw.may_send_everywhere(user).await),
            Ask::Filter { text } => Answer::Filtered(gw.words().apply(&text).map(Cow::into_owned)),
            Ask::UpdateAccepts { ops, add } => Answer::Accepts(gw.update_accepts(id, &ops, add)),
            Ask::Sync {
                user,
                positions,
                limit,
            } => Answer::Synced(match gw.history() {
                Some(h) => h.sync(user, positions, limit).await,
                None => Err(not_served()),
            }),
            Ask::Read {
                user,
                conversation_id,
                seq,
            } => Answer::Position(match gw.history() {
                Some(h) => h.read(user, conversation_id, seq).await,
                None => Err(not_served()),
            }),
            Ask::Ack {
                user,
                conversation_id,
                seq,
            } => Answer::Position(match gw.history() {
                Some(h) => h.ack(user, conversation_id, seq).await,
                None => Err(not_served()),
            }),
            Ask::SendMessage {
                user,
                conversation_id,
                message,
            } => Answer::Stored(match gw.history() {
                Some(h) => h.send(user, conversation_id, message).await,
                None => Err(not_served()),
            }),
            Ask::InboxSync {
                user,
                after_seq,
                limit,
            } => Answer::Inbox(match gw.inbox() {
                Some(inbox) => inbox.sync(user, after_seq, limit).await,
                None => Err(not_served()),
            }),
            Ask::InboxRead { user, seq } => Answer::InboxRead(match gw.inbox() {
                Some(inbox) => inbox.read(user, seq).await,
                None => Err(not_served()),
            }),
        }
    }
}

/// What a question to a part of the app this gateway lacks gets. The session asks only
/// of those it was told are there, so this is not seen.
fn not_served() -> HistoryError {
    HistoryError {
        code: "unavailable",
        message: "not served here".into(),
        until: None,
    }
}
