//! The operators' audit log, written by every context's admin use cases: one row saying
//! who did what to what, written after the action succeeded. The console reads it
//! back (the shell's `admin::audit`).

use store::Store;

use crate::error::Result;

/// Writes one audit row: `admin` did `action` (e.g. `user.ban`) to `target`
/// (e.g. `user:7`), with `detail` (a JSON object) saying how. The admin's username is
/// copied, so the log still reads right after a rename.
pub async fn record(
    store: &Store,
    admin: i64,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO admin_audit (admin_id, admin_name, action, target, detail, created_at) \
         SELECT id, username, $2, $3, $4, $5 FROM users WHERE id = $1",
    )
    .bind(admin)
    .bind(action)
    .bind(target)
    .bind(detail.to_string())
    .bind(kit::time::now_ms())
    .execute(store.writer())
    .await?;
    Ok(())
}
