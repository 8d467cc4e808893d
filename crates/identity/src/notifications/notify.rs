//! Putting notifications into inboxes: [`notify`] for one user, [`notify_many`] for a
//! fan-out (a gift's anchor, an anchor's followers). Each notification is stored with the
//! user's next sequence number before anything is pushed; after the commit, the users
//! connected to this node get it at once as an op 25 push.
//!
//! Cost of a fan-out to N users: per 400 users, three statements (create missing inbox
//! rows, bump every `last_seq` with `RETURNING`, one multi-row insert), in transactions of
//! at most 2,000 users so that SQLite's single writer is never held for long; then one
//! registry lookup, and one small JSON text per *connected* recipient (the part after
//! the sequence number is built once).

use serde_json::value::RawValue;
use store::sql::params;
use store::Backend;

use crate::notifications::events::Notified;
use crate::notifications::model::{Notification, NotificationView};
use crate::IdentityState;
use api::error::Result;

/// Users per statement.
const CHUNK: usize = 400;
/// Users per transaction.
const BATCH: usize = 2_000;

/// Stores `n` in `user_id`'s inbox and pushes it to the user's connections. Returns
/// it as stored; `None` when there is no such user.
pub async fn notify(
    state: &IdentityState,
    user_id: i64,
    n: Notification,
) -> Result<Option<NotificationView>> {
    let stored = notify_inner(state, &[user_id], &n, None).await?;
    Ok(stored.first().map(|(_, view)| view.clone()))
}

/// What [`notify_once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Once {
    Stored,
    /// A notification with this key was stored before: nothing was done.
    AlreadyStored,
    /// There is no such user.
    NoUser,
}

/// Like [`notify`], but at most once per `key` and user: a request delivered twice (a
/// job run again after its worker died) stores and pushes the notice once.
pub async fn notify_once(
    state: &IdentityState,
    user_id: i64,
    n: Notification,
    key: &str,
) -> Result<Once> {
    let seen: Option<i64> =
        sqlx::query_scalar("SELECT seq FROM notifications WHERE user_id = $1 AND dedupe_key = $2")
            .bind(user_id)
            .bind(key)
            .fetch_optional(state.store().pool())
            .await?;
    if seen.is_some() {
        return Ok(Once::AlreadyStored);
    }
    match notify_inner(state, &[user_id], &n, Some(key)).await {
        Ok(stored) if stored.is_empty() => Ok(Once::NoUser),
        Ok(_) => Ok(Once::Stored),
        // Another run stored it between the look and the insert.
        Err(api::Error::Db(e)) if store::is_unique_violation(&e) => Ok(Once::AlreadyStored),
        Err(e) => Err(e),
    }
}

/// Stores `n` in the inbox of each of `user_ids` (repeats and unknown users are
/// skipped) and pushes it to those connected. Returns how many inboxes got it.
pub async fn notify_many(
    state: &IdentityState,
    user_ids: &[i64],
    n: Notification,
) -> Result<usize> {
    Ok(notify_inner(state, user_ids, &n, None).await?.len())
}

async fn notify_inner(
    state: &IdentityState,
    user_ids: &[i64],
    n: &Notification,
    key: Option<&str>,
) -> Result<Vec<(i64, NotificationView)>> {
    let mut users = user_ids.to_vec();
    // Ascending order everywhere: concurrent fan-outs lock inbox rows in the same order.
    users.sort_unstable();
    users.dedup();
    let now = kit::time::now_ms();
    let payload = n.payload.to_string();
    let mut seqs = Vec::with_capacity(users.len());
    for batch in users.chunks(BATCH) {
        seqs.extend(store_batch(state, batch, n, key, &payload, now).await?);
    }
    push(state, &seqs, n, &payload, now).await;
    metrics::counter!("notifications_total", "kind" => n.kind.as_str())
        .increment(seqs.len() as u64);
    Ok(seqs
        .into_iter()
        .map(|(user, seq)| {
            let view = NotificationView {
                seq: Some(seq),
                kind: n.kind.as_str().to_string(),
                actor_id: n.actor_id,
                payload: n.payload.clone(),
                created_at: now,
            };
            (user, view)
        })
        .collect())
}

/// One transaction: every user in `batch` (sorted, distinct) gets the next sequence
/// number of their inbox and the notification row (with `key`, if given). Returns
/// `(user, seq)` pairs.
async fn store_batch(
    state: &IdentityState,
    batch: &[i64],
    n: &Notification,
    key: Option<&str>,
    payload: &str,
    now: i64,
) -> Result<Vec<(i64, i64)>> {
    let postgres = state.store().backend() == Backend::Postgres;
    let mut out = Vec::with_capacity(batch.len());
    let mut tx = state.store().begin().await?;
    for chunk in batch.chunks(CHUNK) {
        let list = params(1, chunk.len());
        // Inboxes are created on first use; ids that are not users are left out here,
        // and so get nothing below.
        let sql = format!(
            "INSERT INTO notification_inboxes (user_id) \
             SELECT id FROM users WHERE id IN ({list}) ORDER BY id \
             ON CONFLICT (user_id) DO NOTHING"
        );
        let mut q = sqlx::query(&sql);
        for u in chunk {
            q = q.bind(*u);
        }
        q.execute(&mut *tx).await?;
        if postgres {
            // Lock in id order before updating: an UPDATE's own order is unspecified.
            let sql = format!(
                "SELECT user_id FROM notification_inboxes WHERE user_id IN ({list}) \
                 ORDER BY user_id FOR UPDATE"
            );
            let mut q = sqlx::query(&sql);
            for u in chunk {
                q = q.bind(*u);
            }
            q.fetch_all(&mut *tx).await?;
        }
        let sql = format!(
            "UPDATE notification_inboxes SET last_seq = last_seq + 1 \
             WHERE user_id IN ({list}) RETURNING user_id, last_seq"
        );
        let mut q = sqlx::query_as::<_, (i64, i64)>(&sql);
        for u in chunk {
            q = q.bind(*u);
        }
        let seqs = q.fetch_all(&mut *tx).await?;
        if seqs.is_empty() {
            continue;
        }
        // $1–$5 are the same for every row; each row adds its user and seq.
        let rows = (0..seqs.len())
            .map(|i| format!("(${}, ${}, $1, $2, $3, $4, $5)", 6 + 2 * i, 7 + 2 * i))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO notifications \
             (user_id, seq, kind, actor_id, payload, created_at, dedupe_key) VALUES {rows}"
        );
        let mut q = sqlx::query(&sql)
            .bind(n.kind.as_str())
            .bind(n.actor_id)
            .bind(payload)
            .bind(now)
            .bind(key);
        for (user, seq) in &seqs {
            q = q.bind(*user).bind(*seq);
        }
        q.execute(&mut *tx).await?;
        out.extend(seqs);
    }
    tx.commit().await?;
    Ok(out)
}

/// Tells the recipients' sockets, wherever they are, about the stored notification
/// ([`Notified`], at most once; they get op 25).
async fn push(
    state: &IdentityState,
    seqs: &[(i64, i64)],
    n: &Notification,
    payload: &str,
    now: i64,
) {
    let Ok(payload) = RawValue::from_string(payload.to_owned()) else {
        return;
    };
    for (user, seq) in seqs {
        let event = Notified {
            user_id: *user,
            seq: *seq,
            kind: n.kind.as_str().to_owned(),
            actor_id: n.actor_id,
            payload: payload.clone(),
            created_at: now,
        };
        api::events::publish(state.bus(), &event).await;
    }
}
