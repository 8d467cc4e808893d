//! How a context tells the others (and the other nodes) that something happened: an
//! event on the bus, in one of two delivery classes.
//!
//! - **At most once** ([`publish`]): after the change is committed, the event is
//!   published; a full subscriber queue drops it (counted) and nobody retries. For what
//!   clients can resync from history: a gift's announcement, a new message's push, a
//!   notification's push, a room going live.
//! - **Durable** ([`Outbox`]): the event is written to the `outbox` table in the
//!   transaction that made the change, published by the node as soon as it commits and
//!   then deleted; a row left behind by a node that died in between is published by
//!   [`sweep`], on whichever node gets there first. Subscribers of durable events are
//!   idempotent (a row may be published twice) and resync from the database when their
//!   queue overflowed. For what must happen: a ban closing sockets, a stream cut, a kick.
//!
//! Each context's events are in its `events.rs`; `crate::relay` is what this node does
//! with the ones its sockets and streams must hear.

use crate::AppState;

pub use api::events::outbox::{Outbox, ORPHANED_AFTER, SWEEP_EVERY};

/// Publishes `event` at most once ([`api::events::publish`]).
pub async fn publish<E: bus::Event>(state: &AppState, event: &E) {
    api::events::publish(state.bus(), event).await
}

/// Subscribes to `pattern` on this node's bus ([`api::events::subscribe`]).
pub async fn subscribe(
    state: &AppState,
    pattern: &'static str,
    group: Option<&str>,
    capacity: usize,
) -> Result<bus::Subscription, bus::BusError> {
    api::events::subscribe(state.bus(), pattern, group, capacity).await
}

/// Publishes the outbox rows a node left behind ([`api::events::outbox::sweep`]).
pub async fn sweep(state: &AppState) -> api::Result<usize> {
    api::events::outbox::sweep(state.store(), state.bus()).await
}

/// Sweeps the outbox every [`SWEEP_EVERY`], forever (spawn it; abort it to stop).
pub async fn sweep_loop(state: AppState) {
    api::events::outbox::sweep_loop(state.store().clone(), state.0.bus.clone()).await
}
