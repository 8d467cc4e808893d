//! An account's standing, as every authorization decision reads it: its role now, whether
//! it is active, and its token generation. The role inside an access token is only what
//! it was at sign-in; a demotion, a ban, a sign-out or a password change takes effect at
//! the next request, not when the token expires.
//!
//! Standings are cached with the profiles (`cache.profile_ttl_secs`) and dropped by every
//! writer through [`crate::users::cache::UserCache::forget_user`], so a check costs no
//! database round trip on the node that made the change, and at most the cache's TTL of
//! staleness on the others.

use sqlx::{Any, Executor};

use crate::accounts::Role;
use crate::IdentityState;
use api::error::Result;

/// What authorization needs to know about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    pub active: bool,
    /// Access tokens of another generation are revoked.
    pub token_gen: i64,
}

/// The account's standing, from the cache when it can be; `None` when there is no such
/// account.
pub async fn load(state: &IdentityState, user_id: i64) -> Result<Option<Standing>> {
    if let Some(s) = state.user_cache().standing(user_id) {
        return Ok(Some(s));
    }
    let Some(s) = read(state.store().pool(), user_id).await? else {
        return Ok(None);
    };
    state.user_cache().remember_standing(user_id, s);
    Ok(Some(s))
}

/// The account's standing from the database itself (for issuing tokens, which must not
/// carry a generation another node has already moved past).
pub async fn read<'e, E>(exec: E, user_id: i64) -> Result<Option<Standing>>
where
    E: Executor<'e, Database = Any>,
{
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT role, status, token_gen FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(exec)
            .await?;
    Ok(row.map(|(role, status, token_gen)| Standing {
        role: Role::parse(&role),
        active: status == "active",
        token_gen,
    }))
}

/// Moves the account's token generation on, inside the caller's transaction: every access
/// token issued before stops working. The caller drops the cache after its commit.
pub async fn revoke_access_tokens<'e, E>(exec: E, user_id: i64) -> Result<()>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("UPDATE users SET token_gen = token_gen + 1 WHERE id = $1")
        .bind(user_id)
        .execute(exec)
        .await?;
    Ok(())
}

/// Ends every session of `user` inside the caller's transaction (a password changed or
/// reset): refresh tokens and web sessions are revoked, except the web session whose
/// token hash is `keep_web`, and access tokens issued before stop working. The caller
/// drops the cache after its commit.
pub async fn end_sessions(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    keep_web: Option<&str>,
) -> Result<()> {
    let now = kit::time::now_ms();
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE web_sessions SET revoked_at = $1 \
         WHERE user_id = $2 AND revoked_at IS NULL AND token_hash <> $3",
    )
    .bind(now)
    .bind(user_id)
    .bind(keep_web.unwrap_or_default())
    .execute(&mut *conn)
    .await?;
    revoke_access_tokens(&mut *conn, user_id).await
}
