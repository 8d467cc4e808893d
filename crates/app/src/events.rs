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

use std::time::Duration;

use bytes::Bytes;
use sqlx::{Any, Transaction};

use crate::error::Result;
use crate::AppState;

/// Publishes `event` at most once. A bus that cannot take it now is logged, not
/// retried: events of this class have a fallback (history, the next refresh).
pub async fn publish<E: bus::Event>(state: &AppState, event: &E) {
    if let Err(e) = bus::publish_event(state.bus(), event).await {
        tracing::warn!(kind = E::KIND, "event not published: {e}");
    }
}

/// Subscribes to `pattern` on this node's bus ([`api::events::subscribe`]).
pub async fn subscribe(
    state: &AppState,
    pattern: &'static str,
    group: Option<&str>,
    capacity: usize,
) -> std::result::Result<bus::Subscription, bus::BusError> {
    api::events::subscribe(state.bus(), pattern, group, capacity).await
}

/// Durable events written in a transaction, published once it has committed.
#[derive(Debug, Default)]
#[must_use = "an outbox publishes nothing until `send` is called after the commit"]
pub struct Outbox {
    rows: Vec<(i64, bus::Subject, Bytes)>,
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox::default()
    }

    /// Writes `event` in `tx`, to be published when [`Outbox::send`] is called after
    /// the commit (or by [`sweep`] if this node dies first).
    pub async fn put<E: bus::Event>(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        event: &E,
    ) -> Result<()> {
        let subject = event.subject();
        let payload = bus::encode(event);
        let text = std::str::from_utf8(&payload).unwrap_or_default();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (subject, payload, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(subject.as_str())
        .bind(text)
        .bind(kit::time::now_ms())
        .fetch_one(&mut **tx)
        .await?;
        self.rows.push((id, subject, payload));
        Ok(())
    }

    /// Publishes what was written, in order, and deletes the rows. Call it after the
    /// commit. A row that cannot be published now stays for [`sweep`].
    pub async fn send(self, state: &AppState) {
        for (id, subject, payload) in self.rows {
            publish_row(state, id, subject, payload).await;
        }
    }
}

async fn publish_row(state: &AppState, id: i64, subject: bus::Subject, payload: Bytes) {
    if let Err(e) = state.bus().publish(subject, payload).await {
        tracing::warn!(outbox = id, "durable event not published yet: {e}");
        return;
    }
    let deleted = sqlx::query("DELETE FROM outbox WHERE id = $1")
        .bind(id)
        .execute(state.store().writer())
        .await;
    if let Err(e) = deleted {
        // Published; the sweep publishes it again later, which subscribers shrug off.
        tracing::warn!(outbox = id, "cannot delete a published outbox row: {e}");
    }
}

/// How old an outbox row must be before a sweep takes it for a dead node's.
pub const ORPHANED_AFTER: Duration = Duration::from_secs(3);
/// How often [`sweep_loop`] looks.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Publishes the outbox rows older than [`ORPHANED_AFTER`] (left by a node that died
/// between its commit and its publish), oldest first, at most 500 a call. Returns how
/// many it published.
pub async fn sweep(state: &AppState) -> Result<usize> {
    let before = kit::time::now_ms() - ORPHANED_AFTER.as_millis() as i64;
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, subject, payload FROM outbox WHERE created_at < $1 ORDER BY id LIMIT 500",
    )
    .bind(before)
    .fetch_all(state.store().pool())
    .await?;
    let mut published = 0;
    for (id, subject, payload) in rows {
        let Ok(subject) = bus::Subject::new(subject) else {
            tracing::error!(outbox = id, "an outbox row with a bad subject is dropped");
            let _ = sqlx::query("DELETE FROM outbox WHERE id = $1")
                .bind(id)
                .execute(state.store().writer())
                .await;
            continue;
        };
        publish_row(state, id, subject, Bytes::from(payload)).await;
        published += 1;
    }
    if published > 0 {
        tracing::warn!(published, "published durable events a node left behind");
    }
    Ok(published)
}

/// Sweeps the outbox every [`SWEEP_EVERY`], forever (spawn it; abort it to stop).
pub async fn sweep_loop(state: AppState) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = sweep(&state).await {
            tracing::warn!("cannot sweep the outbox: {e}");
        }
    }
}
