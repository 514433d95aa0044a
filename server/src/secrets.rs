//! Secrets generated on first start and kept in `{data_dir}/secrets.json`
//! (mode 0600), so restarts keep issued tokens and the NATS trust valid.
//!
//! Loading them also locks down the data directory ([`secure_data_dir`]):
//! the directory and its `nats/` and `analytics/` subdirectories are made
//! 0700 and the secret-bearing files in them 0600, also when an older
//! version left them readable by everyone.

use std::path::Path;

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Why secrets could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Reading or writing the file failed.
    #[error("secrets file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is corrupt.
    #[error("secrets file is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An nkey seed could not be used.
    #[error("invalid nkey seed: {0}")]
    Nkey(String),
}

/// Everything secret the server needs.
#[derive(Clone, Serialize, Deserialize)]
pub struct Secrets {
    /// Server API key (`API-KEY` header, `iss` of join tokens).
    pub api_key: String,
    /// Server API secret: keys the server-API HMAC, and join and download
    /// tokens through keys derived from it (`tokens.rs`).
    pub api_secret: String,
    /// Signs outgoing webhooks (`X-Signature`). Separate from the API
    /// secret, so a webhook receiver holds nothing that signs API calls.
    /// Files written before it existed get one on the next start.
    #[serde(default)]
    pub webhook_secret: String,
    /// Seed of the account nkey that signs auth-callout responses.
    pub issuer_seed: String,
    /// Seed of the curve key that seals callout traffic.
    pub xkey_seed: String,
    /// Password of the embedded NATS service user.
    pub service_password: String,
    /// Password of the embedded NATS system user.
    pub system_password: String,
}

// Secrets must never reach a log line by accident.
impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

impl Secrets {
    fn generate() -> Self {
        Self {
            api_key: format!("quorum-{}", random_token(8)),
            api_secret: random_token(32),
            webhook_secret: random_token(32),
            issuer_seed: nkeys::KeyPair::new_account().seed().unwrap_or_default(),
            xkey_seed: nkeys::XKey::new().seed().unwrap_or_default(),
            service_password: random_token(24),
            system_password: random_token(24),
        }
    }

    /// Locks down `data_dir` ([`secure_data_dir`]) and loads the secrets
    /// file, creating it with fresh secrets if absent (and adding a webhook
    /// secret to a file from before there was one). Values configured
    /// explicitly (non-empty) win over stored ones.
    pub fn load_or_create(
        data_dir: &Path,
        api_key: &str,
        api_secret: &str,
        webhook_secret: &str,
    ) -> Result<Self, SecretsError> {
        secure_data_dir(data_dir)?;
        let path = data_dir.join("secrets.json");
        let mut s = match std::fs::read(&path) {
            Ok(bytes) => {
                restrict(&path, FILE_MODE);
                let mut s: Self = serde_json::from_slice(&bytes)?;
                if s.webhook_secret.is_empty() {
                    s.webhook_secret = random_token(32);
                    replace_private(&path, &serde_json::to_vec_pretty(&s)?)?;
                    tracing::info!(
                        path = %path.display(),
                        "generated a webhook secret; webhooks are no longer signed with the API secret"
                    );
                }
                s
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let s = Self::generate();
                write_private(&path, &serde_json::to_vec_pretty(&s)?)?;
                s
            }
            Err(e) => return Err(e.into()),
        };
        if !api_key.is_empty() {
            s.api_key = api_key.to_owned();
        }
        if !api_secret.is_empty() {
            s.api_secret = api_secret.to_owned();
        }
        if !webhook_secret.is_empty() {
            s.webhook_secret = webhook_secret.to_owned();
        }
        // Fail at start, not at the first callout, if a seed is unusable.
        s.issuer()?;
        s.xkey()?;
        Ok(s)
    }

    /// The callout issuer key pair.
    pub fn issuer(&self) -> Result<nkeys::KeyPair, SecretsError> {
        nkeys::KeyPair::from_seed(&self.issuer_seed).map_err(|e| SecretsError::Nkey(e.to_string()))
    }

    /// The callout curve key.
    pub fn xkey(&self) -> Result<nkeys::XKey, SecretsError> {
        nkeys::XKey::from_seed(&self.xkey_seed).map_err(|e| SecretsError::Nkey(e.to_string()))
    }
}

/// Mode of the data directory and the directories in it that hold
/// secrets: owner only.
pub const DIR_MODE: u32 = 0o700;

/// Mode of files holding secrets or configuration with secrets.
pub const FILE_MODE: u32 = 0o600;

