//! Secrets generated on first start and kept in `{data_dir}/secrets.json`
//! (mode 0600), so restarts keep issued tokens and the NATS trust valid.

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
    /// Server API secret (HMAC and join-token signing key).
    pub api_secret: String,
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
            issuer_seed: nkeys::KeyPair::new_account().seed().unwrap_or_default(),
            xkey_seed: nkeys::XKey::new().seed().unwrap_or_default(),
            service_password: random_token(24),
            system_password: random_token(24),
        }
    }

    /// Loads the secrets file, creating it with fresh secrets if absent.
    /// Values configured explicitly (non-empty) win over stored ones.
    pub fn load_or_create(
        data_dir: &Path,
        api_key: &str,
        api_secret: &str,
    ) -> Result<Self, SecretsError> {
        let path = data_dir.join("secrets.json");
        let mut s = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)?,
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

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = Secrets::load_or_create(dir.path(), "", "").unwrap();
        let b = Secrets::load_or_create(dir.path(), "", "").unwrap();
        assert_eq!(a.api_secret, b.api_secret);
        assert_eq!(a.issuer_seed, b.issuer_seed);
        let c = Secrets::load_or_create(dir.path(), "k", "s").unwrap();
        assert_eq!((c.api_key.as_str(), c.api_secret.as_str()), ("k", "s"));
        assert!(!format!("{a:?}").contains(&a.api_secret));
    }
}
