//! Fixed-interval schedules: one job per slot, whichever node gets there first.
//!
//! Slot `k` of a schedule with interval `i` starts at `k·i` ms since the epoch, the same on
//! every node. Enqueueing a slot's job and advancing `job_schedules.last_slot_at` happen in
//! one transaction guarded by `last_slot_at < slot`, so one node wins each slot; the others'
//! updates match no row and they enqueue nothing.

use std::time::Duration;

use serde_json::Value;
use store::sqlx;

use crate::{Enqueue, Queue};

/// A schedule registered with [`Worker::every`](crate::Worker::every).
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    pub name: String,
    pub interval_ms: i64,
    pub kind: String,
    pub payload: Value,
    pub max_attempts: u32,
}

impl Schedule {
    pub fn new(name: &str, interval: Duration, kind: &str, payload: Value) -> Schedule {
        let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
        assert!(
            interval_ms > 0,
            "schedule {name:?}: the interval must be at least a millisecond"
        );
        Schedule {
            name: name.to_string(),
            interval_ms,
            kind: kind.to_string(),
            payload,
            max_attempts: Enqueue::default().max_attempts,
        }
    }

    /// The start of the slot `now` falls in.
    pub fn slot_at(&self, now: i64) -> i64 {
        now - now.rem_euclid(self.interval_ms)
    }

    /// Enqueues the current slot's job unless some node already did. Returns the job id if
    /// this call enqueued it, and the start of the next slot (when to call again).
    pub async fn tick(&self, queue: &Queue) -> Result<(Option<i64>, i64), sqlx::Error> {
        let now = kit::time::now_ms();
        let slot = self.slot_at(now);
        let next = slot.saturating_add(self.interval_ms);
        let mut tx = queue.store().begin().await?;
        sqlx::query(
            "INSERT INTO job_schedules (name, last_slot_at, updated_at) VALUES ($1, -1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&self.name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let won = sqlx::query(
            "UPDATE job_schedules SET last_slot_at = $1, updated_at = $2 \
             WHERE name = $3 AND last_slot_at < $1",
        )
        .bind(slot)
        .bind(now)
        .bind(&self.name)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !won {
            tx.rollback().await?;
            return Ok((None, next));
        }
        let opts = Enqueue {
            run_at_ms: Some(now),
            unique_key: Some(format!("{}:{slot}", self.name)),
            max_attempts: self.max_attempts,
        };
        let id = queue
            .enqueue_in(&mut tx, &self.kind, self.payload.clone(), opts)
            .await?;
        tx.commit().await?;
        queue.wake();
        Ok((Some(id), next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_aligned_to_the_epoch() {
        let s = Schedule::new("s", Duration::from_secs(60), "k", Value::Null);
        assert_eq!(s.slot_at(0), 0);
        assert_eq!(s.slot_at(59_999), 0);
        assert_eq!(s.slot_at(60_000), 60_000);
        assert_eq!(s.slot_at(1_700_000_123_456), 1_700_000_100_000);
    }
}
