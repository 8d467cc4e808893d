//! The gateway: live connections by user and by room, and the ways to reach them.
//!
//! A room broadcast builds one [`Outgoing`] (framed at most once per WebSocket frame
//! type) and hands it to the room's lane, a task that writes it to every member's socket
//! in turn, straight from that task: a member whose socket takes the frame costs one
//! non-blocking write and wakes nothing. A member whose socket is full keeps up to
//! `queue` frames waiting (its own task writes them when the socket drains); beyond that
//! it loses room messages (counted in `im_dropped_total`) and never slows the room. When
//! messages come faster than the lane writes them one by one, it takes everything
//! waiting at once, at most one wave per `room_flush`, and gives each member all of it
//! back to back in one buffer ([`Wave`]) and one write. The registry lock is held only
//! to copy out who is in the room, never while writing.
//!
//! With `fanout = naive` (for benchmarks only) every member gets its own copy of the
//! body, encoded and framed for it alone, one write per message: one allocation and one
//! encoding per recipient instead of per message.

pub mod auth;
pub mod config;
pub mod conn;
pub mod goim_http;
pub mod history;
pub mod http;
pub mod inbox;
pub mod moderation;
pub mod nodes;
pub mod outgoing;
pub mod policy;
pub mod session;
pub mod tcp;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use bytes::Bytes;
use futures::future::BoxFuture;
use tokio::sync::{mpsc, watch};

pub use auth::{AuthError, AuthFuture, Authenticator, Identity, StaticTokens};
pub use config::{Fanout, GatewayConfig};
pub use outgoing::{Outgoing, Wave, Wire};

use crate::ws::Link;

/// A connection as the registry sees it.
struct Conn {
    user_id: i64,
    /// Who this is in a room's audience.
    watcher: Watcher,
    /// The client's address, when known.
    client: Option<std::net::IpAddr>,
    link: Arc<Link>,
    wire: Wire,
    /// goim's connection key, when the client chose one (otherwise it is made up from
    /// the connection's id, [`Gateway::made_up_key`], and costs nothing to keep).
    key: Option<Arc<str>>,
    room: Option<String>,
    /// Operations the client wants; empty means all.
    accepts: Vec<u32>,
    /// Set to true to make the connection close itself.
    kick: watch::Sender<Kick>,
}

impl Conn {
    fn target(&self) -> Target {
        Target {
            link: self.link.clone(),
            wire: self.wire,
            accepts: self.accepts.clone(),
        }
    }
}

/// Where a fan-out writes, copied out of the registry so that no lock is held while
/// writing.
struct Target {
    link: Arc<Link>,
    wire: Wire,
    accepts: Vec<u32>,
}

impl Target {
    fn wants(&self, op: u32) -> bool {
        self.accepts.is_empty() || self.accepts.contains(&op)
    }

    /// Hands the messages of `wave` this connection wants to its socket; returns how
    /// many it took. One that wants them all and has nothing waiting gets them in one
    /// buffer; one with a backlog gets them frame by frame, so that its queue's limit
    /// counts messages (what a write leaves of one buffer waits as one entry, so a
    /// queue may exceed its limit by one wave). With [`Fanout::Naive`] each is copied
    /// and framed for this connection alone. `frames` is scratch space, kept by the
    /// caller across members.
    fn deliver(
        &self,
        wave: &Wave<'_>,
        fanout: Fanout,
        limit: usize,
        frames: &mut Vec<Bytes>,
    ) -> usize {
        let msgs = wave.msgs();
        if fanout == Fanout::Shared && self.accepts.is_empty() {
            if let Some(taken) = self.link.offer_joined(wave.joined(self.wire), limit) {
                if taken == 0 {
                    metrics::counter!("im_dropped_total").increment(msgs.len() as u64);
                }
                return taken * msgs.len();
            }
        }
        frames.clear();
        frames.extend(
            msgs.iter()
                .filter(|m| self.wants(m.op))
                .map(|m| match fanout {
                    Fanout::Shared => m.frame(self.wire).clone(),
                    Fanout::Naive => m.copy().frame(self.wire).clone(),
                }),
        );
        if frames.is_empty() {
            return 0;
        }
        let taken = self.link.offer(frames, limit);
        if taken < frames.len() {
            metrics::counter!("im_dropped_total").increment((frames.len() - taken) as u64);
        }
        frames.clear();
        taken
    }
}

/// Room messages waiting for the lane; beyond this, new ones are dropped.
const LANE_QUEUE: usize = 4096;
/// Most messages a lane writes together.
const LANE_BATCH: usize = 64;
/// Members a lane writes to before letting other tasks run.
const LANE_CHUNK: usize = 1024;

struct Room {
    members: Vec<u64>,
    /// Distinct people among the members, with how many connections each has here: the
    /// online count, so five tabs (or a script's fifty sockets from one address) count
    /// as one.
    audience: HashMap<Watcher, u32>,
    recent: VecDeque<Arc<Outgoing>>,
    lane: mpsc::Sender<Arc<Outgoing>>,
    /// Connections on their way in ([`Joining`]): the room stays open for them, and
    /// what it hears meanwhile is kept among its recent messages for them.
    joining: u32,
}

/// A person in a room's audience: a signed-in user, or a guest by client address (a
/// guest whose address is unknown counts by connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Watcher {
    User(i64),
    Guest(std::net::IpAddr),
    Connection(u64),
}

