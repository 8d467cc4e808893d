//! momo's event bus: how one part of momo tells the others that something happened,
//! the same on one node and on many.
//!
//! A context publishes a typed, versioned [`Event`] to the [`Subject`] it is about
//! (`momo.room.7.gift`, `momo.user.42.banned`); whoever cares subscribes to a [`Pattern`]
//! (`momo.room.7.>`) and reads its own bounded queue ([`Subscription`]). The in-process
//! bus ([`InProcess`]) is the default; a NATS one, for many nodes, goes behind the same
//! [`Bus`] trait with the same subjects and the same bytes ([`event::encode`]).
//!
//! Delivery is at most once: a full queue drops (counted, and the subscriber is told it
//! lagged), and a slow subscriber never holds up a publisher. What must not be lost is
//! written to the database in the same transaction as the change that caused it, and its
//! subscriber treats the bus as a wake-up and resyncs from the database when it lagged.

pub mod event;
pub mod inproc;
pub mod nats;
pub mod subject;
pub mod subscription;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

pub use event::{decode, encode, kind_of, skipped, DecodeError, Event};
pub use inproc::InProcess;
pub use nats::NatsBus;
pub use subject::{BadSubject, Pattern, Subject};
pub use subscription::{channel, merge, Delivery, Feeder, Message, Offered, Subscription};

/// Why the bus could not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The bus between nodes cannot be reached now.
    #[error("the event bus is unavailable: {0}")]
    Unavailable(String),
}

pub type BusFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BusError>> + Send + 'a>>;

/// Carries events between the parts of momo (and, in a cluster, between nodes).
pub trait Bus: Send + Sync + 'static {
    /// Publishes `payload` (an event's envelope) to `subject`. Never waits for
    /// subscribers: their queues take it or drop it.
    fn publish(&self, subject: Subject, payload: Bytes) -> BusFuture<'_, ()>;

    /// Subscribes to `pattern` with a queue of `capacity` messages. Once this returns,
    /// every message published to a matching subject reaches the queue (or is counted as
    /// dropped): a subscriber that answers a client after subscribing misses nothing
    /// published after that answer.
    fn subscribe(&self, pattern: Pattern, capacity: usize) -> BusFuture<'_, Subscription>;

    /// Subscribes to `pattern` as a member of queue group `group`: each message reaches
    /// one member of the group, on one node (NATS's queue groups). For work that must be
    /// done once however many nodes hear of it, such as notifying an anchor's followers.
    fn subscribe_group(
        &self,
        pattern: Pattern,
        group: &str,
        capacity: usize,
    ) -> BusFuture<'_, Subscription>;

    /// Whether the bus reaches the other nodes now (always, for a bus of one node).
    fn is_up(&self) -> bool {
        true
    }

    /// Whether events travel to other nodes at all (false for the in-process bus): what
    /// only other nodes need is not published on a bus of one node.
    fn spans_nodes(&self) -> bool {
        false
    }
}

impl std::fmt::Debug for dyn Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bus")
    }
}

/// Publishes `event` to its subject, in its envelope.
pub async fn publish_event<E: Event>(bus: &dyn Bus, event: &E) -> Result<(), BusError> {
    bus.publish(event.subject(), encode(event)).await
}
