//! What this node does with the events its sockets and streams must hear: the bridge
//! from the bus to the chat gateway and the media hub. The contexts publish; nothing in
//! them calls the gateway or the hub to tell anyone anything.
//!
//! Two loops, one per delivery class (see [`crate::events`]):
//!
//! - **pushes** (at most once): a gift's announcement, a room going live or offline, a
//!   conversation's message or recall, a notification, an announcement. A full queue
//!   drops (counted by the bus) and clients resync from history.
//! - **moderation** (durable, through the outbox): a ban closes the account's sockets,
//!   a stream cut disconnects the publisher and closes the players, a kick takes the
//!   user's sockets out of the room. With them (at most once, but on the same loop):
//!   an origin that moved cuts the old publisher, and a keyframe wanted by a viewer on
//!   another node reaches the stream's publisher here. Each is idempotent; when its
//!   queue overflowed, the loop resyncs from the database (see [`resync`]).
//!
//! An event reaches the gateway a moment after its publisher's commit, on this loop's
//! task: a gift's announcement may reach the room before or after the sender's 201, and
//! nothing depends on which.

use std::sync::Arc;

use bus::{Delivery, Event, Message};
use bytes::Bytes;
use serde_json::json;
use store::sql::params;
use tokio::task::JoinHandle;

use crate::admin::events::UserBanned;
use crate::chat::events::{MessageAppended, MessageRecalled};
use crate::gifts::events::GiftGiven;
use crate::live::events::{
    KeyframeWanted, MemberKicked, OriginMoved, RoomWentLive, RoomWentOffline, StreamCut,
};
use crate::nodes::{Pushed, To};
use crate::notifications::events::{Announced, Notified};
use crate::AppState;
use ::identity::users::changes::UserChanged;
use ::live::rooms::rule_changes::MuteChanged;
use api::events::social::GraphChanged;
use im::gateway::Gateway;
use im::proto::op;

/// Messages a pushes queue holds before it drops.
pub const PUSH_QUEUE: usize = 65_536;
/// Moderation events a queue holds before the loop must resync.
pub const MODERATION_QUEUE: usize = 4_096;

/// Subscribes this node's gateway (and hub) to the events they act on and runs the two
/// loops. Once this returns, every event published is acted on.
///
/// On a bus that spans nodes, the gateway is linked to the other nodes
/// ([`crate::nodes`]): a room's events are heard only while this node has members
/// there, and a user's while they have a connection here, so the pushes loop starts
/// without the rooms' and the users' wildcards.
pub async fn start(state: &AppState) -> Result<Vec<JoinHandle<()>>, bus::BusError> {
    let Some(gw) = state.chat().cloned() else {
        return Ok(Vec::new());
    };
    let cluster = state.bus().spans_nodes();
    let patterns: &[&'static str] = if cluster {
        &["momo.ctx.notifications.>", "momo.ctx.gateway.>"]
    } else {
        &["momo.room.>", "momo.user.>", "momo.ctx.notifications.>"]
    };
    let mut pushes = Vec::new();
    for p in patterns {
        pushes.push(crate::events::subscribe(state, p, None, PUSH_QUEUE).await?);
    }
    let mut moderation = Vec::new();
    for p in [
        "momo.user.*.banned",
        "momo.room.*.cut",
        "momo.room.*.kick",
        "momo.room.*.origin",
        "momo.room.*.keyframe",
    ] {
        moderation.push(crate::events::subscribe(state, p, None, MODERATION_QUEUE).await?);
    }
    let (push_tx, push_rx) = bus::merge(pushes, 64);
    let mut tasks = Vec::new();
    let node = cluster.then(|| {
        let node = crate::nodes::node_name();
        let keep = gw.config().room_recent;
        let nodes = crate::nodes::BusNodes::new(state.0.bus.clone(), node.clone(), push_tx, keep);
        state
            .live()
            .set_audience_elsewhere(Arc::new(nodes.players_elsewhere()));
        tasks.push(nodes.keep_online(state.clone(), Arc::downgrade(&gw)));
        gw.set_nodes(Arc::new(nodes));
        node
    });
    let push_loop = tokio::spawn(run(state.clone(), gw.clone(), push_rx, Class::Push, node));
    let (_, moderation_rx) = bus::merge(moderation, 64);
    let moderation_loop = tokio::spawn(run(
        state.clone(),
        gw,
        moderation_rx,
        Class::Moderation,
        None,
    ));
    tasks.extend([push_loop, moderation_loop]);
    Ok(tasks)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Push,
    Moderation,
}

/// Takes deliveries from `rx` until every sender has gone. `node` is this node's name
/// on a bus that spans nodes (its own pushes come back and are skipped).
async fn run(
    state: AppState,
    gw: Arc<Gateway>,
    mut rx: tokio::sync::mpsc::Receiver<Delivery>,
    class: Class,
    node: Option<String>,
) {
    let mut relay = Relay {
        state,
        gw,
        last_body: None,
        node,
    };
    while let Some(d) = rx.recv().await {
        match d {
            Delivery::Message(m) if class == Class::Push => relay.push(&m),
            Delivery::Message(m) => relay.moderate(&m).await,
            Delivery::Lagged(n) if class == Class::Push => {
                tracing::warn!(
                    missed = n,
                    "chat pushes dropped: clients resync from history"
                );
            }
            Delivery::Lagged(n) => {
                tracing::error!(missed = n, "moderation events dropped: resyncing");
                if let Err(e) = resync(&relay.state, &relay.gw).await {
                    tracing::error!("cannot resync moderation after a gap: {e}");
                }
            }
        }
    }
}