#[derive(Default)]
struct Registry {
    conns: HashMap<u64, Conn>,
    by_user: HashMap<i64, Vec<u64>>,
    /// The connection keys clients chose; a key two clients chose reaches both.
    by_key: HashMap<Arc<str>, Vec<u64>>,
    rooms: HashMap<String, Room>,
}

/// The chat gateway of this process. Cheap to share (`Arc`).
pub struct Gateway {
    config: GatewayConfig,
    history: std::sync::OnceLock<Arc<dyn history::History>>,
    inbox: std::sync::OnceLock<Arc<dyn inbox::Inbox>>,
    policy: std::sync::OnceLock<Arc<dyn policy::RoomPolicy>>,
    /// The other nodes of a cluster; unset on a single node.
    nodes: std::sync::OnceLock<Arc<dyn nodes::Nodes>>,
    /// Swapped whole when operators edit the list; readers clone the `Arc` and let go.
    words: std::sync::RwLock<Arc<moderation::WordFilter>>,
    auth: Arc<dyn Authenticator>,
    registry: Mutex<Registry>,
    next_conn: AtomicU64,
    /// Room messages each user may still send, over all their connections.
    send_buckets: kit::rate::KeyedBuckets<i64>,
    /// Open connections, in all and per address.
    limits: Arc<kit::conn_limits::ConnLimits>,
    /// Starts the keys made up for connections whose client chose none, so that they
    /// differ from one process to the next.
    key_prefix: String,
    me: Weak<Gateway>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why the server ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// Not (yet).
    Stay,
    /// Out (a ban): op 6, close.
    Out,
    /// The node is stopping: op 6 saying when to connect again, close 1012.
    Reconnect { after_ms: u64 },
}

/// What a new connection gets from [`Gateway::register`].
pub(crate) struct Registration {
    pub id: u64,
    pub kicked: watch::Receiver<Kick>,
    /// goim's key for the connection, as chosen or made up.
    pub key: String,
    /// In a cluster, resolves once this node hears what the other nodes push to the
    /// user (the user's first connection here); answer the sign-in after it.
    pub heard: Option<BoxFuture<'static, ()>>,
}

impl Gateway {
    pub fn new(config: GatewayConfig, auth: Arc<dyn Authenticator>) -> Arc<Gateway> {
        Arc::new_cyclic(|me| Gateway {
            me: me.clone(),
            history: std::sync::OnceLock::new(),
            inbox: std::sync::OnceLock::new(),
            policy: std::sync::OnceLock::new(),
            nodes: std::sync::OnceLock::new(),
            words: std::sync::RwLock::new(Arc::new(moderation::WordFilter::new(
                &config.sensitive_words,
                config.sensitive_mode,
            ))),
            send_buckets: kit::rate::KeyedBuckets::new(
                f64::from(config.send_per_sec.max(1)),
                f64::from(config.send_per_sec.max(1) * 2),
            ),
            limits: kit::conn_limits::ConnLimits::new("chat", config.connections.clone()),
            key_prefix: format!("{:016x}", rand::random::<u64>()),
            config,
            auth,
            registry: Mutex::new(Registry::default()),
            next_conn: AtomicU64::new(1),
        })
    }

    /// Whether `user` may send a room message now (their rate, over all connections).
    pub fn may_send(&self, user: i64) -> bool {
        self.send_buckets.take(&user)
    }

    /// [`Gateway::may_send`] over every node of a cluster, when the nodes share a rate
    /// store; this node's own count otherwise, and while the store is away.
    pub(crate) async fn may_send_everywhere(&self, user: i64) -> bool {
        if let Some(nodes) = self.nodes.get() {
            let per_sec = f64::from(self.config.send_per_sec.max(1));
            if let Some(yes) = nodes.take_send(user, per_sec, per_sec * 2.0).await {
                // Keep this node's bucket moving too, for when the store goes away.
                let _ = self.send_buckets.take(&user);
                return yes;
            }
        }
        self.may_send(user)
    }

    /// A place for a new connection from `ip` under the caps, or why not.
    pub fn admit(
        &self,
        ip: std::net::IpAddr,
    ) -> Result<kit::conn_limits::ConnPermit, kit::conn_limits::Refusal> {
        self.limits.try_acquire(ip)
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

    /// Connects the gateway to the other nodes of a cluster (once; later calls are
    /// ignored).
    pub fn set_nodes(&self, nodes: Arc<dyn nodes::Nodes>) {
        let _ = self.nodes.set(nodes);
    }

    /// The other nodes, in a cluster.
    pub fn nodes(&self) -> Option<&Arc<dyn nodes::Nodes>> {
        self.nodes.get()
    }

    /// Before a connection moves into `room`: holds the room open for it and, when this
    /// node had no member there yet, waits until it hears the room's messages from the
    /// other nodes and has their recent messages. What the room hears meanwhile is kept
    /// among its recent messages, which [`Gateway::change_room`] hands the connection:
    /// nothing said after the subscription is lost to it. Keep the [`Joining`] until the
    /// connection is in the room.
    pub(crate) async fn prepare_room(self: &Arc<Self>, room: &str) -> Joining {
        let opening = {
            let mut r = self.registry();
            let (entry, opening) = self.room_entry(&mut r, room);
            entry.joining += 1;
            opening
        };
        let joining = Joining {
            gw: self.clone(),
            room: room.to_owned(),
        };
        if let Some(opening) = opening {
            let earlier: Vec<(u32, Bytes)> = opening.await;
            self.add_earlier(room, earlier);
        }
        joining
    }

    /// `room`'s entry, made (and, in a cluster, heard from the other nodes) when there
    /// is none yet: the future that resolves once it is heard, with their recent
    /// messages.
    fn room_entry<'r>(
        &self,
        r: &'r mut Registry,
        room: &str,
    ) -> (&'r mut Room, Option<nodes::Opening>) {
        let mut opening = None;
        let entry = r.rooms.entry(room.to_string()).or_insert_with(|| {
            opening = self.nodes.get().map(|n| n.open_room(room.to_owned()));
            Room {
                members: Vec::new(),
                audience: HashMap::new(),
                recent: VecDeque::new(),
                lane: self.open_lane(room),
                joining: 0,
            }
        });
        (entry, opening)
    }

