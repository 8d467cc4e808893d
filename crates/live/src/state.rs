//! What the live use cases share: the store, the `[live]` and `[economy]` settings, the
//! payment providers, the gift caches and writer, room rules, and what they ask of the
//! rest of momo (the job queue, the bus, this node's chat gateway and media hub,
//! [`Directory`]).

use std::sync::{Arc, OnceLock};

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;
use store::Store;

use crate::gifts::batch::GiftWriter;
use crate::gifts::lookup::GiftLookups;
use crate::gifts::notices::GiftNotices;
use crate::rooms::room_rules::RoomRules;
use crate::wallet::Payments;
use crate::Settings;

/// The live context's state. Cheap to clone; the shell keeps one and hands it to the
/// routes through axum's `FromRef`.
#[derive(Clone, Debug)]
pub struct LiveState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Store,
    settings: Settings,
    payments: Payments,
    gift_notices: GiftNotices,
    gift_lookups: GiftLookups,
    gift_writer: OnceLock<GiftWriter>,
    room_rules: RoomRules,
    jobs: jobs::Queue,
    bus: Arc<dyn bus::Bus>,
    chat: OnceLock<Arc<im::gateway::Gateway>>,
    media: OnceLock<Arc<media::hub::Hub>>,
    /// This node's name, for the rooms whose streams it is the origin of.
    node: OnceLock<String>,
    /// How many play a stream on the other nodes (a cluster's Redis counts).
    audience_elsewhere: OnceLock<AudienceElsewhere>,
    directory: Directory,
    proxies: TrustedProxies,
}

/// What the context is built from.
pub struct Parts {
    pub store: Store,
    pub settings: Settings,
    /// Keys the development payment provider's signatures unless a payment secret is
    /// configured.
    pub jwt_secret: Vec<u8>,
    pub jobs: jobs::Queue,
    pub bus: Arc<dyn bus::Bus>,
    pub directory: Directory,
    pub proxies: TrustedProxies,
}

impl LiveState {
    pub fn new(parts: Parts) -> LiveState {
        let capacity = parts.settings.cache_capacity;
        LiveState(Arc::new(Inner {
            store: parts.store,
            payments: Payments::new(&parts.settings.economy, &parts.jwt_secret),
            settings: parts.settings,
            gift_notices: GiftNotices::default(),
            gift_lookups: GiftLookups::new(capacity),
            gift_writer: OnceLock::new(),
            room_rules: RoomRules::new(capacity),
            jobs: parts.jobs,
            bus: parts.bus,
            chat: OnceLock::new(),
            media: OnceLock::new(),
            node: OnceLock::new(),
            audience_elsewhere: OnceLock::new(),
            directory: parts.directory,
            proxies: parts.proxies,
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// The payment providers.
    pub fn payments(&self) -> &Payments {
        &self.0.payments
    }

    /// Gifts received, waiting to become the anchors' notices.
    pub fn gift_notices(&self) -> &GiftNotices {
        &self.0.gift_notices
    }

    /// Rooms and gifts as sending a gift reads them, cached.
    pub fn gift_lookups(&self) -> &GiftLookups {
        &self.0.gift_lookups
    }

    /// The task that writes gifts in batches, started on first use (from a request,
    /// where a runtime runs).
    pub fn gift_writer(&self) -> &GiftWriter {
        self.0
            .gift_writer
            .get_or_init(|| GiftWriter::start(self.0.store.clone()))
    }

    /// Mutes and kicks in live rooms, cached for the chat gateway.
    pub fn room_rules(&self) -> &RoomRules {
        &self.0.room_rules
    }

    /// The durable job queue.
    pub fn jobs(&self) -> &jobs::Queue {
        &self.0.jobs
    }

    /// The event bus.
    pub fn bus(&self) -> &dyn bus::Bus {
        &*self.0.bus
    }

    /// Identity, as the other contexts ask it.
    pub fn directory(&self) -> &Directory {
        &self.0.directory
    }

    /// Connects this node's chat gateway (rooms' audiences, moderation).
    pub fn set_chat(&self, gateway: Arc<im::gateway::Gateway>) {
        let _ = self.0.chat.set(gateway);
    }

    /// The chat gateway, if this node runs one.
    pub fn chat(&self) -> Option<&Arc<im::gateway::Gateway>> {
        self.0.chat.get()
    }

    /// Connects this node's media hub, so that rooms can see and cut their streams.
    pub fn set_media(&self, hub: Arc<media::hub::Hub>) {
        let _ = self.0.media.set(hub);
    }

    /// Names this node (once), as the origin of the streams published to it.
    pub fn set_node(&self, node: String) {
        let _ = self.0.node.set(node);
    }

    /// This node's name ("" until named).
    pub fn node(&self) -> &str {
        self.0.node.get().map_or("", String::as_str)
    }

    /// The media hub, if this node runs one.
    pub fn media(&self) -> Option<&Arc<media::hub::Hub>> {
        self.0.media.get()
    }

    /// Tells this node how many play each stream on the other nodes (in a cluster).
    pub fn set_audience_elsewhere(&self, count: Arc<dyn Fn(&str) -> u64 + Send + Sync>) {
        let _ = self.0.audience_elsewhere.set(AudienceElsewhere(count));
    }

    /// How many people are in room `id`: players of its stream (once per client
    /// address on each node) or people in its chat room (once per user or guest
    /// address), whichever is more; in a cluster, over every node (the others' counts
    /// a few seconds old at most).
    pub fn room_viewers(&self, id: i64) -> u64 {
        let key = id.to_string();
        let here = self
            .media()
            .and_then(|h| h.stream(&key))
            .map_or(0, |s| s.audience() as u64);
        let elsewhere = self
            .0
            .audience_elsewhere
            .get()
            .map_or(0, |count| (count.0)(&key));
        let players = here + elsewhere;
        let chatting = self.chat().map_or(0, |g| g.online(&key) as u64);
        players.max(chatting)
    }
}

impl FromRef<LiveState> for Directory {
    fn from_ref(state: &LiveState) -> Directory {
        state.0.directory.clone()
    }
}

impl FromRef<LiveState> for TrustedProxies {
    fn from_ref(state: &LiveState) -> TrustedProxies {
        state.0.proxies.clone()
    }
}

/// How many play a stream on the other nodes of a cluster.
struct AudienceElsewhere(Arc<dyn Fn(&str) -> u64 + Send + Sync>);

impl std::fmt::Debug for AudienceElsewhere {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AudienceElsewhere(..)")
    }
}
