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
//!   Users' pushes (`momo.user.>`) and everyone's (`momo.ctx.gateway.all`) are heard by
//!   every node.
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

/// Room messages one node's subscription to a room holds before it drops.
const ROOM_QUEUE: usize = 4_096;

/// The rooms this node hears: the task that passes each room's deliveries on (`None`
/// while its subscription is being made).
type Rooms = Arc<Mutex<HashMap<String, Option<JoinHandle<()>>>>>;

/// Pushes waiting to be published, in order, before more are dropped.
const OUT_QUEUE: usize = 65_536;

/// The gateway's other nodes, on the bus.
pub struct BusNodes {
    bus: Arc<dyn bus::Bus>,
    node: String,
    /// One task publishes every push, in the order they were made.
    out: mpsc::Sender<Pushed>,
    /// Where a room's deliveries go: the relay's push loop.
    relay: mpsc::Sender<Delivery>,
    rooms: Rooms,
    /// The cluster's Redis, once the node has it (shared rates).
    shared: Arc<std::sync::OnceLock<api::shared::Shared>>,
    /// People in each room on the other nodes, as last read from Redis.
    elsewhere: Elsewhere,
}

/// People per room on the other nodes, as last read (`None` while not known).
type Elsewhere = Arc<RwLock<Option<Arc<HashMap<String, u32>>>>>;

/// How often a node writes its online counts and reads the others'.
pub const ONLINE_EVERY: Duration = Duration::from_secs(2);
/// How long a node's counts outlive its last write (a node that died drops out then).
pub const ONLINE_TTL: Duration = Duration::from_secs(10);

fn lock(rooms: &Rooms) -> std::sync::MutexGuard<'_, HashMap<String, Option<JoinHandle<()>>>> {
    rooms.lock().unwrap_or_else(|p| p.into_inner())
}

impl BusNodes {
    pub fn new(bus: Arc<dyn bus::Bus>, node: String, relay: mpsc::Sender<Delivery>) -> BusNodes {
        let (out, mut queue) = mpsc::channel::<Pushed>(OUT_QUEUE);
        let publisher = bus.clone();
        tokio::spawn(async move {
            while let Some(event) = queue.recv().await {
                api::events::publish(&*publisher, &event).await;
            }
        });
        BusNodes {
            bus,
            node,
            out,
            relay,
            rooms: Rooms::default(),
            shared: Arc::default(),
            elsewhere: Arc::default(),
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
                let mine = gw.local_room_counts();
                drop(gw);
                let result = match shared.put_online(&node, &mine, ONLINE_TTL).await {
                    Ok(()) => shared.online_elsewhere(&node).await,
                    Err(e) => Err(e),
                };
                let mut slot = elsewhere.write().unwrap_or_else(|p| p.into_inner());
                match result {
                    Ok(counts) => {
                        if failing {
                            tracing::info!("online counts: Redis is back");
                        }
                        failing = false;
                        *slot = Some(Arc::new(counts));
                    }
                    Err(e) => {
                        if !failing {
                            tracing::warn!(
                                "online counts: Redis unavailable ({e}); counting this node alone"
                            );
                        }
                        failing = true;
                        *slot = None;
                    }
                }
            }
        })
    }

    /// This node's name on the bus.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// How many rooms this node hears now.
    pub fn rooms_heard(&self) -> usize {
        lock(&self.rooms).len()
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
    fn open_room(&self, room: String) -> BoxFuture<'static, ()> {
        {
            let mut rooms = lock(&self.rooms);
            if rooms.contains_key(&room) {
                return Box::pin(std::future::ready(()));
            }
            rooms.insert(room.clone(), None);
        }
        let bus = self.bus.clone();
        let relay = self.relay.clone();
        let rooms = self.rooms.clone();
        Box::pin(async move {
            let Ok(pattern) = bus::Pattern::room(&room) else {
                lock(&rooms).remove(&room);
                return;
            };
            let mut sub = match bus.subscribe(pattern, ROOM_QUEUE).await {
                Ok(sub) => sub,
                Err(e) => {
                    tracing::warn!(room, "cannot hear the room from other nodes: {e}");
                    lock(&rooms).remove(&room);
                    return;
                }
            };
            let task = tokio::spawn(async move {
                while let Some(d) = sub.recv().await {
                    if relay.send(d).await.is_err() {
                        break;
                    }
                }
            });
            let mut rooms = lock(&rooms);
            match rooms.get_mut(&room) {
                Some(slot) => *slot = Some(task),
                // The room emptied while the subscription was being made.
                None => task.abort(),
            }
        })
    }

    fn close_room(&self, room: &str) {
        if let Some(Some(task)) = lock(&self.rooms).remove(room) {
            task.abort();
        }
    }

    fn room(&self, room: &str, op: u32, body: Bytes) {
        self.publish(To::Room(room.to_owned()), op, &body);
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
