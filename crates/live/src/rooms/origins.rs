//! Streams across the nodes of a cluster: which node is a stream's origin, where the
//! others reach it, and the origin's hold on its streams.
//!
//! Every node writes its advertised addresses to `cluster_nodes` when it starts and
//! renews its row every [`RENEW_EVERY`] ([`keep_origins`]). A room's row names its
//! origin (`live_rooms.origin`, set when an encoder starts publishing to a node); the
//! media hub of every other node asks [`DbOrigins`] where to pull a stream it does not
//! have, and gets the origin's addresses while the origin renews its row.
//!
//! The room's row is also the fence between two nodes that both think they publish a
//! room: an encoder that reconnects through another node takes the room over there
//! (the row names the new node, the live session stays), and at its next renewal the
//! old node finds that its stream's room names another origin and cuts its publisher —
//! also when it was paused meanwhile. A node that cannot renew (cut off from the
//! database) for [`HOLD_FOR`] cuts its publishers itself, since the others no longer
//! see it as up and viewers go to wherever the encoder reconnects.

use std::time::Duration;

use media::hub::{LocateFuture, Origins, Upstream};

use crate::LiveState;
use api::error::Result;

/// How often a node renews its row and checks its streams' rooms.
pub const RENEW_EVERY: Duration = Duration::from_secs(2);
/// A node that has not renewed for this long is down for the others, and cuts its own
/// publishers.
pub const HOLD_FOR: Duration = Duration::from_secs(10);
/// A new publisher's first moments, when its room may still name the node it came
/// from: not fenced yet.
const SETTLING: Duration = Duration::from_secs(5);

/// Where the other nodes reach this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAddrs {
    /// RTMP, `host:port`.
    pub rtmp: String,
    /// HTTP base URL, `http://host:port`.
    pub http: String,
}

/// Records this node and its addresses (again, after a restart).
pub async fn register(state: &LiveState, addrs: &NodeAddrs) -> Result<()> {
    let now = kit::time::now_ms();
    sqlx::query(
        "INSERT INTO cluster_nodes (id, rtmp, http, started_at, seen_at) \
         VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (id) DO UPDATE SET rtmp = $2, http = $3, started_at = $4, seen_at = $4",
    )
    .bind(state.node())
    .bind(&addrs.rtmp)
    .bind(&addrs.http)
    .bind(now)
    .execute(state.store().writer())
    .await?;
    Ok(())
}

/// Renews this node's row; false if the row is gone (an operator removed it).
async fn renew(state: &LiveState) -> Result<bool> {
    let renewed = sqlx::query("UPDATE cluster_nodes SET seen_at = $1 WHERE id = $2")
        .bind(kit::time::now_ms())
        .bind(state.node())
        .execute(state.store().writer())
        .await?
        .rows_affected();
    Ok(renewed > 0)
}

/// The streams published here by an encoder (not pulled from another node) for longer
/// than `settled`.
fn published_here(state: &LiveState, settled: Duration) -> Vec<(i64, String)> {
    let Some(hub) = state.media() else {
        return Vec::new();
    };
    hub.keys()
        .into_iter()
        .filter(|key| {
            hub.stream(key)
                .is_some_and(|s| !s.is_relay() && s.publishing_for().is_some_and(|d| d >= settled))
        })
        .filter_map(|key| Some((key.parse().ok()?, key)))
        .collect()
}

/// Cuts room `id`'s publisher here when an encoder (not a pull) publishes it here and
/// `origin` names another node: the stream moved there. Whether it did.
pub fn let_go_if_moved(state: &LiveState, id: i64, origin: &str) -> bool {
    let Some(hub) = state.media() else {
        return false;
    };
    let key = id.to_string();
    let publishes_here = hub.stream(&key).is_some_and(|s| !s.is_relay());
    if origin.is_empty() || origin == state.node() || !publishes_here || !hub.cut(&key) {
        return false;
    }
    metrics::counter!("live_publishers_fenced_total").increment(1);
    tracing::warn!(
        room = id,
        origin,
        "the room's stream is published to another node now: cut here"
    );
    true
}

