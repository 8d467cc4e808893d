//! The gateway: live connections by user and by room, and the ways to reach them.
//!
//! A room broadcast builds one [`Outgoing`] (encoded at most once per wire format) and
//! offers a pointer to every member's bounded queue with `try_send`; a member whose queue
//! is full loses that message (counted in `im_dropped_total`) and never slows the room.
//! The registry lock is held only for those `try_send`s, never across an `.await`.
//! With `fanout = naive` (for benchmarks only) every member gets its own copy of the
//! body, encoded for it alone: one allocation and one encoding per recipient instead of
//! per message.

pub mod auth;
pub mod config;
pub mod conn;
pub mod history;
pub mod http;
pub mod inbox;
pub mod moderation;
pub mod outgoing;
pub mod policy;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::{mpsc, watch};

pub use auth::{AuthError, AuthFuture, Authenticator, Identity, StaticTokens};
pub use config::{Fanout, GatewayConfig};
pub use outgoing::Outgoing;

/// A connection as the registry sees it.
struct Conn {
    user_id: i64,
    tx: mpsc::Sender<Arc<Outgoing>>,
    room: Option<String>,
    /// Operations the client wants; empty means all.
    accepts: Vec<u32>,
    /// Set to true to make the connection close itself.
    kick: watch::Sender<bool>,
}

impl Conn {
    fn wants(&self, op: u32) -> bool {
        self.accepts.is_empty() || self.accepts.contains(&op)
    }

    /// Offers `msg`; returns whether it was queued. With [`Fanout::Naive`] the
    /// connection gets a copy of its own rather than the shared message.
    fn offer(&self, msg: &Arc<Outgoing>, fanout: Fanout) -> bool {
        if !self.wants(msg.op) {
            return false;
        }
        let msg = match fanout {
            Fanout::Shared => msg.clone(),
            Fanout::Naive => Arc::new(msg.copy()),
        };
        match self.tx.try_send(msg) {
            Ok(()) => true,
            Err(_) => {
                metrics::counter!("im_dropped_total").increment(1);
                false
            }
        }
    }
}

#[derive(Default)]
struct Room {
    members: Vec<u64>,
    recent: VecDeque<Arc<Outgoing>>,
}

#[derive(Default)]
struct Registry {
    conns: HashMap<u64, Conn>,
    by_user: HashMap<i64, Vec<u64>>,
    rooms: HashMap<String, Room>,
}

