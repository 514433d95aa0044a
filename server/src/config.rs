//! Configuration: one TOML file plus `QUORUM_*` environment overrides.
//!
//! Every field has a default so `quorum` runs with no file at all. Secrets
//! left empty here are generated once and kept in the data directory
//! (see `secrets.rs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the right shape.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: toml::de::Error,
    },
    /// An environment override could not be parsed.
    #[error("invalid value for {var}: {reason}")]
    Env {
        /// The variable.
        var: &'static str,
        /// What was wrong.
        reason: String,
    },
}

/// How the server reaches NATS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NatsMode {
    /// Spawn and supervise a nats-server child process (the default).
    Embedded,
    /// Use an existing NATS deployment configured for auth callout.
    External,
}

/// NATS settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsConfig {
    /// `embedded` or `external`.
    pub mode: NatsMode,
    /// Embedded: the nats-server binary. Empty = search `PATH` and `.tools/venv/bin`.
    pub binary: String,
    /// Embedded: client port on 127.0.0.1 (0 = pick a free one).
    pub port: u16,
    /// Embedded: WebSocket listen host.
    pub ws_host: String,
    /// Embedded: WebSocket port (0 = pick a free one).
    pub ws_port: u16,
    /// External: client URL(s) of the cluster, comma separated.
    pub url: String,
    /// External: the service user (must be an `auth_users` entry of the callout).
    pub user: String,
    /// External: the service user's password.
    pub password: String,
    /// External: system-account user for presence advisories (optional).
    pub sys_user: String,
    /// External: its password.
    pub sys_password: String,
    /// Account name the callout places browser users in (`aud` of the user JWT).
    pub account: String,
    /// WebSocket URLs handed to browsers. Empty = derived from `public_url`
    /// and `ws_port` in embedded mode.
    pub ws_public_urls: Vec<String>,
    /// Embedded: JetStream's storage budget in MiB. Each running room
    /// reserves its streams' budgets from it, the state buckets theirs.
    pub max_file_store_mb: u64,
    /// Embedded: how often nats-server pings a client it has not heard
    /// from; a client that misses two is dropped (and shows as
    /// disconnected). Browsers ping every 20 s themselves.
    pub ping_interval_secs: u64,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            mode: NatsMode::Embedded,
            binary: String::new(),
            port: 4222,
            ws_host: "127.0.0.1".into(),
            ws_port: 8081,
            url: String::new(),
            user: String::new(),
            password: String::new(),
            sys_user: String::new(),
            sys_password: String::new(),
            max_file_store_mb: 16 * 1024,
            ping_interval_secs: 30,
            account: "APP".into(),
            ws_public_urls: Vec::new(),
        }
    }
}

/// LiveKit settings (optional: without `url`, key and secret the meeting
/// is chat-only).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveKitConfig {
    /// Browser-facing LiveKit URL (`wss://…`).
    pub url: String,
    /// Where the server reaches LiveKit's API; by default `url` with
    /// `ws(s)://` turned into `http(s)://`.
    pub api_url: String,
    /// LiveKit API key.
    pub api_key: String,
    /// LiveKit API secret.
    pub api_secret: String,
}

