//! Creating an admin account from the command line (`momo admin create`).

use kit::ApiError;

use crate::accounts::{register, rules, Role};
use crate::IdentityState;
use api::error::Result;
use api::http::errors::RequestError;
use api::http::Fields;

/// Creates an admin with the same rules as registration; returns the new id.
pub async fn create_admin(
    state: &IdentityState,
    username: &str,
    password: &str,
    nickname: Option<&str>,
) -> Result<i64> {
    let mut f = Fields::new();
    rules::check_username(&mut f, username);
    rules::check_password(&mut f, "password", password);
    if let Some(n) = nickname {
        rules::check_nickname(&mut f, n);
    }
    f.finish().map_err(|e: ApiError| {
        let detail: Vec<String> = e.fields.iter().map(|(k, v)| format!("{k} {v}")).collect();
        RequestError::ValidationFailed.with_message(detail.join("; "))
    })?;
    let hash = state.passwords().hash(password.to_string()).await?;
    let row = register::insert_user(
        state.store().pool(),
        username,
        nickname.unwrap_or(username),
        &hash,
        Role::Admin,
    )
    .await?;
    Ok(row.id)
}

/// Whether any active account has the admin role (the start log says how to make the
/// first one while there is none).
pub async fn any_admin(state: &IdentityState) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'admin' AND status = 'active' LIMIT 1",
    )
    .fetch_optional(state.store().pool())
    .await?;
    Ok(found.is_some())
}
