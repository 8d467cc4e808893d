//! The chat gateway's link to the other nodes of a cluster (`im::gateway::nodes::Nodes`
//! on the event bus), set only when the bus spans nodes.
//!
//! - **What a node pushes** itself — a danmaku from one of its sockets, a call to the
//!   push APIs — goes to its own sockets at once and, as a [`Pushed`] event, to the other
//!   nodes: `momo.room.{room}.push`, `momo.user.{user}.push`, `momo.ctx.gateway.all`. Each
//!   event names the node it came from, and that node skips it when the bus brings it
//!   back. At most once, in order per sender (one node, one subject, one connection).
//! - **Rooms are heard only where they have members**: the first member to join a room
//!   on a node subscribes the node to `momo.room.{room}.>` (danmaku, gifts, live and
//!   offline) before the join is answered, and the last to leave unsubscribes it. goim
//!   sends every room's messages to every comet; a momo node hears only its rooms.
//! - **Users are heard only where they are connected**: a user's first socket on a node
//!   subscribes it to `momo.user.{user}.>` (pushes, conversation messages, notices)
//!   before sign-in is answered, and their last socket's end unsubscribes it. Measured
//!   against a user → node map in Redis and against every node hearing every user (see
//!   "A push to one user" in `docs/benchmarks.md`): a push is one publish, heard by the
//!   nodes the user is on and no other, with no lookup on its way; a node that dies
//!   leaves the NATS server to forget its subscriptions, which it does at once.
//!   Everyone's pushes (`momo.ctx.gateway.all`) and pushes by connection key
//!   (`momo.ctx.gateway.keys`, rare) are heard by every node.
//! - **Recent room messages**: the node a room message is pushed on also appends it to
//!   the room's list in Redis ([`api::shared`]); a node that opens a room for its first
//!   member reads the list, so the member sees what was said on the other nodes.
//! - **Online counts** are cluster totals when Redis is configured: each node writes its
//!   rooms' counts every [`ONLINE_EVERY`] and reads the others' ([`api::shared`]); a
//!   member connected to two nodes counts on each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use base64::Engine;
use bus::{Delivery, Event, Subject};
use bytes::Bytes;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Where a [`Pushed`] goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum To {
    Room(String),
    User(i64),
    /// Connections by goim's key (a client's key may be on any node).
    Keys(Vec<String>),
    All,
}

/// Something a node pushed to its own sockets, for the others'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pushed {
    /// The node it came from (skipped there).
    pub node: String,
    pub to: To,
    pub op: u32,
    /// The packet body, base64 (the push APIs take any bytes).
    pub body: String,
}

impl Event for Pushed {
    const KIND: &'static str = "pushed";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        match &self.to {
            To::Room(room) => Subject::room(room, "push")
                .unwrap_or_else(|_| Subject::of_context("gateway", "bad_room")),
            To::User(user) => Subject::of_user(*user, "push"),
            To::Keys(_) => Subject::of_context("gateway", "keys"),
            To::All => Subject::of_context("gateway", "all"),
        }
    }
}

impl Pushed {
    pub fn body(&self) -> Option<Bytes> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.body)
            .ok()
            .map(Bytes::from)
    }
}

/// The machine's host name (`momo` when it has none to read).
pub fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "momo".to_owned())
}

/// A name for this node on the bus, different from every other node's: the host name,
/// the process id and the time it started.
pub fn node_name() -> String {
    format!(
        "{}-{}-{}",
        host_name(),
        std::process::id(),
        kit::time::now_ms()
    )
}

/// Messages one node's subscription to a room or a user holds before it drops.
const ROOM_QUEUE: usize = 4_096;
const USER_QUEUE: usize = 256;

/// Pushes waiting to be published, in order, before more are dropped.
const OUT_QUEUE: usize = 65_536;
/// How long a room's recent messages stay in Redis after its last one.
const RECENT_TTL: Duration = Duration::from_secs(600);
/// Most room messages appended to Redis in one round trip.
const RECENT_BATCH: usize = 256;

/// A subject heard: the generation it was opened with and its task, once subscribed.
type Heard = (u64, Option<JoinHandle<()>>);

