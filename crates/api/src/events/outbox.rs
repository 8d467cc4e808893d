//! The durable delivery class: an event written to the `outbox` table in the
//! transaction that made the change, published by the node as soon as it commits and
//! then deleted; a row left behind by a node that died in between is published by
//! [`sweep`], on whichever node gets there first. Subscribers of durable events are
//! idempotent (a row may be published twice).

use std::time::Duration;

use bytes::Bytes;
use sqlx::{Any, Transaction};
use store::Store;

use crate::error::Result;

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
    pub async fn send(self, store: &Store, bus: &dyn bus::Bus) {
        for (id, subject, payload) in self.rows {
            publish_row(store, bus, id, subject, payload).await;
        }
    }
}

async fn publish_row(
    store: &Store,
    bus: &dyn bus::Bus,
    id: i64,
    subject: bus::Subject,
    payload: Bytes,
) {
    if let Err(e) = bus.publish(subject, payload).await {
        tracing::warn!(outbox = id, "durable event not published yet: {e}");
        return;
    }
    let deleted = sqlx::query("DELETE FROM outbox WHERE id = $1")
        .bind(id)
        .execute(store.writer())
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
pub async fn sweep(store: &Store, bus: &dyn bus::Bus) -> Result<usize> {
    let before = kit::time::now_ms() - ORPHANED_AFTER.as_millis() as i64;
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, subject, payload FROM outbox WHERE created_at < $1 ORDER BY id LIMIT 500",
    )
    .bind(before)
    .fetch_all(store.pool())
    .await?;
    let mut published = 0;
    for (id, subject, payload) in rows {
        let Ok(subject) = bus::Subject::new(subject) else {
            tracing::error!(outbox = id, "an outbox row with a bad subject is dropped");
            let _ = sqlx::query("DELETE FROM outbox WHERE id = $1")
                .bind(id)
                .execute(store.writer())
                .await;
            continue;
        };
        publish_row(store, bus, id, subject, Bytes::from(payload)).await;
        published += 1;
    }
    if published > 0 {
        tracing::warn!(published, "published durable events a node left behind");
    }
    Ok(published)
}

/// Sweeps the outbox every [`SWEEP_EVERY`], forever (spawn it; abort it to stop).
pub async fn sweep_loop(store: Store, bus: std::sync::Arc<dyn bus::Bus>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = sweep(&store, &*bus).await {
            tracing::warn!("cannot sweep the outbox: {e}");
        }
    }
}