struct Relay {
    state: AppState,
    gw: Arc<Gateway>,
    /// The last per-user event and the body it became: one event published to many
    /// members' subjects is the same bytes, decoded once.
    last_body: Option<(Bytes, Bytes)>,
    /// This node's name, in a cluster.
    node: Option<String>,
}

impl Relay {
    /// Decodes `m` as an `E`, counting (and skipping) what this node cannot read.
    fn read<E: Event>(m: &Message) -> Option<E> {
        bus::decode::<E>(&m.payload).ok()
    }

    fn push(&mut self, m: &Message) {
        let kind = match bus::kind_of(&m.payload) {
            Ok(kind) => kind,
            Err(e) => return bus::skipped(&e),
        };
        match kind.as_str() {
            GiftGiven::KIND => {
                if let Some(g) = Self::read::<GiftGiven>(m) {
                    let body = json!({
                        "type": "gift",
                        "room_id": g.room_id,
                        "sender": g.sender,
                        "gift": g.gift,
                        "count": g.count,
                        "coins": g.coins,
                        "created_at": g.created_at,
                    });
                    self.to_room(g.room_id, body);
                }
            }
            RoomWentLive::KIND => {
                if let Some(e) = Self::read::<RoomWentLive>(m).filter(|e| !e.session_resumed) {
                    self.to_room(
                        e.room_id,
                        json!({"type": "live_started", "room_id": e.room_id}),
                    );
                }
            }
            RoomWentOffline::KIND => {
                if let Some(e) = Self::read::<RoomWentOffline>(m) {
                    self.to_room(
                        e.room_id,
                        json!({"type": "live_ended", "room_id": e.room_id}),
                    );
                }
            }
            MessageAppended::KIND | MessageRecalled::KIND => self.conversation(m, &kind),
            Notified::KIND => {
                if let Some(n) = Self::read::<Notified>(m) {
                    let actor = n.actor_id.map_or_else(|| "null".into(), |a| a.to_string());
                    let kind = serde_json::to_string(&n.kind).unwrap_or_default();
                    let body = format!(
                        "{{\"seq\":{},\"kind\":{kind},\"actor_id\":{actor},\"payload\":{},\"created_at\":{}}}",
                        n.seq,
                        n.payload.get(),
                        n.created_at
                    );
                    self.gw
                        .push_users(&[n.user_id], op::NOTIFICATION, Bytes::from(body));
                }
            }
            Announced::KIND => {
                if let Some(a) = Self::read::<Announced>(m) {
                    let body = json!({
                        "seq": null,
                        "kind": "announcement",
                        "actor_id": null,
                        "payload": {
                            "announcement_id": a.announcement_id,
                            "title": a.title,
                            "body": a.body,
                        },
                        "created_at": a.created_at,
                    });
                    self.gw
                        .push_all(op::NOTIFICATION, Bytes::from(body.to_string()));
                }
            }
            Pushed::KIND => {
                if let Some(p) = Self::read::<Pushed>(m) {
                    self.pushed(p);
                }
            }
            // Durable events, acted on by the moderation loop.
            UserBanned::KIND
            | StreamCut::KIND
            | MemberKicked::KIND
            | OriginMoved::KIND
            | KeyframeWanted::KIND => {}
            // Events on the same subjects for other subscribers (cache drops).
            GraphChanged::KIND | UserChanged::KIND | MuteChanged::KIND => {}
            _ => bus::skipped(&bus::DecodeError::UnknownKind(kind)),
        }
    }

    /// What another node pushed to its own sockets, for this node's.
    fn pushed(&self, p: Pushed) {
        if self.node.as_deref() == Some(p.node.as_str()) {
            return;
        }
        let Some(body) = p.body() else {
            return bus::skipped(&bus::DecodeError::Malformed(
                "a push with a bad body".into(),
            ));
        };
        match p.to {
            To::Room(room) => {
                self.gw.push_room(&room, p.op, body);
            }
            To::User(user) => {
                self.gw.push_users(&[user], p.op, body);
            }
            To::Keys(keys) => {
                self.gw.push_keys(&keys, p.op, body);
            }
            To::All => {
                self.gw.push_all(p.op, body);
            }
        }
    }

    fn to_room(&self, room: i64, body: serde_json::Value) {
        self.gw.push_room(
            &room.to_string(),
            op::MESSAGE,
            Bytes::from(body.to_string()),
        );
    }