/// Request-rate limits (token buckets). Each bucket refills at `*_per_sec`
/// and holds at most `*_burst` requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Server-API requests per second per API key.
    pub per_key_per_sec: u32,
    /// Burst per API key.
    pub per_key_burst: u32,
    /// Requests per second per client IP (server and browser APIs).
    pub per_ip_per_sec: u32,
    /// Burst per client IP.
    pub per_ip_burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_key_per_sec: 200,
            per_key_burst: 400,
            per_ip_per_sec: 100,
            per_ip_burst: 200,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Public base URL used in join links. Empty = `http://{listen}`.
    pub public_url: String,
    /// Where the database, secrets, NATS config and JetStream data live.
    pub data_dir: PathBuf,
    /// The built client (Trunk's `dist/`).
    pub client_dir: PathBuf,
    /// Server API key. Empty = generated once and kept.
    pub api_key: String,
    /// Server API secret. Empty = generated once and kept.
    pub api_secret: String,
    /// Secret that signs outgoing webhooks. Empty = generated once and
    /// kept (`webhook_secret` in `secrets.json`).
    pub webhook_secret: String,
    /// Join-token lifetime in seconds.
    pub token_ttl_secs: u64,
    /// Maximum age of a browser session cache, in seconds.
    pub cache_max_age_secs: u64,
    /// Create a demo room at start and print its join links to stdout
    /// (off by default; `scripts/run.sh` turns it on).
    pub demo_room: bool,
    /// Global webhook target (every room's events). Empty = none.
    pub webhook_url: String,
    /// Allow webhook targets on loopback or private addresses.
    pub webhook_allow_private: bool,
    /// Trust `X-Forwarded-For` / `X-Real-IP` for the client IP (only behind
    /// a proxy you run).
    pub trust_forwarded_for: bool,
    /// Require the `HASH-TIMESTAMP` header on server-API requests. Off by
    /// default because plugNmeet's SDKs don't send it; when sent, it is
    /// always checked.
    pub require_signature_timestamp: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// No longer used: timers follow changes (kept so old config files
    /// still load).
    pub lifecycle_tick_ms: u64,
    /// Seconds a dropped participant shows as "disconnected" before it is
    /// offline (and the room may start counting as empty).
    pub presence_offline_secs: u64,
    /// Seconds an offline participant stays listed before it is cleaned up.
    pub presence_cleanup_secs: u64,
    /// Request-rate limits.
    pub rate_limit: RateLimitConfig,
    /// What one participant may send, and room stream budgets.
    pub limits: crate::rooms::meter::Limits,
    /// Bearer token for `GET /metrics` (Prometheus text). Empty: the
    /// endpoint is off.
    pub metrics_token: String,
    /// NATS settings.
    pub nats: NatsConfig,
    /// LiveKit settings.
    pub livekit: LiveKitConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            data_dir: PathBuf::from("data"),
            client_dir: PathBuf::from("dist"),
            api_key: String::new(),
            api_secret: String::new(),
            webhook_secret: String::new(),
            token_ttl_secs: quorum_shared::token::DEFAULT_TOKEN_TTL_SECS,
            cache_max_age_secs: 6 * 3600,
            demo_room: false,
            webhook_url: String::new(),
            webhook_allow_private: false,
            trust_forwarded_for: false,
            require_signature_timestamp: false,
            max_body_bytes: 256 * 1024,
            lifecycle_tick_ms: 1000,
            presence_offline_secs: 5,
            presence_cleanup_secs: 30,
            rate_limit: RateLimitConfig::default(),
            limits: Default::default(),
            metrics_token: String::new(),
            nats: NatsConfig::default(),
            livekit: LiveKitConfig::default(),
        }
    }
}

