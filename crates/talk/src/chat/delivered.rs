//! Delivery positions: how far a member's devices have received a conversation, as they
//! report with the socket's ack (op 18). It is what lets a sender be told "delivered"
//! (the peer's `delivered_seq` in `GET /api/v1/conversations`, each member's in
//! `GET /api/v1/groups/{id}`), as `read_seq` lets them be told "read". Unread counts
//! come from `read_seq` only. Neither position moves back, and reading implies
//! receiving.

use crate::chat::model::members_if_member;
use crate::TalkState;
use api::error::Result;
use api::http::Fields;

/// Moves `user`'s delivered position in conversation `id` up to `seq` (never back);
/// returns the position now. 404 if not a member, 400 if `seq` is past the last message.
pub async fn delivered_upto(state: &TalkState, id: i64, user: i64, seq: i64) -> Result<i64> {
    advance(state, id, user, seq, &["delivered_seq"]).await
}

/// Moves each of `columns` (positions in `conversation_members`) of `user` in
/// conversation `id` up to `seq`, never back; returns the first one's value now. 404 if
/// not a member, 400 if `seq` is past the last message.
pub(crate) async fn advance(
    state: &TalkState,
    id: i64,
    user: i64,
    seq: i64,
    columns: &[&'static str],
) -> Result<i64> {
    members_if_member(state, id, user).await?;
    let last: i64 = sqlx::query_scalar("SELECT last_seq FROM conversations WHERE id = $1")
        .bind(id)
        .fetch_one(state.store().pool())
        .await?;
    let mut f = Fields::new();
    f.check(
        "seq",
        (0..=last).contains(&seq),
        "must be between 0 and the last sequence number",
    );
    f.finish()?;
    for column in columns {
        sqlx::query(&format!(
            "UPDATE conversation_members SET {column} = $1 \
             WHERE conversation_id = $2 AND user_id = $3 AND {column} < $1"
        ))
        .bind(seq)
        .bind(id)
        .bind(user)
        .execute(state.store().writer())
        .await?;
    }
    Ok(sqlx::query_scalar(&format!(
        "SELECT {} FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
        columns[0]
    ))
    .bind(id)
    .bind(user)
    .fetch_one(state.store().pool())
    .await?)
}