/// The subjects this node hears for its members (rooms) and its users: for each, the
/// task that passes its deliveries on (`None` while its subscription is being made),
/// under the generation it was opened with, so that a subscription that completes after
/// its key was closed and opened again does not take the newer one's place.
#[derive(Clone, Default)]
struct Interests {
    map: Arc<Mutex<HashMap<String, Heard>>>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl Interests {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Heard>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    /// Starts hearing `pattern` under `key` (nothing when it is heard already): the
    /// future resolves once the subscription is in force, or has failed (logged).
    fn open(
        &self,
        key: String,
        pattern: Result<bus::Pattern, bus::BadSubject>,
        capacity: usize,
        bus: Arc<dyn bus::Bus>,
        relay: mpsc::Sender<Delivery>,
    ) -> Option<BoxFuture<'static, ()>> {
        let generation = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        {
            let mut map = self.lock();
            if map.contains_key(&key) {
                return None;
            }
            map.insert(key.clone(), (generation, None));
        }
        let this = self.clone();
        // Made on a task of its own: it completes even when the caller stops waiting.
        let making = tokio::spawn(async move {
            let forget = |this: &Interests| {
                let mut map = this.lock();
                if map.get(&key).is_some_and(|(g, _)| *g == generation) {
                    map.remove(&key);
                }
            };
            let sub = match pattern {
                Ok(pattern) => bus.subscribe(pattern, capacity).await,
                Err(e) => {
                    tracing::warn!(key, "cannot hear {e}");
                    return forget(&this);
                }
            };
            let mut sub = match sub {
                Ok(sub) => sub,
                Err(e) => {
                    tracing::warn!(key, "cannot hear it from the other nodes: {e}");
                    return forget(&this);
                }
            };
            let task = tokio::spawn(async move {
                while let Some(d) = sub.recv().await {
                    if relay.send(d).await.is_err() {
                        break;
                    }
                }
            });
            let mut map = this.lock();
            match map.get_mut(&key) {
                Some((g, slot)) if *g == generation => *slot = Some(task),
                // Closed (and maybe opened again) while the subscription was being made.
                _ => task.abort(),
            }
        });
        Some(Box::pin(async move {
            let _ = making.await;
        }))
    }

    fn close(&self, key: &str) {
        if let Some((_, Some(task))) = self.lock().remove(key) {
            task.abort();
        }
    }
}

/// The gateway's other nodes, on the bus.
pub struct BusNodes {
    bus: Arc<dyn bus::Bus>,
    node: String,
    /// One task publishes every push, in the order they were made.
    out: mpsc::Sender<Pushed>,
    /// Room messages pushed here, for the rooms' recent lists in Redis.
    recent: mpsc::Sender<(String, u32, Bytes)>,
    /// How many recent messages a room keeps.
    keep_recent: usize,
    /// Where a room's or a user's deliveries go: the relay's push loop.
    relay: mpsc::Sender<Delivery>,
    rooms: Interests,
    users: Interests,
    /// The cluster's Redis, once the node has it (shared rates, recent messages).
    shared: Arc<std::sync::OnceLock<api::shared::Shared>>,
    /// People in each room on the other nodes, as last read from Redis.
    elsewhere: Elsewhere,
    /// Each stream's audience on the other nodes, as last read from Redis.
    players_elsewhere: Elsewhere,
}

/// People per room on the other nodes, as last read (`None` while not known).
type Elsewhere = Arc<RwLock<Option<Arc<HashMap<String, u32>>>>>;

/// How often a node writes its online counts and reads the others'.
pub const ONLINE_EVERY: Duration = Duration::from_secs(2);
/// How long a node's counts outlive its last write (a node that died drops out then).
pub const ONLINE_TTL: Duration = Duration::from_secs(10);

