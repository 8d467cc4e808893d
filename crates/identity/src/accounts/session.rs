//! Sessions: an access token plus a refresh token that rotates on every use.
//!
//! Refresh tokens are 256 random bits shown to the client once; the database keeps only
//! their SHA-256. Every token descends from a login through a *family*: using a token
//! marks it used and issues its successor in the same family. Presenting a used token
//! again means it was stolen (or the client is confused), so the whole family is revoked.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Any, Executor};

use crate::accounts::Role;
use crate::users::model::UserView;
use crate::IdentityState;
use api::error::Result;

/// The tokens handed to a client.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Exchange at `POST /api/v1/auth/refresh` for a new pair; single use.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// A signed-in user and their tokens.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthResponse {
    pub user: UserView,
    #[serde(flatten)]
    pub tokens: TokenPair,
}

/// SHA-256 of a refresh token, hex-encoded: what the database stores and looks up.
pub fn hash_refresh_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Issues a token pair for `user_id`; the refresh token joins `family`, or starts a new
/// one. Runs on `exec` so that it can share the caller's transaction.
pub async fn issue<'e, E>(
    state: &IdentityState,
    exec: E,
    user_id: i64,
    role: Role,
    family: Option<&str>,
) -> Result<TokenPair>
where
    E: Executor<'e, Database = Any>,
{
    // Read outside `exec`: a new account's row is not visible there yet (generation 0).
    let gen = crate::accounts::standing::read(state.store().pool(), user_id)
        .await?
        .map_or(0, |s| s.token_gen);
    let access_token = state.tokens().issue(user_id, role, gen)?;
    let refresh_token = random_token("rt_");
    let new_family;
    let family = match family {
        Some(f) => f,
        None => {
            new_family = random_token("");
            &new_family
        }
    };
    let now = kit::time::now_ms();
    let ttl_ms = state.settings().auth.refresh_ttl_secs as i64 * 1000;
    sqlx::query(
        "INSERT INTO refresh_tokens (user_id, family, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(family)
    .bind(hash_refresh_token(&refresh_token))
    .bind(now)
    .bind(now + ttl_ms)
    .execute(exec)
    .await?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: state.tokens().access_ttl_secs(),
    })
}

/// Revokes every live token of `family`.
pub async fn revoke_family<'e, E>(exec: E, family: &str) -> Result<u64>
where
    E: Executor<'e, Database = Any>,
{
    let done = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL",
    )
    .bind(kit::time::now_ms())
    .bind(family)
    .execute(exec)
    .await?;
    Ok(done.rows_affected())
}
