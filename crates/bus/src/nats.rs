//! The bus between nodes, over core NATS: the same subjects and the same bytes as the
//! in-process bus, so a context cannot tell which it is on.
//!
//! - **Delivery** is NATS's own: at most once, in order per publishing node and subject.
//!   A node hears its own publishes back from the server (that is how its local
//!   subscribers get them), so one path serves local and remote subscribers alike. What
//!   must not be lost is durable in the database (the outbox, the job queue, sequences)
//!   and resynced from there, never replayed from a stream on the hot path.
//! - **A subscription is in force when `subscribe` returns**: the client flushes, and the
//!   server has processed the SUB before anything published after the flush. A node that
//!   answers a join after subscribing misses nothing published after its answer.
//! - **Back-pressure**: each subscription has a task that moves messages from the NATS
//!   client's buffer into the subscriber's bounded queue ([`crate::Feeder`]): a full queue
//!   drops and counts, and the task never waits, so a slow subscriber cannot slow the
//!   connection that every other subscription of the node shares. When the subscriber
//!   goes, the task unsubscribes.
//! - **Outages**: the client reconnects by itself and subscribes again; while the server
//!   is away, publishes are refused ([`BusError::Unavailable`]) and [`Bus::is_up`]
//!   says so (`/readyz` reports it). A node that starts while no server answers starts
//!   all the same and connects when one does.

use async_nats::connection::State;
use async_nats::{Client, ConnectOptions};
use bytes::Bytes;
use futures::StreamExt;

use crate::subject::{Pattern, Subject};
use crate::subscription::{channel, Message, Offered, Subscription};
use crate::{Bus, BusError, BusFuture};

/// Messages the NATS client holds per subscription before they reach the task that
/// moves them (its own buffer, beside the subscriber's queue).
const CLIENT_BUFFER: usize = 8_192;

fn options(name: &str) -> ConnectOptions {
    ConnectOptions::new()
        .name(name)
        .subscription_capacity(CLIENT_BUFFER)
        .connection_timeout(std::time::Duration::from_secs(5))
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("event bus: NATS connected"),
                async_nats::Event::Disconnected => {
                    tracing::warn!("event bus: NATS disconnected; reconnecting")
                }
                other => tracing::info!("event bus: NATS {other}"),
            }
        })
}

/// A connection to a NATS server (or cluster), as a [`Bus`].
#[derive(Debug, Clone)]
pub struct NatsBus {
    client: Client,
}

impl NatsBus {
    /// Connects to `url` (`nats://host:4222`, or several separated by commas), naming the
    /// connection `name` (the node, in the server's monitoring). When no server answers
    /// now, the bus starts anyway and keeps trying in the background: the node serves
    /// alone meanwhile ([`Bus::is_up`] is false, publishes are refused) and its
    /// subscriptions take effect once a server answers. Fails only for a URL that
    /// cannot be one.
    pub async fn connect(url: &str, name: &str) -> Result<NatsBus, BusError> {
        let addrs: Vec<async_nats::ServerAddr> = url
            .split(',')
            .map(|a| a.trim().parse::<async_nats::ServerAddr>())
            .collect::<Result<_, _>>()
            .map_err(|e| BusError::Unavailable(format!("NATS URL {url}: {e}")))?;
        match options(name).connect(addrs.as_slice()).await {
            Ok(client) => Ok(NatsBus { client }),
            Err(e) => {
                tracing::warn!(
                    "event bus: cannot connect to NATS at {url} ({e}); this node serves alone \
                     and keeps trying"
                );
                let client = options(name)
                    .retry_on_initial_connect()
                    .connect(addrs.as_slice())
                    .await
                    .map_err(|e| {
                        BusError::Unavailable(format!("cannot connect to NATS at {url}: {e}"))
                    })?;
                Ok(NatsBus { client })
            }
        }
    }

    fn connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    async fn join(
        &self,
        pattern: Pattern,
        group: Option<&str>,
        capacity: usize,
    ) -> Result<Subscription, BusError> {
        let unavailable = |e: &dyn std::fmt::Display| BusError::Unavailable(e.to_string());
        let mut nats_sub = match group {
            Some(g) => self
                .client
                .queue_subscribe(pattern.as_str().to_owned(), g.to_owned())
                .await
                .map_err(|e| unavailable(&e))?,
            None => self
                .client
                .subscribe(pattern.as_str().to_owned())
                .await
                .map_err(|e| unavailable(&e))?,
        };
        // The server has the SUB once the flush is answered. While no server answers,
        // the client sends it when one does, with every other subscription.
        if self.connected() {
            self.client.flush().await.map_err(|e| unavailable(&e))?;
        }
        let (feeder, sub) = channel(capacity);
        tokio::spawn(async move {
            loop {
                let msg = tokio::select! {
                    msg = nats_sub.next() => msg,
                    // The subscriber went: unsubscribe now, not at the next message.
                    () = feeder.closed() => break,
                };
                let Some(msg) = msg else { break };
                let Ok(subject) = Subject::new(msg.subject.as_str()) else {
                    tracing::warn!(subject = %msg.subject, "a message on a subject momo does not use");
                    continue;
                };
                let offered = feeder.offer(Message {
                    subject,
                    payload: msg.payload,
                });
                if offered == Offered::Closed {
                    break;
                }
            }
            let _ = nats_sub.unsubscribe().await;
        });
        Ok(sub)
    }
}

impl Bus for NatsBus {
    fn publish(&self, subject: Subject, payload: Bytes) -> BusFuture<'_, ()> {
        Box::pin(async move {
            if !self.connected() {
                return Err(BusError::Unavailable("NATS is not connected".into()));
            }
            self.client
                .publish(subject.as_str().to_owned(), payload)
                .await
                .map_err(|e| BusError::Unavailable(e.to_string()))
        })
    }

    fn subscribe(&self, pattern: Pattern, capacity: usize) -> BusFuture<'_, Subscription> {
        Box::pin(self.join(pattern, None, capacity))
    }

    fn subscribe_group(
        &self,
        pattern: Pattern,
        group: &str,
        capacity: usize,
    ) -> BusFuture<'_, Subscription> {
        let group = group.to_owned();
        Box::pin(async move { self.join(pattern, Some(&group), capacity).await })
    }

    fn is_up(&self) -> bool {
        self.connected()
    }

    fn spans_nodes(&self) -> bool {
        true
    }
}