/// Cuts the publishers here of rooms whose row names another node as their origin.
async fn fence(state: &LiveState) -> Result<()> {
    for (id, _) in published_here(state, SETTLING) {
        let origin: Option<Option<String>> =
            sqlx::query_scalar("SELECT origin FROM live_rooms WHERE id = $1")
                .bind(id)
                .fetch_optional(state.store().pool())
                .await?;
        if let Some(Some(origin)) = origin {
            let_go_if_moved(state, id, &origin);
        }
    }
    Ok(())
}

/// Renews this node's hold on its streams every [`RENEW_EVERY`] until the process
/// ends: fences them, and cuts them all when the hold could not be renewed for
/// [`HOLD_FOR`].
pub async fn keep_origins(state: LiveState, addrs: NodeAddrs) {
    let mut tick = tokio::time::interval(RENEW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut renewed_at = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        // A database that does not answer must not hold the loop past the hold.
        let renewal = tokio::time::timeout(RENEW_EVERY * 2, async {
            match renew(&state).await? {
                true => Ok(()),
                false => register(&state, &addrs).await,
            }
        })
        .await
        .unwrap_or_else(|_| Err(api::error::Error::internal("the database did not answer")));
        match renewal {
            Ok(()) => {
                renewed_at = tokio::time::Instant::now();
                if let Err(e) = fence(&state).await {
                    tracing::warn!("cannot check this node's streams' origins: {e}");
                }
            }
            Err(e) if renewed_at.elapsed() >= HOLD_FOR => {
                tracing::error!(
                    "cannot renew this node's hold on its streams for {:?} ({e}): \
                     cutting its publishers so that they reconnect to another node",
                    renewed_at.elapsed()
                );
                if let Some(hub) = state.media() {
                    for (_, key) in published_here(&state, Duration::ZERO) {
                        hub.cut(&key);
                    }
                }
            }
            Err(e) => tracing::warn!("cannot renew this node's hold on its streams: {e}"),
        }
    }
}

/// Finds streams' origins in the database, for the media hub's pulls.
pub struct DbOrigins {
    state: LiveState,
}

impl DbOrigins {
    pub fn new(state: LiveState) -> DbOrigins {
        DbOrigins { state }
    }

    async fn find(&self, key: &str) -> Result<Option<Upstream>> {
        let Ok(id) = key.parse::<i64>() else {
            return Ok(None);
        };
        let row: Option<(String, String, String, i64)> = sqlx::query_as(
            "SELECT n.id, n.rtmp, n.http, n.seen_at FROM live_rooms r \
             JOIN cluster_nodes n ON n.id = r.origin \
             WHERE r.id = $1 AND r.status = 'live' AND r.banned = 0",
        )
        .bind(id)
        .fetch_optional(self.state.store().pool())
        .await?;
        let Some((node, rtmp, http, seen_at)) = row else {
            return Ok(None);
        };
        let down = kit::time::now_ms() - seen_at > HOLD_FOR.as_millis() as i64;
        if node == self.state.node() || down {
            return Ok(None);
        }
        let live = &self.state.settings().live;
        let name = match live.play_secret.as_deref().filter(|s| !s.is_empty()) {
            Some(secret) => {
                let expires = kit::time::now_secs() + live.play_url_ttl_secs as i64;
                let signer = media::server::PlaySigning::new(secret.as_bytes());
                format!("{key}?{}", signer.sign(key, expires))
            }
            None => key.to_owned(),
        };
        Ok(Some(Upstream {
            node,
            rtmp,
            http,
            name,
        }))
    }
}

impl Origins for DbOrigins {
    fn locate(&self, key: &str) -> LocateFuture<'_> {
        let key = key.to_owned();
        Box::pin(async move {
            self.find(&key).await.unwrap_or_else(|e| {
                tracing::warn!(key, "cannot look for the stream's origin: {e}");
                None
            })
        })
    }
}