    /// A conversation's message or recall, published to each member's subject.
    fn conversation(&mut self, m: &Message, kind: &str) {
        let Some(user) = m.subject.numeric_id() else {
            return;
        };
        let same = self.last_body.as_ref().filter(|(payload, _)| {
            payload.as_ptr() == m.payload.as_ptr() && payload.len() == m.payload.len()
        });
        let body = match same {
            Some((_, body)) => body.clone(),
            None => {
                let body = if kind == MessageAppended::KIND {
                    let Some(e) = Self::read::<MessageAppended>(m) else {
                        return;
                    };
                    json!({"type": "message", "message": e.message})
                } else {
                    let Some(e) = Self::read::<MessageRecalled>(m) else {
                        return;
                    };
                    json!({
                        "type": "recall", "conversation_id": e.conversation_id, "seq": e.seq,
                        "recalled_at": e.recalled_at, "recalled_by": e.recalled_by,
                    })
                };
                let body = Bytes::from(body.to_string());
                self.last_body = Some((m.payload.clone(), body.clone()));
                body
            }
        };
        self.gw.push_users(&[user], op::MESSAGE, body);
    }

    async fn moderate(&mut self, m: &Message) {
        let kind = match bus::kind_of(&m.payload) {
            Ok(kind) => kind,
            Err(e) => return bus::skipped(&e),
        };
        match kind.as_str() {
            UserBanned::KIND => {
                if let Some(b) = Self::read::<UserBanned>(m) {
                    self.state.user_cache().forget_user(b.user_id);
                    self.gw.disconnect_user(b.user_id);
                }
            }
            StreamCut::KIND => {
                if let Some(c) = Self::read::<StreamCut>(m) {
                    cut_here(&self.state, c.room_id);
                    let body =
                        json!({"type": "live_cut", "room_id": c.room_id, "reason": c.reason});
                    self.to_room(c.room_id, body);
                }
            }
            MemberKicked::KIND => {
                if let Some(k) = Self::read::<MemberKicked>(m) {
                    kick_here(&self.state, &self.gw, k.room_id, k.user_id, k.until);
                }
            }
            OriginMoved::KIND => {
                if let Some(o) = Self::read::<OriginMoved>(m) {
                    crate::live::origins::let_go_if_moved(self.state.live(), o.room_id, &o.node);
                }
            }
            KeyframeWanted::KIND => {
                if let (Some(k), Some(hub)) = (Self::read::<KeyframeWanted>(m), self.state.media())
                {
                    hub.want_keyframe_here(&k.room_id.to_string());
                }
            }
            _ => bus::skipped(&bus::DecodeError::UnknownKind(kind)),
        }
    }
}

/// Disconnects room `room`'s publisher and closes its players, if it streams here.
fn cut_here(state: &AppState, room: i64) {
    if let Some(hub) = state.media() {
        hub.cut(&room.to_string());
    }
}

/// Takes `user`'s connections to this node out of room `room` until `until`.
fn kick_here(state: &AppState, gw: &Gateway, room: i64, user: i64, until: i64) {
    // Refuse the rejoin before taking them out, so a quick rejoin cannot slip through.
    state.live().room_rules().forget(room, user);
    let notice = json!({
        "room_id": null,
        "online": 0,
        "kicked": {"room_id": format!("live://{room}"), "until": until},
    });
    gw.remove_from_room(&room.to_string(), user, Bytes::from(notice.to_string()));
}

/// After moderation events were dropped: closes the sockets of banned accounts, cuts
/// the streams of banned rooms and takes kicked users out of their rooms, as the
/// database says now.
pub async fn resync(state: &AppState, gw: &Gateway) -> crate::error::Result<()> {
    let pool = state.store().pool();
    for chunk in gw.connected_users().chunks(400) {
        let sql = format!(
            "SELECT id FROM users WHERE status = 'banned' AND id IN ({})",
            params(1, chunk.len())
        );
        let mut q = sqlx::query_scalar(&sql);
        for u in chunk {
            q = q.bind(*u);
        }
        let banned: Vec<i64> = q.fetch_all(pool).await?;
        for user in banned {
            state.user_cache().forget_user(user);
            gw.disconnect_user(user);
        }
        let sql = format!(
            "SELECT room_id, user_id, until_ms FROM room_kicks \
             WHERE until_ms > $1 AND user_id IN ({})",
            params(2, chunk.len())
        );
        let mut q = sqlx::query_as(&sql).bind(kit::time::now_ms());
        for u in chunk {
            q = q.bind(*u);
        }
        let kicks: Vec<(i64, i64, i64)> = q.fetch_all(pool).await?;
        for (room, user, until) in kicks {
            if gw.connections_in_room(&room.to_string(), user) > 0 {
                kick_here(state, gw, room, user, until);
            }
        }
    }
    if let Some(hub) = state.media() {
        for key in hub.keys() {
            let Ok(room) = key.parse::<i64>() else {
                continue;
            };
            let banned: Option<i64> =
                sqlx::query_scalar("SELECT banned FROM live_rooms WHERE id = $1")
                    .bind(room)
                    .fetch_optional(pool)
                    .await?;
            if banned.unwrap_or(0) != 0 {
                cut_here(state, room);
            }
        }
    }
    Ok(())
}
