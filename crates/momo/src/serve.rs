//! Starting and stopping a momo node.
//!
//! [`open`] connects the database, runs migrations and builds the application state;
//! [`start`] binds the listeners and serves until its shutdown future resolves, then
//! stops accepting, lets in-flight requests finish (up to the grace period) and closes
//! the database.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use app::AppState;
use store::{PoolSettings, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::Config;

/// A stopping node tells each chat client to connect again after a wait of its own
/// within this, so that a node's clients do not all arrive elsewhere in the same second.
pub const RECONNECT_SPREAD: Duration = Duration::from_secs(5);

/// Connects to the configured database and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    create_private_dir(&config.data_dir)
        .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
    let url = config.database_url();
    let settings = PoolSettings {
        max_connections: config.database_max_connections,
        sqlite_synchronous: config.database_synchronous.pragma(),
        ..Default::default()
    };
    let store = Store::connect(&url, &settings)
        .await
        .with_context(|| format!("database {}", redact(&url)))?;
    keep_private(&config.data_dir.join("momo.db"));
    store.migrate().await?;
    tracing::info!(backend = store.backend().name(), "database ready");
    Ok(store)
}

/// The database and the application state built on it, with a bus of its own.
pub async fn open(config: &Config) -> anyhow::Result<AppState> {
    open_on(config, std::sync::Arc::new(bus::InProcess::new())).await
}

/// The database and the application state built on it, telling its events on `bus`.
pub async fn open_on(
    config: &Config,
    bus: std::sync::Arc<dyn bus::Bus>,
) -> anyhow::Result<AppState> {
    kit::cidr::parse_all(&config.app.auth.trusted_proxies).context("auth.trusted_proxies")?;
    let store = open_store(config).await?;
    let secret =
        crate::secrets::jwt_secret(config.app.auth.jwt_secret.as_deref(), &config.data_dir)?;
    let mut settings = config.app.clone();
    settings.conversations = config.chat.conversations();
    settings.videos.files_dir = config.data_dir.join("files");
    settings.videos.work_dir = config.data_dir.join("tmp");
    let files = app::videos::storage::Files::from_settings(&settings.videos)
        .map_err(|e| anyhow::anyhow!(e))?;
    tracing::info!(files = files.describe(), "video storage ready");
    Ok(AppState::new(store, settings, &secret, files, bus))
}

/// A running node.
pub struct Running {
    /// Where the HTTP server listens (useful when the config said port 0).
    pub http_addr: SocketAddr,
    /// Where the RTMP server listens.
    pub rtmp_addr: SocketAddr,
    /// Where goim's plain-TCP chat transport listens, when it is on.
    pub chat_tcp_addr: Option<SocketAddr>,
    /// The live streams of this node.
    pub hub: std::sync::Arc<media::hub::Hub>,
    /// The chat connections of this node.
    pub gateway: std::sync::Arc<im::gateway::Gateway>,
    /// The event bus this node publishes and listens on.
    pub bus: std::sync::Arc<dyn bus::Bus>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Asks the node to stop and waits until it has.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.context("server task failed")?
    }

    /// Waits until the node stops by itself (its shutdown future resolved).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("server task failed")?
    }
}

