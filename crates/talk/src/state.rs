//! What the talk use cases share: the store, the conversation rules, each user's
//! message budget, and what they ask of the rest of momo (the bus, [`Directory`]).

use std::sync::Arc;

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;
use store::Store;

use crate::ConversationSettings;

/// The talk context's state. Cheap to clone; the shell keeps one and hands it to the
/// routes through axum's `FromRef`.
#[derive(Clone, Debug)]
pub struct TalkState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Store,
    settings: ConversationSettings,
    /// New conversation messages each user may still send.
    message_rate: kit::rate::KeyedBuckets<i64>,
    /// The cluster's Redis, when the node has it: the rate is then one over all nodes.
    shared: std::sync::OnceLock<api::shared::Shared>,
    bus: Arc<dyn bus::Bus>,
    directory: Directory,
    proxies: TrustedProxies,
}

/// What the context is built from.
pub struct Parts {
    pub store: Store,
    pub settings: ConversationSettings,
    pub bus: Arc<dyn bus::Bus>,
    pub directory: Directory,
    pub proxies: TrustedProxies,
}

impl TalkState {
    pub fn new(parts: Parts) -> TalkState {
        let per_sec = f64::from(parts.settings.send_per_sec.max(1));
        TalkState(Arc::new(Inner {
            store: parts.store,
            message_rate: kit::rate::KeyedBuckets::new(per_sec, per_sec * 4.0),
            shared: std::sync::OnceLock::new(),
            settings: parts.settings,
            bus: parts.bus,
            directory: parts.directory,
            proxies: parts.proxies,
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn settings(&self) -> &ConversationSettings {
        &self.0.settings
    }

    /// New conversation messages each user may still send (per user, over everything).
    pub fn message_rate(&self) -> &kit::rate::KeyedBuckets<i64> {
        &self.0.message_rate
    }

    /// Counts the message rate in the cluster's Redis from now on (once).
    pub fn share_rate(&self, shared: api::shared::Shared) {
        let _ = self.0.shared.set(shared);
    }

    /// Takes one of `user`'s new messages from their rate: over every node when the
    /// cluster shares Redis (this node's own bucket while Redis is away or slow, and
    /// on a single node).
    pub async fn take_message(&self, user: i64) -> bool {
        let local = self.0.message_rate.take(&user);
        let Some(shared) = self.0.shared.get() else {
            return local;
        };
        let per_sec = f64::from(self.0.settings.send_per_sec.max(1));
        match shared
            .take(&format!("conv_send:{user}"), per_sec, per_sec * 4.0)
            .await
        {
            Ok(yes) => yes,
            Err(e) => {
                metrics::counter!("limits_shared_fallback_total", "limiter" => "conv_send")
                    .increment(1);
                tracing::debug!("conversation rate: Redis unavailable ({e}); counting here");
                local
            }
        }
    }

    /// The event bus.
    pub fn bus(&self) -> &dyn bus::Bus {
        &*self.0.bus
    }

    /// Identity, as the other contexts ask it: existence, blocks.
    pub fn directory(&self) -> &Directory {
        &self.0.directory
    }
}

impl FromRef<TalkState> for Directory {
    fn from_ref(state: &TalkState) -> Directory {
        state.0.directory.clone()
    }
}

impl FromRef<TalkState> for TrustedProxies {
    fn from_ref(state: &TalkState) -> TrustedProxies {
        state.0.proxies.clone()
    }
}
