//! What the identity use cases share: the store, `[auth]` and `[cache]`, access tokens,
//! password hashing, login throttles and the profile cache, plus the bus. Identity
//! answers the other contexts ([`api::People`]) from this state, through a handle that
//! does not keep it alive ([`Directory`]).

use std::sync::{Arc, Weak};

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;
use store::Store;

use crate::accounts::login::LoginGuard;
use crate::accounts::password::Passwords;
use crate::accounts::tokens::Tokens;
use crate::users::cache::UserCache;
use crate::Settings;

/// The identity context's state. Cheap to clone; the shell keeps one and hands it to
/// the routes through axum's `FromRef`.
#[derive(Clone, Debug)]
pub struct IdentityState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Store,
    settings: Settings,
    tokens: Tokens,
    passwords: Passwords,
    login_guard: LoginGuard,
    user_cache: UserCache,
    bus: Arc<dyn bus::Bus>,
    proxies: TrustedProxies,
    /// This context as the others ask it.
    directory: Directory,
}

/// What the context is built from.
pub struct Parts {
    pub store: Store,
    pub settings: Settings,
    /// Signs access tokens; the same on every node.
    pub jwt_secret: Vec<u8>,
    pub bus: Arc<dyn bus::Bus>,
    pub proxies: TrustedProxies,
}

/// The state, not kept alive: how identity answers the others
/// ([`crate::accounts::people`]) from inside the state they are part of.
#[derive(Debug, Clone)]
pub(crate) struct IdentityRef(Weak<Inner>);

impl IdentityRef {
    pub(crate) fn upgrade(&self) -> Option<IdentityState> {
        self.0.upgrade().map(IdentityState)
    }
}

impl IdentityState {
    pub fn new(parts: Parts) -> IdentityState {
        let settings = parts.settings;
        IdentityState(Arc::new_cyclic(|me| Inner {
            store: parts.store,
            tokens: Tokens::new(&parts.jwt_secret, settings.auth.access_ttl_secs),
            passwords: Passwords::new(),
            login_guard: LoginGuard::new(&settings.auth),
            user_cache: UserCache::new(&settings.cache),
            settings,
            bus: parts.bus,
            proxies: parts.proxies,
            directory: Directory::new(IdentityRef(me.clone())),
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    pub fn tokens(&self) -> &Tokens {
        &self.0.tokens
    }

    pub fn passwords(&self) -> &Passwords {
        &self.0.passwords
    }

    pub fn login_guard(&self) -> &LoginGuard {
        &self.0.login_guard
    }

    pub fn user_cache(&self) -> &UserCache {
        &self.0.user_cache
    }

    /// The event bus.
    pub fn bus(&self) -> &dyn bus::Bus {
        &*self.0.bus
    }

    /// The proxies whose `X-Forwarded-For` is believed.
    pub fn proxies(&self) -> &TrustedProxies {
        &self.0.proxies
    }

    /// Identity as the other contexts ask it ([`api::People`]).
    pub fn directory(&self) -> &Directory {
        &self.0.directory
    }
}

impl FromRef<IdentityState> for Directory {
    fn from_ref(state: &IdentityState) -> Directory {
        state.0.directory.clone()
    }
}

impl FromRef<IdentityState> for TrustedProxies {
    fn from_ref(state: &IdentityState) -> TrustedProxies {
        state.0.proxies.clone()
    }
}