impl Config {
    /// Loads `path` (if given) and applies environment overrides from `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut cfg = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: p.to_owned(),
                    source,
                })?
            }
            None => Config::default(),
        };
        cfg.apply_env(env)?;
        Ok(cfg)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(var: &'static str, v: String) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.parse().map_err(|e: T::Err| ConfigError::Env {
                var,
                reason: e.to_string(),
            })
        }
        macro_rules! set {
            ($var:literal, $field:expr) => {
                if let Some(v) = env($var) {
                    $field = parse($var, v)?;
                }
            };
        }
        set!("QUORUM_LISTEN", self.listen);
        set!("QUORUM_PUBLIC_URL", self.public_url);
        set!("QUORUM_DATA_DIR", self.data_dir);
        set!("QUORUM_CLIENT_DIR", self.client_dir);
        set!("QUORUM_API_KEY", self.api_key);
        set!("QUORUM_API_SECRET", self.api_secret);
        set!("QUORUM_WEBHOOK_SECRET", self.webhook_secret);
        set!("QUORUM_TOKEN_TTL_SECS", self.token_ttl_secs);
        set!("QUORUM_CACHE_MAX_AGE_SECS", self.cache_max_age_secs);
        set!("QUORUM_DEMO_ROOM", self.demo_room);
        set!("QUORUM_WEBHOOK_URL", self.webhook_url);
        set!("QUORUM_WEBHOOK_ALLOW_PRIVATE", self.webhook_allow_private);
        set!("QUORUM_TRUST_FORWARDED_FOR", self.trust_forwarded_for);
        set!(
            "QUORUM_REQUIRE_SIGNATURE_TIMESTAMP",
            self.require_signature_timestamp
        );
        set!("QUORUM_MAX_BODY_BYTES", self.max_body_bytes);
        set!("QUORUM_PRESENCE_OFFLINE_SECS", self.presence_offline_secs);
        set!("QUORUM_PRESENCE_CLEANUP_SECS", self.presence_cleanup_secs);
        set!(
            "QUORUM_RATE_LIMIT_PER_KEY_PER_SEC",
            self.rate_limit.per_key_per_sec
        );
        set!(
            "QUORUM_RATE_LIMIT_PER_KEY_BURST",
            self.rate_limit.per_key_burst
        );
        set!(
            "QUORUM_RATE_LIMIT_PER_IP_PER_SEC",
            self.rate_limit.per_ip_per_sec
        );
        set!(
            "QUORUM_RATE_LIMIT_PER_IP_BURST",
            self.rate_limit.per_ip_burst
        );
        set!("QUORUM_LIMITS_CHAT_PER_SEC", self.limits.chat_per_sec);
        set!("QUORUM_LIMITS_CHAT_BURST", self.limits.chat_burst);
        set!("QUORUM_LIMITS_CONCURRENCY", self.limits.concurrency);
        set!("QUORUM_METRICS_TOKEN", self.metrics_token);
        set!("QUORUM_NATS_MAX_FILE_STORE_MB", self.nats.max_file_store_mb);
        set!(
            "QUORUM_NATS_PING_INTERVAL_SECS",
            self.nats.ping_interval_secs
        );
        set!("QUORUM_NATS_BINARY", self.nats.binary);
        set!("QUORUM_NATS_PORT", self.nats.port);
        set!("QUORUM_NATS_WS_HOST", self.nats.ws_host);
        set!("QUORUM_NATS_WS_PORT", self.nats.ws_port);
        set!("QUORUM_NATS_URL", self.nats.url);
        set!("QUORUM_NATS_USER", self.nats.user);
        set!("QUORUM_NATS_PASSWORD", self.nats.password);
        set!("QUORUM_NATS_SYS_USER", self.nats.sys_user);
        set!("QUORUM_NATS_SYS_PASSWORD", self.nats.sys_password);
        set!("QUORUM_NATS_ACCOUNT", self.nats.account);
        set!("QUORUM_LIVEKIT_URL", self.livekit.url);
        set!("QUORUM_LIVEKIT_API_URL", self.livekit.api_url);
        set!("QUORUM_LIVEKIT_API_KEY", self.livekit.api_key);
        set!("QUORUM_LIVEKIT_API_SECRET", self.livekit.api_secret);
        if let Some(v) = env("QUORUM_NATS_MODE") {
            self.nats.mode = match v.as_str() {
                "embedded" => NatsMode::Embedded,
                "external" => NatsMode::External,
                other => {
                    return Err(ConfigError::Env {
                        var: "QUORUM_NATS_MODE",
                        reason: format!("expected 'embedded' or 'external', got {other:?}"),
                    })
                }
            };
        }
        if let Some(v) = env("QUORUM_NATS_WS_PUBLIC_URLS") {
            self.nats.ws_public_urls = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_defaults() {
        let env = |k: &str| match k {
            "QUORUM_LISTEN" => Some("0.0.0.0:9000".to_string()),
            "QUORUM_NATS_MODE" => Some("external".to_string()),
            "QUORUM_NATS_WS_PUBLIC_URLS" => Some("wss://a, wss://b".to_string()),
            _ => None,
        };
        let c = Config::load(None, env).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.nats.mode, NatsMode::External);
        assert_eq!(c.nats.ws_public_urls, vec!["wss://a", "wss://b"]);
    }

    #[test]
    fn bad_env_names_the_variable() {
        let env = |k: &str| (k == "QUORUM_TOKEN_TTL_SECS").then(|| "ten".to_string());
        let e = Config::load(None, env).unwrap_err().to_string();
        assert!(e.contains("QUORUM_TOKEN_TTL_SECS"), "{e}");
    }

    #[test]
    fn toml_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.toml");
        std::fs::write(&p, "listen = \"127.0.0.1:7000\"\n[nats]\nws_port = 9999\n").unwrap();
        let c = Config::load(Some(&p), |_| None).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.nats.ws_port, 9999);
        std::fs::write(&p, "bogus = 1\n").unwrap();
        assert!(Config::load(Some(&p), |_| None).is_err());
    }
}