    /// Puts `earlier` (the other nodes' recent messages, oldest first) before what the
    /// room has heard here, leaving out what it has already, and keeps the last ones.
    fn add_earlier(&self, room: &str, earlier: Vec<(u32, Bytes)>) {
        if earlier.is_empty() {
            return;
        }
        let mut r = self.registry();
        let Some(entry) = r.rooms.get_mut(room) else {
            return;
        };
        let mut merged: VecDeque<Arc<Outgoing>> = earlier
            .into_iter()
            .filter(|(op, body)| !entry.recent.iter().any(|m| m.op == *op && m.body == *body))
            .map(|(op, body)| Arc::new(Outgoing::new(op, body)))
            .collect();
        merged.extend(entry.recent.drain(..));
        while merged.len() > self.config.room_recent {
            merged.pop_front();
        }
        entry.recent = merged;
    }

    /// A connection that was on its way into `room` is in, or gone: the room closes if
    /// nobody is left in it or on the way.
    fn joined(&self, room: &str) {
        let mut r = self.registry();
        let Some(entry) = r.rooms.get_mut(room) else {
            return;
        };
        entry.joining = entry.joining.saturating_sub(1);
        if remove_if_unused(&mut r, room) {
            drop(r);
            self.rooms_emptied(&[room.to_owned()]);
        }
    }

    /// Tells the other nodes that this one has no member left in `rooms`.
    fn rooms_emptied(&self, rooms: &[String]) {
        if let Some(nodes) = self.nodes.get() {
            for room in rooms {
                nodes.close_room(room);
            }
        }
    }

    /// [`Gateway::push_room`], and the same to the room's members on the other nodes.
    pub fn push_room_everywhere(&self, room: &str, op: u32, body: Bytes) -> usize {
        if let Some(nodes) = self.nodes.get() {
            nodes.room(room, op, body.clone());
        }
        self.push_room(room, op, body)
    }

    /// [`Gateway::push_users`], and the same to their sockets on the other nodes.
    pub fn push_users_everywhere(&self, users: &[i64], op: u32, body: Bytes) -> usize {
        if let Some(nodes) = self.nodes.get() {
            nodes.users(users, op, body.clone());
        }
        self.push_users(users, op, body)
    }

    /// [`Gateway::push_keys`], and the same to connections with those keys on the other
    /// nodes (all but this node's own made-up keys, which no other node has).
    pub fn push_keys_everywhere(&self, keys: &[String], op: u32, body: Bytes) -> usize {
        if let Some(nodes) = self.nodes.get() {
            let elsewhere: Vec<String> = {
                let r = self.registry();
                keys.iter()
                    .filter(|k| self.by_made_up_key(&r, k).is_none())
                    .cloned()
                    .collect()
            };
            nodes.keys(&elsewhere, op, body.clone());
        }
        self.push_keys(keys, op, body)
    }

