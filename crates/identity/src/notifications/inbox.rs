//! Reading an inbox: pages after a sequence number, the positions, moving the read
//! position. Every read first copies in the announcements the user has not got yet.

use crate::notifications::announcements::catch_up;
use crate::notifications::model::{NotificationRow, NOTIFICATION_COLUMNS};
use crate::IdentityState;
use api::error::Result;
use api::http::Fields;

/// The newest sequence number in an inbox and how far its owner has read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Positions {
    pub last_seq: i64,
    pub read_seq: i64,
}

impl Positions {
    pub fn unread(&self) -> i64 {
        (self.last_seq - self.read_seq).max(0)
    }
}

/// `user`'s positions (zeros for an inbox never used).
pub async fn positions(state: &IdentityState, user: i64) -> Result<Positions> {
    catch_up(state, user).await?;
    let found: Option<(i64, i64)> =
        sqlx::query_as("SELECT last_seq, read_seq FROM notification_inboxes WHERE user_id = $1")
            .bind(user)
            .fetch_optional(state.store().pool())
            .await?;
    Ok(found
        .map(|(last_seq, read_seq)| Positions { last_seq, read_seq })
        .unwrap_or_default())
}

/// Up to `limit` of `user`'s notifications after `after`, in order, and whether there
/// are more.
pub async fn page(
    state: &IdentityState,
    user: i64,
    after: i64,
    limit: i64,
) -> Result<(Vec<NotificationRow>, bool)> {
    catch_up(state, user).await?;
    let mut rows = sqlx::query_as::<_, NotificationRow>(&format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = $1 AND seq > $2 \
         ORDER BY seq LIMIT $3"
    ))
    .bind(user)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}

/// Moves `user`'s read position up to `seq` (never back); 400 `validation_failed` when
/// `seq` is negative or beyond the newest notification. Returns the positions now.
pub async fn read_upto(state: &IdentityState, user: i64, seq: i64) -> Result<Positions> {
    let now = positions(state, user).await?;
    let mut f = Fields::new();
    f.check(
        "seq",
        (0..=now.last_seq).contains(&seq),
        format!(
            "must be between 0 and the newest sequence number ({})",
            now.last_seq
        ),
    );
    f.finish()?;
    if seq <= now.read_seq {
        return Ok(now);
    }
    sqlx::query(
        "UPDATE notification_inboxes SET read_seq = $1 WHERE user_id = $2 AND read_seq < $1",
    )
    .bind(seq)
    .bind(user)
    .execute(state.store().writer())
    .await?;
    let (last_seq, read_seq): (i64, i64) =
        sqlx::query_as("SELECT last_seq, read_seq FROM notification_inboxes WHERE user_id = $1")
            .bind(user)
            .fetch_one(state.store().pool())
            .await?;
    Ok(Positions { last_seq, read_seq })
}
