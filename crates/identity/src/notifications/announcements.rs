//! Operator announcements: stored once, pushed live to every connection, and copied
//! lazily into each inbox.
//!
//! An announcement is one row, however many users there are. A user's inbox gets its
//! own copy, with the user's next sequence number, the next time that inbox is read
//! (listed, counted, synced or marked read): [`catch_up`] copies every announcement made
//! since the last one copied, skipping those older than the account. So an inbox stays
//! one gap-free sequence, users who never come back cost nothing, and the copy is made
//! once per user at most (the inbox row remembers the last announcement copied).
//! The live push (op 25) carries `"seq": null`; clients that show it can recognise the
//! copy in their next sync by `payload.announcement_id`.

use serde::Serialize;
use serde_json::json;

use crate::notifications::events::Announced;
use crate::IdentityState;
use api::error::Result;

/// An announcement as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Announcement {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub created_at: i64,
}

/// Stores an announcement by admin `by` and pushes it to every connection of every
/// node ([`Announced`]).
pub async fn announce(
    state: &IdentityState,
    by: i64,
    title: &str,
    body: &str,
) -> Result<Announcement> {
    let now = kit::time::now_ms();
    let row = sqlx::query_as::<_, Announcement>(
        "INSERT INTO announcements (title, body, created_by, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id, title, body, created_at",
    )
    .bind(title)
    .bind(body)
    .bind(by)
    .bind(now)
    .fetch_one(state.store().writer())
    .await?;
    let announced = Announced {
        announcement_id: row.id,
        title: row.title.clone(),
        body: row.body.clone(),
        created_at: row.created_at,
    };
    api::events::publish(state.bus(), &announced).await;
    Ok(row)
}

fn payload(a: &Announcement) -> serde_json::Value {
    json!({"announcement_id": a.id, "title": a.title, "body": a.body})
}

/// Copies into `user`'s inbox the announcements it has not got yet. Costs one indexed
/// read when there are none.
pub async fn catch_up(state: &IdentityState, user: i64) -> Result<()> {
    let (latest, copied): (i64, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM announcements), \
                (SELECT announcement_id FROM notification_inboxes WHERE user_id = $1)",
    )
    .bind(user)
    .fetch_one(state.store().writer())
    .await?;
    if copied.unwrap_or(0) >= latest {
        return Ok(());
    }
    let mut tx = state.store().begin().await?;
    sqlx::query(
        "INSERT INTO notification_inboxes (user_id) SELECT id FROM users WHERE id = $1 \
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user)
    .execute(&mut *tx)
    .await?;
    // Read again under the row's lock: another request may have copied them meanwhile.
    let Some((last_seq, copied)): Option<(i64, i64)> = sqlx::query_as(
        "UPDATE notification_inboxes SET announcement_id = announcement_id WHERE user_id = $1 \
         RETURNING last_seq, announcement_id",
    )
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(()); // no such user
    };
    let joined: i64 = sqlx::query_scalar("SELECT created_at FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(&mut *tx)
        .await?;
    let missed = sqlx::query_as::<_, Announcement>(
        "SELECT id, title, body, created_at FROM announcements WHERE id > $1 ORDER BY id",
    )
    .bind(copied)
    .fetch_all(&mut *tx)
    .await?;
    let mut seq = last_seq;
    for a in missed.iter().filter(|a| a.created_at >= joined) {
        seq += 1;
        sqlx::query(
            "INSERT INTO notifications (user_id, seq, kind, actor_id, payload, created_at) \
             VALUES ($1, $2, 'announcement', NULL, $3, $4)",
        )
        .bind(user)
        .bind(seq)
        .bind(payload(a).to_string())
        .bind(a.created_at)
        .execute(&mut *tx)
        .await?;
    }
    // Those older than the account are passed over for good, like those copied.
    let newest = missed.last().map(|a| a.id).unwrap_or(copied);
    sqlx::query(
        "UPDATE notification_inboxes SET last_seq = $1, announcement_id = $2 WHERE user_id = $3",
    )
    .bind(seq)
    .bind(newest)
    .bind(user)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