/// The chat gateway of this process. Cheap to share (`Arc`).
pub struct Gateway {
    config: GatewayConfig,
    history: std::sync::OnceLock<Arc<dyn history::History>>,
    inbox: std::sync::OnceLock<Arc<dyn inbox::Inbox>>,
    policy: std::sync::OnceLock<Arc<dyn policy::RoomPolicy>>,
    /// Swapped whole when operators edit the list; readers clone the `Arc` and let go.
    words: std::sync::RwLock<Arc<moderation::WordFilter>>,
    auth: Arc<dyn Authenticator>,
    registry: Mutex<Registry>,
    next_conn: AtomicU64,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What a new connection gets from [`Gateway::register`].
pub(crate) struct Registration {
    pub id: u64,
    pub rx: mpsc::Receiver<Arc<Outgoing>>,
    pub kicked: watch::Receiver<bool>,
}

impl Gateway {
    pub fn new(config: GatewayConfig, auth: Arc<dyn Authenticator>) -> Arc<Gateway> {
        Arc::new(Gateway {
            history: std::sync::OnceLock::new(),
            inbox: std::sync::OnceLock::new(),
            policy: std::sync::OnceLock::new(),
            words: std::sync::RwLock::new(Arc::new(moderation::WordFilter::new(
                &config.sensitive_words,
                config.sensitive_mode,
            ))),
            config,
            auth,
            registry: Mutex::new(Registry::default()),
            next_conn: AtomicU64::new(1),
        })
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// Connects the app's stored conversations (for sync and read over the socket).
    pub fn set_history(&self, history: Arc<dyn history::History>) {
        let _ = self.history.set(history);
    }

    pub fn history(&self) -> Option<&Arc<dyn history::History>> {
        self.history.get()
    }

    /// Connects the app's notifications inbox (for its sync and read over the socket).
    pub fn set_inbox(&self, inbox: Arc<dyn inbox::Inbox>) {
        let _ = self.inbox.set(inbox);
    }

    pub fn inbox(&self) -> Option<&Arc<dyn inbox::Inbox>> {
        self.inbox.get()
    }

    /// Connects the app's room rules (mutes and kicks), asked before a member speaks or
    /// a connection joins.
    pub fn set_policy(&self, policy: Arc<dyn policy::RoomPolicy>) {
        let _ = self.policy.set(policy);
    }

    pub fn policy(&self) -> Option<&Arc<dyn policy::RoomPolicy>> {
        self.policy.get()
    }

    /// The sensitive-word filter room messages pass through now.
    pub fn words(&self) -> Arc<moderation::WordFilter> {
        self.words.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the word list (the configured words plus `extra`, e.g. those operators
    /// keep in the database); the mode stays as configured. Messages already past the
    /// filter are not affected.
    pub fn set_words(&self, extra: &[String]) {
        let mut words = self.config.sensitive_words.clone();
        words.extend(extra.iter().cloned());
        let filter = Arc::new(moderation::WordFilter::new(
            &words,
            self.config.sensitive_mode,
        ));
        *self.words.write().unwrap_or_else(|p| p.into_inner()) = filter;
    }

    pub fn authenticator(&self) -> &dyn Authenticator {
        &*self.auth
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn register(&self, user_id: i64, accepts: Vec<u32>) -> Registration {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.config.queue.max(8));
        let (kick, kicked) = watch::channel(false);
        let mut r = self.registry();
        r.conns.insert(
            id,
            Conn {
                user_id,
                tx,
                room: None,
                accepts,
                kick,
            },
        );
        // Guests (user 0) are not anyone: nothing is pushed to them by user.
        if user_id != 0 {
            r.by_user.entry(user_id).or_default().push(id);
        }
        metrics::gauge!("im_connections").increment(1.0);
        Registration { id, rx, kicked }
    }

    pub(crate) fn unregister(&self, id: u64) {
        let mut r = self.registry();
        let Some(conn) = r.conns.remove(&id) else {
            return;
        };
        if let Some(room) = &conn.room {
            leave_room(&mut r, room, id);
        }
        if let Some(list) = r.by_user.get_mut(&conn.user_id) {
            list.retain(|c| *c != id);
            if list.is_empty() {
                r.by_user.remove(&conn.user_id);
            }
        }
        metrics::gauge!("im_connections").decrement(1.0);
    }

    /// Adds `ops` to (or removes them from) the operations connection `id` accepts;
    /// returns the set now in force (empty: everything).
    pub(crate) fn update_accepts(&self, id: u64, ops: &[u32], add: bool) -> Vec<u32> {
        let mut r = self.registry();
        let Some(c) = r.conns.get_mut(&id) else {
            return Vec::new();
        };
        if add {
            for op in ops {
                if !c.accepts.contains(op) {
                    c.accepts.push(*op);
                }
            }
        } else {
            c.accepts.retain(|op| !ops.contains(op));
        }
        c.accepts.clone()
    }

    /// Moves connection `id` into `room` (or out of any with `None`); queues the room's
    /// recent messages for it. Returns the room's online count.
    pub(crate) fn change_room(&self, id: u64, room: Option<&str>) -> u32 {
        let mut r = self.registry();
        let Some(old) = r.conns.get_mut(&id).map(|c| c.room.take()) else {
            return 0;
        };
        if let Some(old) = old {
            leave_room(&mut r, &old, id);
        }
        let Some(room) = room else {
            return 0;
        };
        let entry = r.rooms.entry(room.to_string()).or_default();
        entry.members.push(id);
        let recent: Vec<Arc<Outgoing>> = entry.recent.iter().cloned().collect();
        let online = entry.members.len() as u32;
        if let Some(c) = r.conns.get_mut(&id) {
            c.room = Some(room.to_string());
            for m in &recent {
                c.offer(m, self.config.fanout);
            }
        }
        online
    }

    /// The room connection `id` is in.
    pub(crate) fn room_of(&self, id: u64) -> Option<String> {
        self.registry().conns.get(&id).and_then(|c| c.room.clone())
    }

    /// Connections in `room` now.
    pub fn online(&self, room: &str) -> u32 {
        self.registry()
            .rooms
            .get(room)
            .map(|r| r.members.len() as u32)
            .unwrap_or(0)
    }

    /// The busiest rooms, most members first.
    pub fn top_rooms(&self, limit: usize) -> Vec<(String, u32)> {
        let r = self.registry();
        let mut v: Vec<(String, u32)> = r
            .rooms
            .iter()
            .map(|(k, room)| (k.clone(), room.members.len() as u32))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(limit);
        v
    }

    /// Sends `body` (JSON) with `op` to everyone in `room`, and keeps it among the
    /// room's recent messages. Returns how many connections it was queued for.
    pub fn push_room(&self, room: &str, op: u32, body: Bytes) -> usize {
        let msg = Arc::new(Outgoing::new(op, body));
        let mut r = self.registry();
        let Registry { conns, rooms, .. } = &mut *r;
        let Some(target) = rooms.get_mut(room) else {
            return 0;
        };
        target.recent.push_back(msg.clone());
        while target.recent.len() > self.config.room_recent {
            target.recent.pop_front();
        }
        let mut queued = 0;
        for id in &target.members {
            if let Some(c) = conns.get(id) {
                queued += c.offer(&msg, self.config.fanout) as usize;
            }
        }
        metrics::counter!("im_deliveries_total", "kind" => "room").increment(queued as u64);
        queued
    }

    /// Sends to every connection of each user in `users`.
    pub fn push_users(&self, users: &[i64], op: u32, body: Bytes) -> usize {
        let msg = Arc::new(Outgoing::new(op, body));
        let r = self.registry();
        let mut queued = 0;
        for user in users {
            for id in r.by_user.get(user).into_iter().flatten() {
                if let Some(c) = r.conns.get(id) {
                    queued += c.offer(&msg, self.config.fanout) as usize;
                }
            }
        }
        metrics::counter!("im_deliveries_total", "kind" => "user").increment(queued as u64);
        queued
    }

    /// Sends to every connection.
    pub fn push_all(&self, op: u32, body: Bytes) -> usize {
        let msg = Arc::new(Outgoing::new(op, body));
        let r = self.registry();
        let queued = r
            .conns
            .values()
            .map(|c| c.offer(&msg, self.config.fanout) as usize)
            .sum();
        metrics::counter!("im_deliveries_total", "kind" => "all").increment(queued as u64);
        queued
    }

    /// Which of `users` have a connection to this node now, in the order given; lets a
    /// fan-out build messages only for those who can receive them.
    pub fn connected(&self, users: &[i64]) -> Vec<i64> {
        let r = self.registry();
        users
            .iter()
            .copied()
            .filter(|u| r.by_user.contains_key(u))
            .collect()
    }

    /// Takes every connection of `user` that is in `room` out of it (they stay open),
    /// and sends each `notice` as an op 13 (change room reply) with `seq` 0, whatever
    /// operations it accepts. Returns how many connections left the room.
    pub fn remove_from_room(&self, room: &str, user: i64, notice: Bytes) -> usize {
        let msg = Arc::new(Outgoing::new(crate::proto::op::CHANGE_ROOM_REPLY, notice));
        let mut r = self.registry();
        let ids: Vec<u64> = r
            .by_user
            .get(&user)
            .into_iter()
            .flatten()
            .copied()
            .filter(|id| r.conns.get(id).and_then(|c| c.room.as_deref()) == Some(room))
            .collect();
        for id in &ids {
            leave_room(&mut r, room, *id);
            if let Some(c) = r.conns.get_mut(id) {
                c.room = None;
                // A notice about the connection itself, not a push: no accepts filter.
                if c.tx.try_send(msg.clone()).is_err() {
                    metrics::counter!("im_dropped_total").increment(1);
                }
            }
        }
        ids.len()
    }

    /// Closes every connection of `user` (after a ban); returns how many.
    pub fn disconnect_user(&self, user: i64) -> usize {
        let r = self.registry();
        let ids = r.by_user.get(&user).cloned().unwrap_or_default();
        for id in &ids {
            if let Some(c) = r.conns.get(id) {
                let _ = c.kick.send(true);
            }
        }
        ids.len()
    }

    /// Connections now.
    pub fn connection_count(&self) -> usize {
        self.registry().conns.len()
    }
}

fn leave_room(r: &mut Registry, room: &str, id: u64) {
    if let Some(entry) = r.rooms.get_mut(room) {
        if let Some(i) = entry.members.iter().position(|m| *m == id) {
            entry.members.swap_remove(i);
        }
        if entry.members.is_empty() {
            r.rooms.remove(room);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway() -> Arc<Gateway> {
        Gateway::new(GatewayConfig::default(), Arc::new(StaticTokens(Vec::new())))
    }

    #[test]
    fn only_connected_users_are_reported_connected() {
        let gw = gateway();
        let _a = gw.register(1, Vec::new());
        let _b = gw.register(3, Vec::new());
        assert_eq!(gw.connected(&[3, 2, 1, 4]), [3, 1]);
        assert!(gw.connected(&[]).is_empty());
    }

    #[test]
    fn a_user_removed_from_a_room_leaves_only_that_room_and_is_told_so() {
        let gw = gateway();
        let mut in_room = gw.register(7, vec![1000]);
        let mut elsewhere = gw.register(7, Vec::new());
        let mut other_user = gw.register(8, Vec::new());
        gw.change_room(in_room.id, Some("5"));
        gw.change_room(elsewhere.id, Some("6"));
        gw.change_room(other_user.id, Some("5"));
        assert_eq!(gw.online("5"), 2);

        let removed = gw.remove_from_room("5", 7, Bytes::from_static(b"{\"room_id\":null}"));
        assert_eq!(removed, 1);
        assert_eq!(gw.online("5"), 1);
        assert_eq!(gw.room_of(in_room.id), None);
        assert_eq!(gw.room_of(elsewhere.id).as_deref(), Some("6"));
        // The notice reaches the connection even though it accepts only op 1000.
        let notice = in_room.rx.try_recv().expect("a notice");
        assert_eq!(notice.op, crate::proto::op::CHANGE_ROOM_REPLY);
        assert!(elsewhere.rx.try_recv().is_err());
        assert!(other_user.rx.try_recv().is_err());
        // Room messages no longer reach it.
        gw.push_room("5", 1000, Bytes::from_static(b"{}"));
        assert!(in_room.rx.try_recv().is_err());
        assert!(other_user.rx.try_recv().is_ok());
    }

    /// Two members of one room receive what `fanout` gives them for one push.
    fn deliver_to_two(fanout: Fanout) -> (Arc<Outgoing>, Arc<Outgoing>) {
        let config = GatewayConfig {
            fanout,
            ..GatewayConfig::default()
        };
        let gw = Gateway::new(config, Arc::new(StaticTokens(Vec::new())));
        let mut a = gw.register(1, Vec::new());
        let mut b = gw.register(2, Vec::new());
        gw.change_room(a.id, Some("9"));
        gw.change_room(b.id, Some("9"));
        let queued = gw.push_room("9", 1000, Bytes::from_static(b"{\"text\":\"hi\"}"));
        assert_eq!(queued, 2);
        (a.rx.try_recv().unwrap(), b.rx.try_recv().unwrap())
    }

    #[test]
    fn naive_and_shared_fanout_deliver_the_same_bytes() {
        let (shared_a, shared_b) = deliver_to_two(Fanout::Shared);
        let (naive_a, naive_b) = deliver_to_two(Fanout::Naive);
        for m in [&shared_b, &naive_a, &naive_b] {
            assert_eq!(m.op, shared_a.op);
            assert_eq!(m.binary(), shared_a.binary());
            assert_eq!(m.text(), shared_a.text());
        }
        // Shared: one message, one encoding, for everyone.
        assert!(Arc::ptr_eq(&shared_a, &shared_b));
        assert_eq!(shared_a.binary().as_ptr(), shared_b.binary().as_ptr());
        // Naive: each member has its own copy of the body and its own encoding.
        assert!(!Arc::ptr_eq(&naive_a, &naive_b));
        assert_ne!(naive_a.body.as_ptr(), naive_b.body.as_ptr());
        assert_ne!(naive_a.binary().as_ptr(), naive_b.binary().as_ptr());
    }
}