impl BusNodes {
    /// Links this node (`node`) to the others on `bus`; what they push to its rooms and
    /// users goes to `relay`; rooms keep `keep_recent` recent messages.
    pub fn new(
        bus: Arc<dyn bus::Bus>,
        node: String,
        relay: mpsc::Sender<Delivery>,
        keep_recent: usize,
    ) -> BusNodes {
        let (out, mut queue) = mpsc::channel::<Pushed>(OUT_QUEUE);
        let publisher = bus.clone();
        tokio::spawn(async move {
            while let Some(event) = queue.recv().await {
                api::events::publish(&*publisher, &event).await;
            }
        });
        let shared: Arc<std::sync::OnceLock<api::shared::Shared>> = Arc::default();
        let (recent, queue) = mpsc::channel(OUT_QUEUE);
        tokio::spawn(keep_recent_messages(queue, shared.clone(), keep_recent));
        BusNodes {
            bus,
            node,
            out,
            recent,
            keep_recent,
            relay,
            rooms: Interests::default(),
            users: Interests::default(),
            shared,
            elsewhere: Arc::default(),
            players_elsewhere: Arc::default(),
        }
    }

    /// How many play stream `key` on the other nodes, as last read (0 while not known).
    pub fn players_elsewhere(&self) -> impl Fn(&str) -> u64 + Send + Sync + 'static {
        let counts = self.players_elsewhere.clone();
        move |key: &str| {
            counts
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .and_then(|c| c.get(key).copied())
                .unwrap_or(0) as u64
        }
    }

    /// Keeps online counts in the cluster's Redis with the other nodes: every
    /// [`ONLINE_EVERY`], writes this node's rooms and reads everyone else's, until the
    /// gateway goes. Until the node has Redis (`AppState::shared`), and while Redis is
    /// away, the other nodes' counts are dropped (counts are this node's alone) and the
    /// loop carries on.
    pub fn keep_online(
        &self,
        state: crate::AppState,
        gw: Weak<im::gateway::Gateway>,
    ) -> JoinHandle<()> {
        let node = self.node.clone();
        let elsewhere = self.elsewhere.clone();
        let players_elsewhere = self.players_elsewhere.clone();
        let rates = self.shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(ONLINE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tick.tick().await;
                let Some(shared) = state.shared().cloned() else {
                    continue;
                };
                let _ = rates.set(shared.clone());
                let Some(gw) = gw.upgrade() else { return };
                let chatting = gw.local_room_counts();
                drop(gw);
                let playing = stream_audiences(&state);
                let result = async {
                    shared
                        .put_counts("online", &node, &chatting, ONLINE_TTL)
                        .await?;
                    shared
                        .put_counts("players", &node, &playing, ONLINE_TTL)
                        .await?;
                    let online = shared.counts_elsewhere("online", &node).await?;
                    let players = shared.counts_elsewhere("players", &node).await?;
                    Ok::<_, String>((online, players))
                }
                .await;
                let (online, players) = match result {
                    Ok((online, players)) => {
                        if failing {
                            tracing::info!("online counts: Redis is back");
                        }
                        failing = false;
                        (Some(Arc::new(online)), Some(Arc::new(players)))
                    }
                    Err(e) => {
                        if !failing {
                            tracing::warn!(
                                "online counts: Redis unavailable ({e}); counting this node alone"
                            );
                        }
                        failing = true;
                        (None, None)
                    }
                };
                *elsewhere.write().unwrap_or_else(|p| p.into_inner()) = online;
                *players_elsewhere.write().unwrap_or_else(|p| p.into_inner()) = players;
            }
        })
    }

    /// This node's name on the bus.
    pub fn node(&self) -> &str {
        &self.node
    }

    fn publish(&self, to: To, op: u32, body: &Bytes) {
        let event = Pushed {
            node: self.node.clone(),
            to,
            op,
            body: base64::engine::general_purpose::STANDARD.encode(body),
        };
        if self.out.try_send(event).is_err() {
            metrics::counter!("bus_dropped_total").increment(1);
            tracing::warn!("a push for the other nodes was dropped: too many waiting");
        }
    }
}