/// Creates `data_dir` (and its `nats/` and `analytics/` subdirectories)
/// if needed, makes them [`DIR_MODE`], and makes the files in them that
/// hold secrets or personal data [`FILE_MODE`]: `secrets.json`, the
/// SQLite database and its `-wal`/`-shm` files, `nats/nats.conf` and the
/// analytics files. Fixes what an older version (or a lax umask) left
/// readable by others. A mode that cannot be changed (a filesystem
/// without Unix permissions) is logged, not fatal.
pub fn secure_data_dir(data_dir: &Path) -> std::io::Result<()> {
    for dir in [
        data_dir.to_path_buf(),
        data_dir.join("nats"),
        data_dir.join("analytics"),
    ] {
        create_private_dir(&dir)?;
    }
    for name in [
        "secrets.json",
        "quorum.db",
        "quorum.db-wal",
        "quorum.db-shm",
        "quorum.db-journal",
        "nats/nats.conf",
    ] {
        let path = data_dir.join(name);
        if path.is_file() {
            restrict(&path, FILE_MODE);
        }
    }
    if let Ok(entries) = std::fs::read_dir(data_dir.join("analytics")) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_file()) {
                restrict(&e.path(), FILE_MODE);
            }
        }
    }
    Ok(())
}

/// Creates `dir` (and its parents) if needed and makes it [`DIR_MODE`].
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(DIR_MODE);
    }
    b.create(dir)?;
    // `mode` only applies to directories it creates.
    restrict(dir, DIR_MODE);
    Ok(())
}

/// Sets `path`'s permission bits to `mode` unless they already are; a
/// failure is logged (some filesystems have no Unix permissions).
pub fn restrict(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Like chmod, this follows a symlink (a data directory may be one).
        let current = match std::fs::metadata(path) {
            Ok(m) => m.permissions().mode() & 0o7777,
            Err(_) => return,
        };
        if current == mode {
            return;
        }
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            Ok(()) => tracing::debug!(
                path = %path.display(),
                from = %format!("{current:o}"),
                to = %format!("{mode:o}"),
                "tightened permissions"
            ),
            Err(e) => tracing::warn!(
                path = %path.display(),
                mode = %format!("{mode:o}"),
                error = %e,
                "cannot restrict permissions"
            ),
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

/// Opens `path` for writing, created with [`FILE_MODE`] if absent
/// (`create_new` refuses an existing file), else truncated and made
/// [`FILE_MODE`]. The mode is set at creation, so the contents are never
/// readable by others, not even briefly.
pub fn open_private(path: &Path, create_new: bool) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if create_new {
        opts.create_new(true);
    } else {
        opts.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(FILE_MODE);
    }
    let f = opts.open(path)?;
    restrict(path, FILE_MODE);
    Ok(f)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    open_private(path, true)?.write_all(bytes)
}

/// Replaces `path` with `bytes` atomically: a private temporary file
/// next to it, synced, then renamed over it.
fn replace_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let mut f = open_private(&tmp, false)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = Secrets::load_or_create(dir.path(), "", "", "").unwrap();
        let b = Secrets::load_or_create(dir.path(), "", "", "").unwrap();
        assert_eq!(a.api_secret, b.api_secret);
        assert_eq!(a.webhook_secret, b.webhook_secret);
        assert_eq!(a.issuer_seed, b.issuer_seed);
        assert_eq!(a.webhook_secret.len(), 64);
        assert_ne!(a.webhook_secret, a.api_secret);
        let c = Secrets::load_or_create(dir.path(), "k", "s", "w").unwrap();
        assert_eq!(
            (
                c.api_key.as_str(),
                c.api_secret.as_str(),
                c.webhook_secret.as_str()
            ),
            ("k", "s", "w")
        );
        let debug = format!("{a:?}");
        assert!(!debug.contains(&a.api_secret) && !debug.contains(&a.webhook_secret));
    }

    #[test]
    fn old_file_gets_a_webhook_secret_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = Secrets::load_or_create(dir.path(), "", "", "").unwrap();
        // A file as written before webhook secrets existed.
        let path = dir.path().join("secrets.json");
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("webhook_secret");
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        let b = Secrets::load_or_create(dir.path(), "", "", "").unwrap();
        assert_eq!(b.api_secret, a.api_secret);
        assert_eq!(b.webhook_secret.len(), 64);
        let c = Secrets::load_or_create(dir.path(), "", "", "").unwrap();
        assert_eq!(c.webhook_secret, b.webhook_secret);
        assert!(!dir.path().join("secrets.json.tmp").exists());
    }

    #[cfg(unix)]
    #[test]
    fn data_dir_and_secret_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // Left open by an older version.
        std::fs::create_dir_all(data.join("nats")).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(data.join("nats/nats.conf"), "x").unwrap();
        std::fs::set_permissions(
            data.join("nats/nats.conf"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        Secrets::load_or_create(&data, "", "", "").unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("nats")), 0o700);
        assert_eq!(mode(&data.join("analytics")), 0o700);
        assert_eq!(mode(&data.join("secrets.json")), 0o600);
        assert_eq!(mode(&data.join("nats/nats.conf")), 0o600);
    }
}
