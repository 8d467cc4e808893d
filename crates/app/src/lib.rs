//! momo's shell: the contexts (identity, live, talk, videos, each in its crate) put
//! together. [`AppState`] holds each context's state and hands it to their routes by
//! axum's `FromRef`; [`router`] merges their routes with the shell's own (the console's
//! cross-context routes in [`admin`], [`ops`], the session endpoints and pages of
//! [`web`]), with the layers every request passes through (metrics, tracing, body limit,
//! timeout, panic guard, JSON errors), and the OpenAPI document generated from the
//! handlers themselves. [`relay`] carries events to this node's sockets and streams;
//! [`background`] runs every context's jobs.

pub mod admin;
pub mod background;
pub mod error;
pub mod events;
pub mod http;
pub mod nodes;
pub mod ops;
pub mod relay;
pub mod search_index;
pub mod settings;
pub mod web;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use store::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use ::identity::IdentityState;
/// The contexts in crates of their own, as the shell and the binary reach them.
pub use ::identity::{self, accounts, notifications, social, users};
use ::live::LiveState;
pub use ::live::{self as live_context, gifts, rooms as live, wallet};
use ::talk::TalkState;
pub use ::talk::{self, chat, groups};
pub use ::videos;
use ::videos::VideosState;
pub use settings::Settings;

/// Starts this node's subscribers on the bus: the relay to its sockets and streams,
/// followers' live notices, the videos context's (replays, the feed's graphs), and the
/// outbox sweep. Call it once the
/// gateway and the hub are connected ([`AppState::set_chat`], [`AppState::set_media`]);
/// once it returns, every event published is acted on. Abort the tasks to stop.
pub async fn listen(state: &AppState) -> Result<Vec<tokio::task::JoinHandle<()>>, bus::BusError> {
    let mut tasks = relay::start(state).await?;
    tasks.extend(identity::listen(state.identity()).await?);
    tasks.push(::live::rooms::rule_changes::follow(state.live()).await?);
    tasks.extend(videos::listen(state.videos()).await?);
    tasks.push(tokio::spawn(events::sweep_loop(state.clone())));
    Ok(tasks)
}

/// Everything a handler needs, shared by all requests. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Store,
    settings: Settings,
    /// The identity context.
    identity: IdentityState,
    /// `auth.trusted_proxies` when forwarded addresses are believed, read once.
    proxies: api::http::TrustedProxies,
    jobs: jobs::Queue,
    /// The live context.
    live: LiveState,
    /// The talk context.
    talk: TalkState,
    /// The videos context.
    videos: VideosState,
    /// The chat gateway, once the node has one (it is built after the state).
    chat: std::sync::OnceLock<Arc<im::gateway::Gateway>>,
    /// The live streams of this node, once it has a media server.
    media: std::sync::OnceLock<Arc<media::hub::Hub>>,
    /// What the nodes of a cluster keep together in Redis, when configured.
    shared: std::sync::OnceLock<api::shared::Shared>,
    /// Redis is configured but not connected yet (it did not answer at start).
    shared_wanted: std::sync::atomic::AtomicBool,
    /// Where the contexts tell each other (and the other nodes) what happened.
    bus: Arc<dyn bus::Bus>,
    /// The identity context as the others ask it ([`api::People`]).
    directory: api::Directory,
}

impl axum::extract::FromRef<AppState> for api::Directory {
    fn from_ref(state: &AppState) -> api::Directory {
        state.0.directory.clone()
    }
}

impl axum::extract::FromRef<AppState> for IdentityState {
    fn from_ref(state: &AppState) -> IdentityState {
        state.0.identity.clone()
    }
}

impl axum::extract::FromRef<AppState> for LiveState {
    fn from_ref(state: &AppState) -> LiveState {
        state.0.live.clone()
    }
}

impl axum::extract::FromRef<AppState> for TalkState {
    fn from_ref(state: &AppState) -> TalkState {
        state.0.talk.clone()
    }
}

impl axum::extract::FromRef<AppState> for VideosState {
    fn from_ref(state: &AppState) -> VideosState {
        state.0.videos.clone()
    }
}