impl im::gateway::nodes::Nodes for BusNodes {
    fn open_room(&self, room: String) -> BoxFuture<'static, Vec<(u32, Bytes)>> {
        let pattern = bus::Pattern::room(&room);
        let opening = self.rooms.open(
            format!("room:{room}"),
            pattern,
            ROOM_QUEUE,
            self.bus.clone(),
            self.relay.clone(),
        );
        let Some(opening) = opening else {
            return Box::pin(std::future::ready(Vec::new()));
        };
        let shared = self.shared.get().cloned();
        let keep = self.keep_recent;
        Box::pin(async move {
            opening.await;
            // Read after the subscription is in force: what is said from now on comes
            // by the bus, what was said before is in the list (some may be in both).
            let Some(shared) = shared.filter(|_| keep > 0) else {
                return Vec::new();
            };
            match shared.recent(&room).await {
                Ok(recent) => recent,
                Err(e) => {
                    tracing::debug!(room, "recent messages: Redis unavailable ({e})");
                    Vec::new()
                }
            }
        })
    }

    fn close_room(&self, room: &str) {
        self.rooms.close(&format!("room:{room}"));
    }

    fn open_user(&self, user: i64) -> BoxFuture<'static, ()> {
        let opening = self.users.open(
            format!("user:{user}"),
            bus::Pattern::user(user),
            USER_QUEUE,
            self.bus.clone(),
            self.relay.clone(),
        );
        opening.unwrap_or_else(|| Box::pin(std::future::ready(())))
    }

    fn close_user(&self, user: i64) {
        self.users.close(&format!("user:{user}"));
    }

    fn heard(&self) -> (usize, usize) {
        (self.rooms.len(), self.users.len())
    }

    fn room(&self, room: &str, op: u32, body: Bytes) {
        if self.keep_recent > 0 && self.shared.get().is_some() {
            let _ = self.recent.try_send((room.to_owned(), op, body.clone()));
        }
        self.publish(To::Room(room.to_owned()), op, &body);
    }

    fn keys(&self, keys: &[String], op: u32, body: Bytes) {
        if !keys.is_empty() {
            self.publish(To::Keys(keys.to_vec()), op, &body);
        }
    }

    fn users(&self, users: &[i64], op: u32, body: Bytes) {
        for user in users {
            self.publish(To::User(*user), op, &body);
        }
    }

    fn all(&self, op: u32, body: Bytes) {
        self.publish(To::All, op, &body);
    }

    fn take_send(&self, user: i64, per_sec: f64, burst: f64) -> BoxFuture<'static, Option<bool>> {
        let Some(shared) = self.shared.get().cloned() else {
            return Box::pin(std::future::ready(None));
        };
        Box::pin(async move {
            match shared
                .take(&format!("chat_send:{user}"), per_sec, burst)
                .await
            {
                Ok(yes) => Some(yes),
                Err(e) => {
                    metrics::counter!("limits_shared_fallback_total", "limiter" => "chat_send")
                        .increment(1);
                    tracing::debug!("chat send rate: Redis unavailable ({e}); counting here");
                    None
                }
            }
        })
    }

    fn online_elsewhere(&self) -> Option<Arc<HashMap<String, u32>>> {
        self.elsewhere
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The audience of each stream played on this node (once per client address).
fn stream_audiences(state: &crate::AppState) -> Vec<(String, u32)> {
    let Some(hub) = state.media() else {
        return Vec::new();
    };
    hub.keys()
        .into_iter()
        .filter_map(|key| {
            let audience = hub.stream(&key)?.audience() as u32;
            (audience > 0).then_some((key, audience))
        })
        .collect()
}

/// Appends the room messages pushed on this node to their rooms' recent lists in Redis,
/// many in one round trip; while Redis is away they are dropped (the lists are a
/// courtesy to joiners on other nodes, not a record).
async fn keep_recent_messages(
    mut queue: mpsc::Receiver<(String, u32, Bytes)>,
    shared: Arc<std::sync::OnceLock<api::shared::Shared>>,
    keep: usize,
) {
    let mut batch = Vec::with_capacity(RECENT_BATCH);
    while queue.recv_many(&mut batch, RECENT_BATCH).await > 0 {
        if let Some(shared) = shared.get() {
            if let Err(e) = shared.append_recent(&batch, keep, RECENT_TTL).await {
                metrics::counter!("bus_dropped_total", "kind" => "recent")
                    .increment(batch.len() as u64);
                tracing::debug!("recent room messages: Redis unavailable ({e})");
            }
        }
        batch.clear();
    }
}
