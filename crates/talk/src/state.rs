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