/// Opens the database, binds the HTTP listener and serves in a background task until
/// `shutdown` resolves or [`Running::stop`] is called.
pub async fn start(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let mut config = config;
    crate::cluster::check(&config)?;
    let rtmp_listener = kit::net::bind_with_backlog(&config.rtmp, config.listen_backlog)
        .await
        .with_context(|| format!("cannot listen for RTMP on {}", config.rtmp))?;
    let rtmp_addr = rtmp_listener.local_addr()?;
    config.app.live.rtmp_port = rtmp_addr.port();
    let bus = crate::cluster::bus(&config).await?;
    let state = open_on(&config, bus.clone()).await?;
    let welcome = state.clone();
    crate::cluster::share(&config, &state).await;
    tokio::spawn(app::search_index::refresh(state.store().clone()));
    for warning in app::ops::health::unsafe_settings(&config.app) {
        tracing::warn!("UNSAFE SETTING: {warning}");
    }
    let listener = kit::net::bind_with_backlog(&config.http, config.listen_backlog)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http))?;
    let http_addr = listener.local_addr()?;
    let chat_tcp = match config.chat.tcp.as_deref().filter(|a| !a.is_empty()) {
        Some(addr) => Some(
            kit::net::bind_with_backlog(addr, config.listen_backlog)
                .await
                .with_context(|| format!("cannot listen for chat over TCP on {addr}"))?,
        ),
        None => None,
    };
    let chat_tcp_addr = chat_tcp.as_ref().map(|l| l.local_addr()).transpose()?;

    let hub = media::hub::Hub::new(config.media.hub());
    state.set_media(hub.clone());
    // This node, as the origin of the streams published to it.
    state.live().set_node(crate::cluster::node_id(&config));
    tokio::spawn(app::live::streams::follow_hub(
        state.live().clone(),
        hub.events(),
    ));
    let heartbeat = tokio::spawn(app::live::upkeep::run_heartbeat(state.live().clone()));
    let origins = crate::cluster::streams(&config, &state, &hub, rtmp_addr, http_addr).await;
    let (notices_stop_tx, notices_stop_rx) = oneshot::channel::<()>();
    let gift_notices = tokio::spawn(app::gifts::notices::run(state.live().clone(), async move {
        let _ = notices_stop_rx.await;
    }));
    let (jobs_stop_tx, jobs_stop_rx) = oneshot::channel::<()>();
    let worker = tokio::spawn(app::background::worker(&state).run(async move {
        let _ = jobs_stop_rx.await;
    }));
    let auth: std::sync::Arc<dyn media::server::PublishAuth> =
        std::sync::Arc::new(app::live::stream_auth::DbStreamAuth(state.live().clone()));
    let signing = config
        .app
        .live
        .play_secret
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| media::server::PlaySigning::new(s.as_bytes()));
    let mut rtmp_config = config.media.rtmp();
    rtmp_config.play_signing = signing.clone();
    rtmp_config.connections.exempt = config.proxies();
    let (rtmp_stop_tx, rtmp_stop_rx) = oneshot::channel::<()>();
    tokio::spawn(media::server::rtmp::serve(
        rtmp_listener,
        hub.clone(),
        auth.clone(),
        rtmp_config,
        async move {
            let _ = rtmp_stop_rx.await;
        },
    ));
    let mut gateway_config = config.chat.gateway();
    gateway_config.connections.exempt = config.proxies();
    gateway_config.proxies = config.proxies();
    let gateway = im::gateway::Gateway::new(
        gateway_config,
        std::sync::Arc::new(app::accounts::chat_auth::ChatAuth(state.identity().clone())),
    );
    gateway.set_history(std::sync::Arc::new(app::chat::history::ChatHistory(
        state.talk().clone(),
    )));
    gateway.set_inbox(std::sync::Arc::new(
        app::notifications::socket::NotificationInbox(state.identity().clone()),
    ));
    gateway.set_policy(std::sync::Arc::new(app::live::room_rules::ChatRoomRules(
        state.live().clone(),
    )));
    state.set_chat(gateway.clone());
    // The contexts tell this node's sockets and streams through the bus.
    let listeners = app::listen(&state)
        .await
        .context("cannot subscribe to the event bus")?;
    let (chat_tcp_stop_tx, chat_tcp_stop_rx) = oneshot::channel::<()>();
    if let Some(listener) = chat_tcp {
        tokio::spawn(im::gateway::tcp::serve(
            listener,
            gateway.clone(),
            async move {
                let _ = chat_tcp_stop_rx.await;
            },
        ));
    }
    // Sensitive words kept in the database, and edits made on other nodes.
    if let Err(e) = app::admin::words::reload(&state).await {
        tracing::warn!("cannot load sensitive words: {e}");
    }
    let words = tokio::spawn(app::admin::words::refresh_loop(state.clone()));
    let media_outputs =
        media::server::http::Outputs::new(hub.clone(), signing, config.media.flush());
    let webrtc = crate::webrtc::start(&config.media, &hub).await;
    let mut router = app::router(state.clone()).merge(media_outputs.clone().routes());
    if let Some(webrtc) = &webrtc {
        router = router.merge(media::webrtc::http::routes(
            webrtc.clone(),
            media_outputs.clone(),
            auth,
        ));
    }
    let router = router.merge(im::gateway::http::routes(gateway.clone()));
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let (stopping_tx, stopping_rx) = oneshot::channel::<()>();

    let write_timeout = Duration::from_secs(config.http_write_timeout_secs);
    let http_timeouts = crate::http_server::HttpTimeouts {
        header: Duration::from_secs(config.http_header_timeout_secs.max(1)),
        write: write_timeout,
    };
    let http_limits = kit::conn_limits::ConnLimits::new("http", config.http_caps());
    let draining = gateway.clone();
    let task = tokio::spawn(async move {
        let signal = async move {
            tokio::select! {
                _ = shutdown => {}
                _ = stop_rx => {}
            }
            tracing::info!("stopping: no new connections; finishing requests in flight");
            let told = draining.drain(RECONNECT_SPREAD);
            if told > 0 {
                tracing::info!(
                    connections = told,
                    "told chat clients to connect again within {RECONNECT_SPREAD:?}"
                );
            }
            let _ = rtmp_stop_tx.send(());
            let _ = chat_tcp_stop_tx.send(());
            let _ = jobs_stop_tx.send(());
            let _ = stopping_tx.send(());
        };
        // Fresh HTTP-FLV connections are served before the HTTP server sees them; every
        // connection holds a permit of the HTTP caps; a client that stops reading is
        // dropped after the write timeout, one that is slow to send its head after the
        // header timeout.
        let listener = media::server::flv_direct::SniffingListener::new(
            listener,
            media_outputs,
            write_timeout,
            Some(http_limits),
        );
        let server = crate::http_server::serve(listener, router, http_timeouts, signal);
        let mut server = std::pin::pin!(server);
        // Serve; once stopping, give in-flight requests `grace` to finish.
        let result: anyhow::Result<()> = tokio::select! {
            _ = &mut server => Ok(()),
            _ = async {
                let _ = stopping_rx.await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!("requests still running after {grace:?}; closing them");
                Ok(())
            }
        };
        heartbeat.abort();
        if let Some(origins) = &origins {
            origins.abort();
        }
        words.abort();
        for task in &listeners {
            task.abort();
        }
        // After the last request: no gift is left out of the final notices.
        let _ = notices_stop_tx.send(());
        let _ = tokio::time::timeout(grace, gift_notices).await;
        if tokio::time::timeout(grace, worker).await.is_err() {
            tracing::warn!("jobs still running after {grace:?}; they will run again");
        }
        state.store().close().await;
        tracing::info!("stopped");
        result
    });
    tracing::info!("RTMP listening on rtmp://{rtmp_addr}/live");
    tracing::info!("HTTP listening on http://{http_addr}");
    if let Some(addr) = chat_tcp_addr {
        tracing::info!("chat (goim over TCP) listening on {addr}");
    }
    crate::welcome::log_where_to_go(&welcome, &config, http_addr).await;
    Ok(Running {
        http_addr,
        rtmp_addr,
        chat_tcp_addr,
        hub,
        gateway,
        bus,
        stop: Some(stop_tx),
        task,
    })
}

/// Creates `dir` (and its parents) readable by this user only: it holds the database,
/// the token-signing secret and unpublished uploads. An existing directory is left as
/// the operator made it.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Makes the SQLite file `db` (if it is there) readable by this user only; SQLite gives
/// its `-wal` and `-shm` files the same mode.
fn keep_private(db: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(db) {
        if meta.permissions().mode() & 0o077 != 0 {
            let _ = std::fs::set_permissions(db, std::fs::Permissions::from_mode(0o600));
        }
    }
}

/// The URL without its password, for logs and errors.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            super::redact("sqlite://data/momo.db"),
            "sqlite://data/momo.db"
        );
    }
}
