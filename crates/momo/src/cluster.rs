//! Cluster mode (`[cluster] nats_url`): what several nodes must share, checked before a
//! node starts, and the event bus that carries events between them.
//!
//! A node of a cluster refuses to start unless it shares with the others the things
//! that otherwise quietly differ per node: the token-signing secret (else a token
//! issued by one node fails on the next), the service token of the push APIs, the
//! database (PostgreSQL; each node's own SQLite file would be a cluster of strangers),
//! and where video files are kept (S3, or a directory the operator declares shared: a
//! resumable upload's chunks and its processing job may each reach another node).

use std::sync::Arc;

use anyhow::Context;

use crate::Config;

/// Why `config` cannot run as a node of a cluster, every reason at once; `Ok` when it
/// can, or when cluster mode is off.
pub fn check(config: &Config) -> anyhow::Result<()> {
    if config.cluster.nats().is_none() {
        return Ok(());
    }
    let mut missing = Vec::new();
    if config
        .app
        .auth
        .jwt_secret
        .as_deref()
        .is_none_or(str::is_empty)
    {
        missing.push(
            "auth.jwt_secret (MOMO_AUTH__JWT_SECRET): the same secret on every node, or a \
             token issued by one node is refused by the others",
        );
    }
    if config
        .chat
        .service_token
        .as_deref()
        .is_none_or(str::is_empty)
    {
        missing.push(
            "chat.service_token (MOMO_CHAT__SERVICE_TOKEN): the same token on every node, \
             for the push APIs whichever node a call reaches",
        );
    }
    let url = config.database_url.as_deref().unwrap_or_default();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        missing.push(
            "database_url (MOMO_DATABASE_URL): one PostgreSQL database for every node; \
             each node's own SQLite file would not be shared",
        );
    }
    let storage = config.app.videos.storage_url.trim();
    if !(storage.starts_with("s3://") || storage.starts_with("file:///")) {
        missing.push(
            "videos.storage_url (MOMO_VIDEOS__STORAGE_URL): where every node reaches the \
             video files, s3://bucket or file:///path on a filesystem every node mounts; \
             each node's own data dir is not shared",
        );
    }
    if missing.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "cluster mode ([cluster] nats_url is set) needs, on every node:\n  - {}",
        missing.join("\n  - ")
    )
}

/// This node's name: `[cluster] node_id`, else the host name and the process id.
pub fn node_id(config: &Config) -> String {
    if let Some(id) = config.cluster.node_id.as_deref().filter(|s| !s.is_empty()) {
        return id.to_owned();
    }
    format!("{}-{}", app::nodes::host_name(), std::process::id())
}

/// Makes this node an edge for the streams published to the others and an origin for
/// its own, in cluster mode: records where the others reach it, renews that with its
/// hold on its streams (the returned task), and lets `hub` pull streams from their
/// origins. `None` when cluster mode is off.
pub async fn streams(
    config: &Config,
    state: &app::AppState,
    hub: &Arc<media::hub::Hub>,
    rtmp: std::net::SocketAddr,
    http: std::net::SocketAddr,
) -> Option<tokio::task::JoinHandle<()>> {
    config.cluster.nats()?;
    use app::live::origins::{keep_origins, register, DbOrigins, NodeAddrs};
    let addrs = NodeAddrs {
        rtmp: advertised(config.cluster.advertise_rtmp.as_deref(), rtmp),
        http: config
            .cluster
            .advertise_http
            .clone()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| format!("http://{}", advertised(None, http))),
    };
    let live = state.live().clone();
    match register(&live, &addrs).await {
        Ok(()) => tracing::info!(
            rtmp = addrs.rtmp,
            http = addrs.http,
            "other nodes pull the streams published here from these addresses"
        ),
        Err(e) => tracing::warn!("cannot record this node's addresses yet: {e}"),
    }
    hub.set_origins(
        Arc::new(DbOrigins::new(live.clone())),
        media::hub::PullConfig::default(),
    );
    Some(tokio::spawn(keep_origins(live, addrs)))
}

/// `configured`, else `bound` with this machine's address in place of an unspecified
/// one (0.0.0.0 or ::).
fn advertised(configured: Option<&str>, bound: std::net::SocketAddr) -> String {
    if let Some(addr) = configured.map(str::trim).filter(|a| !a.is_empty()) {
        return addr.to_owned();
    }
    std::net::SocketAddr::new(reachable(bound.ip()), bound.port()).to_string()
}

/// `bound`, or this machine's address when `bound` is unspecified (0.0.0.0 or ::):
/// where others reach a listener bound there.
pub(crate) fn reachable(bound: std::net::IpAddr) -> std::net::IpAddr {
    if bound.is_unspecified() {
        machine_ip()
    } else {
        bound
    }
}

/// The address this machine sends from (no packet is sent: connecting a UDP socket
/// only picks the route), else loopback.
fn machine_ip() -> std::net::IpAddr {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.0.2.1:9")?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into())
}

/// The event bus: NATS in cluster mode, else in-process.
pub async fn bus(config: &Config) -> anyhow::Result<Arc<dyn bus::Bus>> {
    match config.cluster.nats() {
        None => Ok(Arc::new(bus::InProcess::new())),
        Some(url) => {
            let node = node_id(config);
            let nats = bus::NatsBus::connect(url, &format!("momo {node}"))
                .await
                .context("cluster mode: the event bus")?;
            tracing::info!(node = %node, "cluster mode: events travel between nodes over NATS");
            Ok(Arc::new(nats))
        }
    }
}

/// Connects `state` to the cluster's Redis when `[cluster] redis_url` is set: now if it
/// answers, else in the background, retrying until it does (the node serves meanwhile,
/// counting on its own). Warns when a cluster node has no Redis at all.
pub async fn share(config: &Config, state: &app::AppState) {
    let Some(url) = config.cluster.redis().map(str::to_owned) else {
        if config.cluster.nats().is_some() {
            tracing::warn!(
                "cluster mode without [cluster] redis_url: sign-in limits and online counts \
                 are per node (a guesser gets each limit once per node)"
            );
        }
        return;
    };
    let prefix = config
        .cluster
        .redis_prefix
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "momo".to_owned());
    match api::shared::Shared::connect(&url, &prefix).await {
        Ok(shared) => {
            tracing::info!("limits and online counts are kept in Redis with the other nodes");
            state.set_shared(shared);
        }
        Err(e) => {
            tracing::warn!("{e}; counting on this node until Redis answers");
            state.want_shared();
            let state = state.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    if let Ok(shared) = api::shared::Shared::connect(&url, &prefix).await {
                        tracing::info!("Redis answers: limits and online counts are shared now");
                        state.set_shared(shared);
                        return;
                    }
                }
            });
        }
    }
}
