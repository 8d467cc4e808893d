//! The secret that signs access tokens, when the operator did not set one: random,
//! created once in the data directory (mode 0600) and reused on every start, so tokens
//! survive restarts.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rand::RngCore;

const FILE: &str = "jwt_secret";

/// The configured secret, or the data directory's, created if missing.
pub fn jwt_secret(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = configured.filter(|s| !s.is_empty()) {
        if s.len() < 32 {
            anyhow::bail!("auth.jwt_secret must be at least 32 characters");
        }
        return Ok(s.as_bytes().to_vec());
    }
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => anyhow::bail!(
            "{} is too short; delete it to make a new one",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(hex.as_bytes())?;
    tracing::info!("created a new token-signing secret in {}", path.display());
    Ok(hex.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = jwt_secret(None, dir.path()).unwrap();
        let b = jwt_secret(None, dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert!(jwt_secret(Some("short"), dir.path()).is_err());
    }
}