impl axum::extract::FromRef<AppState> for api::http::TrustedProxies {
    fn from_ref(state: &AppState) -> api::http::TrustedProxies {
        state.0.proxies.clone()
    }
}

impl AppState {
    /// `jwt_secret` signs access tokens; it must be the same on every node. `files` is
    /// where videos are kept ([`videos::storage::Files::from_settings`]); `bus` carries
    /// the events the contexts tell each other (in-process on one node).
    pub fn new(
        store: Store,
        settings: Settings,
        jwt_secret: &[u8],
        files: videos::storage::Files,
        bus: Arc<dyn bus::Bus>,
    ) -> Self {
        // `serve` refuses to start with a range it cannot read; here one is skipped.
        let trusted_proxies = (settings.auth.trusted_proxies.iter())
            .filter_map(|r| r.parse().ok())
            .collect();
        let proxies =
            api::http::TrustedProxies::new(settings.auth.trust_forwarded_for, trusted_proxies);
        let jobs = jobs::Queue::new(store.clone());
        let identity = IdentityState::new(identity::Parts {
            store: store.clone(),
            settings: identity::Settings {
                auth: settings.auth.clone(),
                cache: settings.cache.clone(),
            },
            jwt_secret: jwt_secret.to_vec(),
            bus: bus.clone(),
            proxies: proxies.clone(),
        });
        let directory = identity.directory().clone();
        AppState(Arc::new({
            let videos = VideosState::new(videos::Parts {
                store: store.clone(),
                settings: settings.videos.clone(),
                files,
                jobs: jobs.clone(),
                bus: bus.clone(),
                directory: directory.clone(),
                proxies: proxies.clone(),
                public_http_url: settings.live.public_http_url.clone(),
            });
            let live = LiveState::new(::live::Parts {
                store: store.clone(),
                settings: ::live::Settings {
                    live: settings.live.clone(),
                    economy: settings.economy.clone(),
                    webrtc: settings.webrtc.clone(),
                    cache_capacity: settings.cache.capacity,
                },
                jwt_secret: jwt_secret.to_vec(),
                jobs: jobs.clone(),
                bus: bus.clone(),
                directory: directory.clone(),
                proxies: proxies.clone(),
            });
            let talk = TalkState::new(talk::Parts {
                store: store.clone(),
                settings: settings.conversations.clone(),
                bus: bus.clone(),
                directory: directory.clone(),
                proxies: proxies.clone(),
            });
            Inner {
                store,
                identity,
                proxies,
                jobs,
                live,
                talk,
                videos,
                chat: std::sync::OnceLock::new(),
                media: std::sync::OnceLock::new(),
                shared: std::sync::OnceLock::new(),
                shared_wanted: std::sync::atomic::AtomicBool::new(false),
                bus,
                settings,
                directory,
            }
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// The identity context's state.
    pub fn identity(&self) -> &IdentityState {
        &self.0.identity
    }

    pub fn tokens(&self) -> &accounts::tokens::Tokens {
        self.0.identity.tokens()
    }

    pub fn passwords(&self) -> &accounts::password::Passwords {
        self.0.identity.passwords()
    }

    pub fn login_guard(&self) -> &accounts::login::LoginGuard {
        self.0.identity.login_guard()
    }

    pub fn user_cache(&self) -> &users::cache::UserCache {
        self.0.identity.user_cache()
    }

    /// The durable job queue.
    pub fn jobs(&self) -> &jobs::Queue {
        &self.0.jobs
    }

    /// The live context's state.
    pub fn live(&self) -> &LiveState {
        &self.0.live
    }

    /// The talk context's state.
    pub fn talk(&self) -> &TalkState {
        &self.0.talk
    }

    /// The videos context's state.
    pub fn videos(&self) -> &VideosState {
        &self.0.videos
    }

    /// Connects the chat gateway, so that use cases can reach connected users.
    pub fn set_chat(&self, gateway: Arc<im::gateway::Gateway>) {
        self.0.live.set_chat(gateway.clone());
        let _ = self.0.chat.set(gateway);
    }

    /// The chat gateway, if this node runs one.
    pub fn chat(&self) -> Option<&Arc<im::gateway::Gateway>> {
        self.0.chat.get()
    }

    /// Keeps limits and online counts in Redis with the other nodes of the cluster (once).
    pub fn set_shared(&self, shared: api::shared::Shared) {
        self.0
            .identity
            .login_guard()
            .share(Arc::new(shared.clone()));
        self.0.talk.share_rate(shared.clone());
        let _ = self.0.shared.set(shared);
    }

    /// The cluster's Redis, when configured.
    pub fn shared(&self) -> Option<&api::shared::Shared> {
        self.0.shared.get()
    }

    /// Notes that Redis is configured but did not answer yet ([`AppState::set_shared`]
    /// follows when it does): `/readyz` says so meanwhile.
    pub fn want_shared(&self) {
        self.0
            .shared_wanted
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether Redis is configured but not connected.
    pub fn shared_missing(&self) -> bool {
        self.0.shared.get().is_none()
            && self
                .0
                .shared_wanted
                .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Connects the media hub, so that use cases can see and cut streams.
    pub fn set_media(&self, hub: Arc<media::hub::Hub>) {
        self.0.videos.set_media(hub.clone());
        self.0.live.set_media(hub.clone());
        let _ = self.0.media.set(hub);
    }

    /// The event bus: in-process on one node.
    pub fn bus(&self) -> &dyn bus::Bus {
        &*self.0.bus
    }

    /// The media hub, if this node runs one.
    pub fn media(&self) -> Option<&Arc<media::hub::Hub>> {
        self.0.media.get()
    }

    /// How many people are in room `id` on this node: players of its stream (once per
    /// client address) or people in its chat room (once per user or guest address),
    /// whichever is more.
    pub fn room_viewers(&self, id: i64) -> u64 {
        self.0.live.room_viewers(id)
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "momo",
        description = "The HTTP API of momo, a self-hostable backend for live-streaming social apps. \
                       Errors are always `{\"error\": {\"code\", \"message\", \"fields\"?}}`."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, sign-in and sessions"),
        (name = "users", description = "Profiles"),
        (name = "social", description = "Follows, friends and blocks"),
        (name = "live", description = "Live rooms"),
        (name = "chat", description = "Conversations and messages"),
        (name = "groups", description = "Group chats: members, roles, mutes"),
        (name = "wallet", description = "Coins, diamonds, recharges and withdrawals"),
        (name = "gifts", description = "The gift catalogue, sending gifts and rankings"),
        (name = "webrtc", description = "WebRTC: STUN and TURN servers with credentials"),
        (name = "notifications", description = "The notifications inbox"),
        (name = "videos", description = "Short videos: uploads, the feed, likes and comments"),
        (name = "admin", description = "Operator routes (admin role)"),
        (name = "ops", description = "Health, readiness and metrics"),
        (name = "push", description = "momo's push API: messages to chat connections (service token or admin)"),
        (name = "goim", description = "goim's push API, as goim serves it (service token or admin)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The routes and their OpenAPI document, before state and layers.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(ops::routes())
        .merge(identity::routes())
        .merge(talk::routes())
        .merge(::live::routes())
        .merge(admin::routes())
        .merge(videos::routes())
        .merge(web::api_routes())
        .split_for_parts();
    http::openapi::complete(&mut doc);
    (router, doc)
}

/// The whole HTTP application: API, docs, ops endpoints and the layers around them.
pub fn router(state: AppState) -> Router {
    // Install the metrics recorder before the first request records anything.
    kit::metrics::handle();
    let (api, openapi) = api();
    let api_settings = &state.settings().api;
    let timeout = Duration::from_secs(api_settings.request_timeout_secs.max(1));
    let body_limit = api_settings.max_body_bytes;
    api.merge(web::page_routes())
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi))
        .fallback(http::json_errors::not_found)
        .method_not_allowed_fallback(http::json_errors::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(http::json_errors::ensure_json))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn_with_state(
            timeout,
            http::timeout::limit,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(kit::metrics::track_http))
        .with_state(state)
}
