//! What a node says when it has started: where the site, the console and the API
//! reference are, and, while there is no operator yet, how to make the first one.
//! Also the check that keeps `momo admin create` from making a database of its own.

use std::net::SocketAddr;
use std::path::Path;

use app::AppState;

use crate::Config;

/// The base URL a person on this machine (or the configured public one) opens.
pub fn site_url(config: &Config, http_addr: SocketAddr) -> String {
    if let Some(public) = config.app.live.public_http_url.as_deref() {
        return public.trim_end_matches('/').to_owned();
    }
    let host = if http_addr.ip().is_unspecified() || http_addr.ip().is_loopback() {
        "localhost".to_owned()
    } else {
        match http_addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        }
    };
    format!("http://{host}:{}", http_addr.port())
}

/// Logs where to go next, the API reference last; warns first while no account has the
/// admin role.
pub async fn log_where_to_go(state: &AppState, config: &Config, http_addr: SocketAddr) {
    let site = site_url(config, http_addr);
    match app::accounts::create_admin::any_admin(state.identity()).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "no admin yet: run `{} admin create {}--username admin --password '…'` (or \
             set MOMO_ADMIN_PASSWORD instead of --password), then sign in at \
             {site}/login?next=/admin",
            this_program(),
            data_dir_flag(config)
        ),
        Err(e) => tracing::warn!("cannot tell whether there is an admin: {e}"),
    }
    tracing::info!("viewer site: {site}/");
    tracing::info!("operators' console: {site}/admin");
    tracing::info!("API reference: {site}/api/docs/");
}

/// How this program was started (`target/release/momo` under `cargo run`), so that the
/// command shown can be pasted as it is.
fn this_program() -> String {
    let arg0 = std::env::args().next().unwrap_or_default();
    if arg0.is_empty() {
        "momo".to_owned()
    } else {
        shell_quote(&arg0)
    }
}

/// `--data-dir DIR ` when `momo admin create` needs it to find this node's database
/// (SQLite in a data dir other than the default), else nothing.
fn data_dir_flag(config: &Config) -> String {
    if config
        .database_url
        .as_deref()
        .is_some_and(|u| !u.is_empty())
    {
        return String::new();
    }
    if is_default_data_dir(&config.data_dir) {
        return String::new();
    }
    format!(
        "--data-dir {} ",
        shell_quote(&config.data_dir.display().to_string())
    )
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// For commands that work on a server's data (`momo admin create`): refuses to make a
/// new database in the default data dir (`./data` under wherever the command was run).
/// A SQLite database missing there means the command was run somewhere other than where
/// `momo serve` keeps its data; a new one would put the account where no server reads
/// it. A data dir named on purpose (`--data-dir`, `MOMO_DATA_DIR`, the file) may be new:
/// that is how a node is prepared before its first start.
pub fn ensure_existing_data(config: &Config) -> anyhow::Result<()> {
    if config
        .database_url
        .as_deref()
        .is_some_and(|u| !u.is_empty())
    {
        return Ok(());
    }
    let db = config.data_dir.join("momo.db");
    if db.is_file() || !is_default_data_dir(&config.data_dir) {
        return Ok(());
    }
    let shown = std::path::absolute(&db).unwrap_or(db);
    anyhow::bail!(
        "there is no momo database at {}: run this where `momo serve` keeps its data, or \
         name the data dir with --data-dir DIR (or MOMO_DATA_DIR; or --database-url)",
        shown.display()
    )
}

fn is_default_data_dir(dir: &Path) -> bool {
    dir == Path::new("data") || dir == Path::new("./data")
}

/// The database a command worked on, for people: its URL without a password, or the
/// SQLite file's full path.
pub fn describe_database(config: &Config) -> String {
    match config.database_url.as_deref() {
        Some(url) if !url.is_empty() => crate::serve::redact(url),
        _ => {
            let db = config.data_dir.join("momo.db");
            std::path::absolute(&db).unwrap_or(db).display().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_the_shell_when_they_need_it() {
        assert_eq!(shell_quote("/srv/momo-data"), "/srv/momo-data");
        assert_eq!(shell_quote("/srv/my data"), "'/srv/my data'");
        assert_eq!(shell_quote("/srv/it's"), r"'/srv/it'\''s'");
    }
}