    /// [`Gateway::push_all`], and the same on the other nodes.
    pub fn push_all_everywhere(&self, op: u32, body: Bytes) -> usize {
        if let Some(nodes) = self.nodes.get() {
            nodes.all(op, body.clone());
        }
        self.push_all(op, body)
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

    /// Registers a signed-in connection of `user_id` (0: a guest, from `client` when its
    /// address is known) speaking `wire`, under goim's connection `key` (one is made up
    /// when the client chose none).
    pub(crate) fn register(
        &self,
        user_id: i64,
        client: Option<std::net::IpAddr>,
        accepts: Vec<u32>,
        link: Arc<Link>,
        wire: Wire,
        key: Option<&str>,
    ) -> Registration {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (kick, kicked) = watch::channel(Kick::Stay);
        let watcher = match (user_id, client) {
            (0, Some(ip)) => Watcher::Guest(ip.to_canonical()),
            (0, None) => Watcher::Connection(id),
            (user, _) => Watcher::User(user),
        };
        let chosen: Option<Arc<str>> = key.map(Arc::from);
        let key = key.map_or_else(|| self.made_up_key(id), str::to_owned);
        let mut r = self.registry();
        if let Some(k) = &chosen {
            r.by_key.entry(k.clone()).or_default().push(id);
        }
        r.conns.insert(
            id,
            Conn {
                user_id,
                watcher,
                client: client.map(|ip| ip.to_canonical()),
                link,
                wire,
                key: chosen,
                room: None,
                accepts,
                kick,
            },
        );
        // Guests (user 0) are not anyone: nothing is pushed to them by user.
        let mut heard = None;
        if user_id != 0 {
            let list = r.by_user.entry(user_id).or_default();
            list.push(id);
            if list.len() == 1 {
                heard = self.nodes.get().map(|n| n.open_user(user_id));
            }
        }
        metrics::gauge!("im_connections").increment(1.0);
        Registration {
            id,
            kicked,
            key,
            heard,
        }
    }

    pub(crate) fn unregister(&self, id: u64) {
        let mut r = self.registry();
        let Some(conn) = r.conns.remove(&id) else {
            return;
        };
        let mut emptied = Vec::new();
        if let Some(room) = &conn.room {
            if leave_room(&mut r, room, id, conn.watcher) {
                emptied.push(room.clone());
            }
        }
        if let Some(list) = r.by_user.get_mut(&conn.user_id) {
            list.retain(|c| *c != id);
            if list.is_empty() {
                r.by_user.remove(&conn.user_id);
                if let Some(nodes) = self.nodes.get() {
                    nodes.close_user(conn.user_id);
                }
            }
        }
        if let Some(key) = &conn.key {
            if let Some(list) = r.by_key.get_mut(key) {
                list.retain(|c| *c != id);
                if list.is_empty() {
                    r.by_key.remove(key);
                }
            }
        }
        drop(r);
        self.rooms_emptied(&emptied);
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
        let Some((old, watcher)) = r.conns.get_mut(&id).map(|c| (c.room.take(), c.watcher)) else {
            return 0;
        };
        if let Some(old) = old {
            if leave_room(&mut r, &old, id, watcher) && Some(old.as_str()) != room {
                drop(r);
                self.rooms_emptied(&[old]);
                r = self.registry();
            }
        }
        let Some(room) = room else {
            return 0;
        };
        let (entry, opening) = self.room_entry(&mut r, room);
        if let Some(opening) = opening {
            // Not prepared (a test, or a caller that does not wait): heard from the
            // other nodes as soon as may be.
            tokio::spawn(opening);
        }
        entry.members.push(id);
        *entry.audience.entry(watcher).or_insert(0) += 1;
        let recent: Vec<Arc<Outgoing>> = entry.recent.iter().cloned().collect();
        let online = entry.audience.len() as u32;
        if let Some(c) = r.conns.get_mut(&id) {
            c.room = Some(room.to_string());
            if !recent.is_empty() {
                c.target().deliver(
                    &Wave::new(&recent),
                    self.config.fanout,
                    self.config.queue,
                    &mut Vec::new(),
                );
            }
        }
        online
    }

    /// Starts the task that writes `room`'s messages to its members, in order; it ends
    /// when the room does (its last member leaves).
    fn open_lane(&self, room: &str) -> mpsc::Sender<Arc<Outgoing>> {
        let (tx, rx) = mpsc::channel(LANE_QUEUE);
        tokio::spawn(lane(self.me.clone(), room.to_string(), rx));
        tx
    }

    /// Who is in `room` now, for a lane to write to.
    fn room_targets(&self, room: &str) -> Vec<Target> {
        let r = self.registry();
        let Some(entry) = r.rooms.get(room) else {
            return Vec::new();
        };
        entry
            .members
            .iter()
            .filter_map(|id| r.conns.get(id))
            .map(Conn::target)
            .collect()
    }

    /// The room connection `id` is in.
    pub(crate) fn room_of(&self, id: u64) -> Option<String> {
        self.registry().conns.get(&id).and_then(|c| c.room.clone())
    }

    /// People in `room` now: signed-in users and guest addresses, each once however
    /// many connections they have there on a node; in a cluster, added up over the
    /// nodes (the others' counts as last read, a few seconds old at most).
    pub fn online(&self, room: &str) -> u32 {
        let here = self
            .registry()
            .rooms
            .get(room)
            .map(|r| r.audience.len() as u32)
            .unwrap_or(0);
        let elsewhere = self
            .nodes
            .get()
            .and_then(|n| n.online_elsewhere())
            .and_then(|counts| counts.get(room).copied())
            .unwrap_or(0);
        here + elsewhere
    }

    /// Every room with members on this node, and how many ([`Gateway::online`]'s count
    /// for this node alone).
    pub fn local_room_counts(&self) -> Vec<(String, u32)> {
        self.registry()
            .rooms
            .iter()
            .map(|(k, room)| (k.clone(), room.audience.len() as u32))
            .collect()
    }

    /// The busiest rooms, most members first (over the cluster, as [`Gateway::online`]).
    pub fn top_rooms(&self, limit: usize) -> Vec<(String, u32)> {
        let mut counts: HashMap<String, u32> = self.local_room_counts().into_iter().collect();
        if let Some(elsewhere) = self.nodes.get().and_then(|n| n.online_elsewhere()) {
            for (room, n) in elsewhere.iter() {
                *counts.entry(room.clone()).or_insert(0) += n;
            }
        }
        let mut v: Vec<(String, u32)> = counts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(limit);
        v
    }

    /// Sends `body` (JSON) with `op` to everyone in `room`, and keeps it among the
    /// room's recent messages. The room's lane writes it; returns how many connections
    /// were in the room (0 if the message was dropped because the lane is that far
    /// behind).
    pub fn push_room(&self, room: &str, op: u32, body: Bytes) -> usize {
        let msg = Arc::new(Outgoing::new(op, body));
        let mut r = self.registry();
        let Some(target) = r.rooms.get_mut(room) else {
            return 0;
        };
        target.recent.push_back(msg.clone());
        while target.recent.len() > self.config.room_recent {
            target.recent.pop_front();
        }
        if target.lane.try_send(msg).is_err() {
            metrics::counter!("im_dropped_total", "kind" => "room_lane").increment(1);
            return 0;
        }
        target.members.len()
    }

    /// Sends to every connection of each user in `users`.
    pub fn push_users(&self, users: &[i64], op: u32, body: Bytes) -> usize {
        let msg = Arc::new(Outgoing::new(op, body));
        let targets: Vec<Target> = {
            let r = self.registry();
            users
                .iter()
                .flat_map(|user| r.by_user.get(user).into_iter().flatten())
                .filter_map(|id| r.conns.get(id))
                .map(Conn::target)
                .collect()
        };
        let queued = self.deliver_all(&targets, &msg);
        metrics::counter!("im_deliveries_total", "kind" => "user").increment(queued as u64);
        queued
    }

    /// The key of connection `id` when its client chose none: this process's prefix and
    /// the id, so it is known without being stored.
    fn made_up_key(&self, id: u64) -> String {
        format!("{}-{id}", self.key_prefix)
    }

    /// The connection whose made-up key is `key`, if it has no key of its own.
    fn by_made_up_key(&self, r: &Registry, key: &str) -> Option<u64> {
        let id = key
            .strip_prefix(self.key_prefix.as_str())?
            .strip_prefix('-')?
            .parse::<u64>()
            .ok()?;
        r.conns.get(&id).filter(|c| c.key.is_none()).map(|_| id)
    }

    /// Sends to every connection registered under one of goim's `keys`.
    pub fn push_keys(&self, keys: &[String], op: u32, body: Bytes) -> usize {
        let msg = Arc::new(Outgoing::new(op, body));
        let targets: Vec<Target> = {
            let r = self.registry();
            let mut ids: Vec<u64> = Vec::new();
            for key in keys {
                match r.by_key.get(key.as_str()) {
                    Some(list) => ids.extend(list),
                    None => ids.extend(self.by_made_up_key(&r, key)),
                }
            }
            ids.sort_unstable();
            ids.dedup();
            ids.iter()
                .filter_map(|id| r.conns.get(id))
                .map(Conn::target)
                .collect()
        };
        let queued = self.deliver_all(&targets, &msg);
        metrics::counter!("im_deliveries_total", "kind" => "key").increment(queued as u64);
        queued
    }

    /// Sends to every connection.
    pub fn push_all(&self, op: u32, body: Bytes) -> usize {
        let msg = Arc::new(Outgoing::new(op, body));
        let queued = self.deliver_all(&self.all_targets(), &msg);
        metrics::counter!("im_deliveries_total", "kind" => "all").increment(queued as u64);
        queued
    }

    /// Every connection now, to write to.
    fn all_targets(&self) -> Vec<Target> {
        self.registry().conns.values().map(Conn::target).collect()
    }

    fn deliver_all(&self, targets: &[Target], msg: &Arc<Outgoing>) -> usize {
        let wave = Wave::new(std::slice::from_ref(msg));
        let mut frames = Vec::with_capacity(1);
        targets
            .iter()
            .map(|t| {
                t.deliver(&wave, self.config.fanout, self.config.queue, &mut frames)
                    .min(1)
            })
            .sum()
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

    /// How many connections `user` has to this node now.
    pub fn connections_of(&self, user: i64) -> usize {
        self.registry()
            .by_user
            .get(&user)
            .map_or(0, |ids| ids.len())
    }

    /// How many of `user`'s connections to this node are in `room` now.
    pub fn connections_in_room(&self, room: &str, user: i64) -> usize {
        let r = self.registry();
        (r.by_user.get(&user).into_iter().flatten())
            .filter(|id| r.conns.get(id).and_then(|c| c.room.as_deref()) == Some(room))
            .count()
    }

    /// The users with a connection to this node now, in no particular order.
    pub fn connected_users(&self) -> Vec<i64> {
        self.registry().by_user.keys().copied().collect()
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
        let mut emptied = false;
        for id in &ids {
            emptied |= leave_room(&mut r, room, *id, Watcher::User(user));
            if let Some(c) = r.conns.get_mut(id) {
                c.room = None;
                // A notice about the connection itself, not a push: no accepts filter,
                // and not dropped.
                c.link.push(msg.frame(c.wire).clone());
            }
        }
        drop(r);
        if emptied {
            self.rooms_emptied(&[room.to_owned()]);
        }
        ids.len()
    }

    /// Closes every connection of `user` (after a ban); returns how many.
    pub fn disconnect_user(&self, user: i64) -> usize {
        let r = self.registry();
        let ids = r.by_user.get(&user).cloned().unwrap_or_default();
        for id in &ids {
            if let Some(c) = r.conns.get(id) {
                let _ = c.kick.send(Kick::Out);
            }
        }
        ids.len()
    }

    /// The node is stopping: tells every connection to connect again (to another node
    /// behind the same address), each after its own wait within `spread`, so that they
    /// do not all arrive at once, and closes it. Returns how many were told.
    pub fn drain(&self, spread: std::time::Duration) -> usize {
        use rand::Rng;
        let spread_ms = spread.as_millis().max(1) as u64;
        let r = self.registry();
        let mut rng = rand::thread_rng();
        for c in r.conns.values() {
            let after_ms = rng.gen_range(0..spread_ms);
            let _ = c.kick.send(Kick::Reconnect { after_ms });
        }
        r.conns.len()
    }

    /// Connections now, and the distinct client addresses among them (connections
    /// whose address is unknown count once each): goim's online total.
    pub fn totals(&self) -> (usize, usize) {
        let r = self.registry();
        let mut ips = std::collections::HashSet::new();
        let mut unknown = 0;
        for c in r.conns.values() {
            match c.client {
                Some(ip) => {
                    ips.insert(ip);
                }
                None => unknown += 1,
            }
        }
        (r.conns.len(), ips.len() + unknown)
    }

    /// Sends to every connection, `speed` connections a second at most (0: at once),
    /// in the background, as goim's broadcast does; returns how many connections there
    /// are to reach.
    pub fn push_all_paced(&self, op: u32, body: Bytes, speed: u32) -> usize {
        if speed == 0 {
            return self.push_all(op, body);
        }
        let msg = Arc::new(Outgoing::new(op, body));
        let targets = self.all_targets();
        let total = targets.len();
        // Steps of a tenth of a second, each reaching a tenth of `speed`.
        let step = (speed as usize).div_ceil(10).max(1);
        let pause = std::time::Duration::from_secs_f64(step as f64 / f64::from(speed));
        let me = self.me.clone();
        tokio::spawn(async move {
            let mut queued = 0;
            for (i, chunk) in targets.chunks(step).enumerate() {
                if i > 0 {
                    tokio::time::sleep(pause).await;
                }
                let Some(gw) = me.upgrade() else { return };
                queued += gw.deliver_all(chunk, &msg);
            }
            metrics::counter!("im_deliveries_total", "kind" => "all").increment(queued as u64);
        });
        total
    }
}

/// Writes `room`'s messages to its members in the order they were pushed.
///
/// A message goes out at once while the lane keeps up. When messages arrive while a
/// wave is being written (a room busier than the lane can write one by one), the next
/// wave waits until `room_flush` after the last one began and takes everything that
/// arrived meanwhile: each member then gets several messages for the cost of one write,
/// for as long as the room stays that busy.
async fn lane(gw: Weak<Gateway>, room: String, mut rx: mpsc::Receiver<Arc<Outgoing>>) {
    let Some((fanout, limit, flush)) = gw
        .upgrade()
        .map(|g| (g.config.fanout, g.config.queue, g.config.room_flush))
    else {
        return;
    };
    let most = match fanout {
        Fanout::Shared => LANE_BATCH,
        // One message, one frame and one write each.
        Fanout::Naive => 1,
    };
    let mut batch = Vec::with_capacity(most);
    // When the next wave may begin, if the room is busy.
    let mut not_before: Option<tokio::time::Instant> = None;
    while let Some(first) = rx.recv().await {
        if let Some(at) = not_before {
            tokio::time::sleep_until(at).await;
        }
        let began = tokio::time::Instant::now();
        batch.clear();
        batch.push(first);
        while batch.len() < most {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let Some(gw) = gw.upgrade() else { return };
        let targets = gw.room_targets(&room);
        drop(gw);
        let mut queued = 0;
        let mut frames = Vec::with_capacity(batch.len());
        let wave = Wave::new(&batch);
        for chunk in targets.chunks(LANE_CHUNK) {
            for t in chunk {
                queued += t.deliver(&wave, fanout, limit, &mut frames);
            }
            if targets.len() > LANE_CHUNK {
                tokio::task::yield_now().await;
            }
        }
        metrics::counter!("im_deliveries_total", "kind" => "room").increment(queued as u64);
        not_before = next_wave(fanout, flush, began, !rx.is_empty(), batch.len() == most);
    }
}

/// When a lane's next wave may begin, given the one that began at `began`: at once
/// (`None`) unless messages arrived while it was written (`arrived`), which means the
/// room comes faster than the lane writes it one message at a time; then not before
/// `flush` after it began, so that the next wave carries several. A full batch means
/// more were already waiting: no wait. Only shared fan-out batches.
fn next_wave(
    fanout: Fanout,
    flush: std::time::Duration,
    began: tokio::time::Instant,
    arrived: bool,
    full: bool,
) -> Option<tokio::time::Instant> {
    (fanout == Fanout::Shared && arrived && !full && !flush.is_zero()).then(|| began + flush)
}

/// Takes connection `id` out of `room`; true when that left the room empty (and gone).
fn leave_room(r: &mut Registry, room: &str, id: u64, watcher: Watcher) -> bool {
    if let Some(entry) = r.rooms.get_mut(room) {
        if let Some(i) = entry.members.iter().position(|m| *m == id) {
            entry.members.swap_remove(i);
            if let Some(n) = entry.audience.get_mut(&watcher) {
                *n -= 1;
                if *n == 0 {
                    entry.audience.remove(&watcher);
                }
            }
        }
    }
    remove_if_unused(r, room)
}

/// Removes `room` when nobody is in it or on the way in; whether it did.
fn remove_if_unused(r: &mut Registry, room: &str) -> bool {
    let unused = r
        .rooms
        .get(room)
        .is_some_and(|e| e.members.is_empty() && e.joining == 0);
    if unused {
        r.rooms.remove(room);
    }
    unused
}

/// A connection on its way into a room ([`Gateway::prepare_room`]): holds the room open
/// until it is dropped, after the connection is in (or when it gave up).
pub(crate) struct Joining {
    gw: Arc<Gateway>,
    room: String,
}

impl Drop for Joining {
    fn drop(&mut self) {
        self.gw.joined(&self.room);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    fn gateway_with(fanout: Fanout) -> Arc<Gateway> {
        let config = GatewayConfig {
            fanout,
            ..GatewayConfig::default()
        };
        Gateway::new(config, Arc::new(StaticTokens(Vec::new())))
    }

    /// A registered connection: its id, and the client's end of its socket.
    async fn connect(gw: &Gateway, user: i64, accepts: Vec<u32>) -> (u64, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(addr), l.accept());
        let link = Arc::new(Link::new(server.unwrap().0));
        let reg = gw.register(user, None, accepts, link, Wire::WsBinary, None);
        (reg.id, client.unwrap())
    }

    /// The next server frame's payload (a goim packet), decoded.
    async fn next_packet(peer: &mut TcpStream) -> Option<crate::proto::Packet> {
        let read = async {
            let mut head = [0u8; 2];
            peer.read_exact(&mut head).await.ok()?;
            assert_eq!(head[0], 0x82, "a whole binary frame");
            let len = match head[1] {
                126 => {
                    let mut l = [0u8; 2];
                    peer.read_exact(&mut l).await.ok()?;
                    usize::from(u16::from_be_bytes(l))
                }
                n => usize::from(n),
            };
            let mut payload = vec![0u8; len];
            peer.read_exact(&mut payload).await.ok()?;
            let mut packets =
                crate::proto::decode_frame(&payload, &crate::proto::Limits::default()).ok()?;
            Some(packets.remove(0))
        };
        tokio::time::timeout(Duration::from_millis(300), read)
            .await
            .ok()
            .flatten()
    }

    #[tokio::test]
    async fn only_connected_users_are_reported_connected() {
        let gw = gateway_with(Fanout::Shared);
        let _a = connect(&gw, 1, Vec::new()).await;
        let _b = connect(&gw, 3, Vec::new()).await;
        assert_eq!(gw.connected(&[3, 2, 1, 4]), [3, 1]);
        assert!(gw.connected(&[]).is_empty());
    }

    #[tokio::test]
    async fn a_user_removed_from_a_room_leaves_only_that_room_and_is_told_so() {
        let gw = gateway_with(Fanout::Shared);
        let (in_room, mut in_room_peer) = connect(&gw, 7, vec![1000]).await;
        let (elsewhere, mut elsewhere_peer) = connect(&gw, 7, Vec::new()).await;
        let (other_user, mut other_peer) = connect(&gw, 8, Vec::new()).await;
        gw.change_room(in_room, Some("5"));
        gw.change_room(elsewhere, Some("6"));
        gw.change_room(other_user, Some("5"));
        assert_eq!(gw.online("5"), 2);

        let removed = gw.remove_from_room("5", 7, Bytes::from_static(b"{\"room_id\":null}"));
        assert_eq!(removed, 1);
        assert_eq!(gw.online("5"), 1);
        assert_eq!(gw.room_of(in_room), None);
        assert_eq!(gw.room_of(elsewhere).as_deref(), Some("6"));
        // The notice reaches the connection even though it accepts only op 1000.
        let notice = next_packet(&mut in_room_peer).await.expect("a notice");
        assert_eq!(notice.op, crate::proto::op::CHANGE_ROOM_REPLY);
        assert!(next_packet(&mut elsewhere_peer).await.is_none());
        // Room messages no longer reach it.
        gw.push_room("5", 1000, Bytes::from_static(b"{}"));
        assert_eq!(next_packet(&mut other_peer).await.map(|p| p.op), Some(1000));
        assert!(next_packet(&mut in_room_peer).await.is_none());
    }

    type Release = tokio::sync::oneshot::Receiver<Vec<(u32, Bytes)>>;

    /// Other nodes whose subscription to a room completes when the test says so, with
    /// the recent messages it gives; they count what is opened and closed.
    #[derive(Default)]
    struct SlowNodes {
        release: std::sync::Mutex<Option<Release>>,
        opened: std::sync::Mutex<Vec<String>>,
        closed: std::sync::Mutex<Vec<String>>,
        users: std::sync::Mutex<Vec<(i64, bool)>>,
    }

    impl nodes::Nodes for SlowNodes {
        fn open_room(&self, room: String) -> nodes::Opening {
            self.opened.lock().unwrap().push(room);
            let rx = self.release.lock().unwrap().take();
            Box::pin(async move {
                match rx {
                    Some(rx) => rx.await.unwrap_or_default(),
                    None => Vec::new(),
                }
            })
        }
        fn close_room(&self, room: &str) {
            self.closed.lock().unwrap().push(room.to_owned());
        }
        fn open_user(&self, user: i64) -> BoxFuture<'static, ()> {
            self.users.lock().unwrap().push((user, true));
            Box::pin(std::future::ready(()))
        }
        fn close_user(&self, user: i64) {
            self.users.lock().unwrap().push((user, false));
        }
        fn room(&self, _: &str, _: u32, _: Bytes) {}
        fn users(&self, _: &[i64], _: u32, _: Bytes) {}
        fn all(&self, _: u32, _: Bytes) {}
    }

    /// A member who joins a room its node did not hear yet gets the other nodes' recent
    /// messages, then what the room heard while the subscription was being made, each
    /// once, and the room is heard until its last member (or joiner) goes.
    #[tokio::test]
    async fn a_join_misses_nothing_while_its_node_starts_hearing_the_room() {
        let gw = gateway_with(Fanout::Shared);
        let nodes = Arc::new(SlowNodes::default());
        let (release, rx) = tokio::sync::oneshot::channel();
        *nodes.release.lock().unwrap() = Some(rx);
        gw.set_nodes(nodes.clone());
        let (id, mut peer) = connect(&gw, 5, Vec::new()).await;
        assert_eq!(*nodes.users.lock().unwrap(), [(5, true)]);

        let joining = {
            let gw = gw.clone();
            tokio::spawn(async move { gw.prepare_room("3").await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(*nodes.opened.lock().unwrap(), ["3"]);
        // Heard by the new subscription before the join is done, and also in the list.
        gw.push_room("3", 1000, Bytes::from_static(b"{\"n\":2}"));
        release
            .send(vec![
                (1000, Bytes::from_static(b"{\"n\":1}")),
                (1000, Bytes::from_static(b"{\"n\":2}")),
            ])
            .unwrap();
        let joining = joining.await.unwrap();
        gw.change_room(id, Some("3"));
        drop(joining);
        let bodies: Vec<Bytes> = [
            next_packet(&mut peer).await,
            next_packet(&mut peer).await,
            next_packet(&mut peer).await,
        ]
        .into_iter()
        .flatten()
        .map(|p| p.body)
        .collect();
        assert_eq!(bodies, [&b"{\"n\":1}"[..], &b"{\"n\":2}"[..]]);
        assert!(nodes.closed.lock().unwrap().is_empty());

        // A joiner who gives up leaves the room as it was; the last member's leaving
        // closes it, and the user's last connection lets the user go.
        drop(gw.prepare_room("4").await);
        assert_eq!(*nodes.closed.lock().unwrap(), ["4"]);
        gw.change_room(id, None);
        assert_eq!(*nodes.closed.lock().unwrap(), ["4", "3"]);
        gw.unregister(id);
        assert_eq!(*nodes.users.lock().unwrap(), [(5, true), (5, false)]);
    }

    /// What two members of one room receive for one push.
    async fn deliver_to_two(fanout: Fanout) -> Vec<crate::proto::Packet> {
        let gw = gateway_with(fanout);
        let (a, mut pa) = connect(&gw, 1, Vec::new()).await;
        let (b, mut pb) = connect(&gw, 2, Vec::new()).await;
        gw.change_room(a, Some("9"));
        gw.change_room(b, Some("9"));
        let queued = gw.push_room("9", 1000, Bytes::from_static(b"{\"text\":\"hi\"}"));
        assert_eq!(queued, 2);
        vec![
            next_packet(&mut pa).await.unwrap(),
            next_packet(&mut pb).await.unwrap(),
        ]
    }

    #[tokio::test]
    async fn naive_and_shared_fanout_deliver_the_same_bytes() {
        let shared = deliver_to_two(Fanout::Shared).await;
        let naive = deliver_to_two(Fanout::Naive).await;
        for p in shared.iter().chain(&naive) {
            assert_eq!(p.op, 1000);
            assert_eq!(&p.body[..], b"{\"text\":\"hi\"}");
        }
    }

    #[test]
    fn shared_messages_are_framed_once_naive_copies_are_not() {
        let msg = Outgoing::new(1000, Bytes::from_static(b"{}"));
        let (bin, text) = (Wire::WsBinary, Wire::WsText);
        assert_eq!(msg.frame(bin).as_ptr(), msg.frame(bin).as_ptr());
        assert_ne!(msg.copy().frame(bin).as_ptr(), msg.frame(bin).as_ptr());
        assert_eq!(msg.copy().frame(bin), msg.frame(bin));
        // A text frame carries the JSON form.
        assert_eq!(msg.frame(text)[0], 0x81);
        assert_eq!(&msg.frame(text)[2..], msg.text().as_bytes());
    }

    #[tokio::test]
    async fn room_messages_arrive_in_the_order_pushed() {
        let gw = gateway_with(Fanout::Shared);
        let (a, mut pa) = connect(&gw, 1, Vec::new()).await;
        gw.change_room(a, Some("1"));
        for i in 0..500 {
            gw.push_room("1", 1000, Bytes::from(format!("{{\"n\":{i}}}")));
        }
        for i in 0..500 {
            let p = next_packet(&mut pa).await.expect("every message");
            assert_eq!(p.body, Bytes::from(format!("{{\"n\":{i}}}")));
        }
    }

    #[test]
    fn only_a_shared_lane_that_fell_behind_waits_before_its_next_wave() {
        let began = tokio::time::Instant::now();
        let flush = Duration::from_millis(200);
        assert_eq!(
            next_wave(Fanout::Shared, flush, began, true, false),
            Some(began + flush)
        );
        // Kept up: nothing arrived while the wave was written.
        assert_eq!(next_wave(Fanout::Shared, flush, began, false, false), None);
        // A full batch: more were waiting anyway.
        assert_eq!(next_wave(Fanout::Shared, flush, began, true, true), None);
        assert_eq!(next_wave(Fanout::Naive, flush, began, true, false), None);
        assert_eq!(
            next_wave(Fanout::Shared, Duration::ZERO, began, true, false),
            None
        );
    }

    #[tokio::test]
    async fn a_room_that_keeps_up_is_not_held_back_by_a_long_flush() {
        let config = GatewayConfig {
            room_flush: Duration::from_secs(30),
            ..GatewayConfig::default()
        };
        let gw = Gateway::new(config, Arc::new(StaticTokens(Vec::new())));
        let (a, mut pa) = connect(&gw, 1, Vec::new()).await;
        let (b, mut pb) = connect(&gw, 2, vec![1001]).await;
        gw.change_room(a, Some("1"));
        gw.change_room(b, Some("1"));
        for round in 0..3 {
            // A burst goes out as one wave; the next message, after it was read, at once.
            for op in [1000, 1001, 1000] {
                gw.push_room("1", op, Bytes::from(format!("{{\"round\":{round}}}")));
            }
            for op in [1000, 1001, 1000] {
                assert_eq!(next_packet(&mut pa).await.map(|p| p.op), Some(op));
            }
            // A member that accepts only op 1001 gets just that one from the wave.
            assert_eq!(next_packet(&mut pb).await.map(|p| p.op), Some(1001));
        }
        assert!(next_packet(&mut pb).await.is_none());
    }
}
