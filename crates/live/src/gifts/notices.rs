//! "You received a gift" in the anchor's inbox, without an inbox write per gift: gifts
//! are added up per (anchor, sender, gift) as they are sent, and each sum becomes one
//! `gift` notification when [`run`] flushes, once a second — so a fan sending a hundred
//! roses in a second makes one notice of a hundred roses, and a gift storm costs the
//! database a bounded number of writes. Each notice is asked for with a durable request
//! ([`api::notices`]), stored by the identity context. Sums not yet flushed when the
//! process dies are lost; the gifts themselves and the anchor's diamonds are not (they
//! are in the ledger).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

use crate::LiveState;
use api::{Notification, NotificationKind};

/// How often sums become notifications.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Sum {
    gift_name: String,
    room_id: i64,
    count: i64,
    coins: i64,
    diamonds: i64,
}

/// Gifts received since the last flush.
#[derive(Debug, Default)]
pub struct GiftNotices {
    pending: Mutex<HashMap<(i64, i64, i64), Sum>>,
}

/// One gift, as the notice counts it.
pub struct Received<'a> {
    pub anchor: i64,
    pub sender: i64,
    pub gift_id: i64,
    pub gift_name: &'a str,
    pub room_id: i64,
    pub count: i64,
    pub coins: i64,
    pub diamonds: i64,
}

impl GiftNotices {
    /// Counts a gift towards its anchor's next notice.
    pub fn add(&self, g: Received<'_>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let sum = pending.entry((g.anchor, g.sender, g.gift_id)).or_default();
        if sum.gift_name.is_empty() {
            sum.gift_name = g.gift_name.to_string();
        }
        sum.room_id = g.room_id;
        sum.count += g.count;
        sum.coins += g.coins;
        sum.diamonds += g.diamonds;
    }

    fn take(&self) -> HashMap<(i64, i64, i64), Sum> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Turns the sums so far into notifications.
pub async fn flush(state: &LiveState) {
    for ((anchor, sender, gift_id), sum) in state.gift_notices().take() {
        let n = Notification {
            kind: NotificationKind::Gift,
            actor_id: Some(sender),
            payload: json!({
                "room_id": sum.room_id,
                "gift_id": gift_id,
                "gift_name": sum.gift_name,
                "count": sum.count,
                "coins": sum.coins,
                "diamonds": sum.diamonds,
            }),
        };
        if let Err(e) = api::notices::request(state.jobs(), anchor, n).await {
            tracing::warn!(anchor, "cannot ask for a gift notice: {e}");
        }
    }
}

/// Flushes every [`FLUSH_EVERY`] until `stop` resolves, then once more. A flush is never
/// cut short (that would drop a transaction half-way).
pub async fn run(state: LiveState, stop: impl std::future::Future<Output = ()>) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            _ = tick.tick() => flush(&state).await,
            _ = &mut stop => break,
        }
    }
    flush(&state).await;
}
