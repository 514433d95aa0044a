//! The Quorum server as a library: [`start`] brings up storage, NATS and
//! the background services; [`app`] is the HTTP router; [`serve`] runs it.
//! `main.rs` is a thin wrapper, and integration tests call these directly.

pub mod api;
pub mod config;
pub mod demo;
pub mod error;
pub mod livekit;
pub mod metrics;
pub mod nats;
pub mod ratelimit;
pub mod rooms;
pub mod secrets;
pub mod store;
pub mod tokens;
pub mod web;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use config::Config;
use nats::NatsLink;
use rooms::analytics::Analytics;
use rooms::index::{Grace, Index};
use rooms::kv::Budgets;
use rooms::service::RoomService;
use rooms::Rooms;
use secrets::Secrets;
use store::Store;
use tokens::JoinTokens;
use web::ClientAssets;

/// Server version, reported to browsers and `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Shared state of all handlers. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] holds.
pub struct Inner {
    /// The configuration in force.
    pub config: Config,
    /// Base URL used in join links.
    pub public_url: String,
    /// API key, secret and NATS keys.
    pub secrets: Secrets,
    /// Join-token signer.
    pub tokens: JoinTokens,
    /// Room history.
    pub store: Store,
    /// Live room state and its life cycle.
    pub rooms: RoomService,
    /// NATS connections.
    pub nats: NatsLink,
    /// The built client and CSP.
    pub assets: ClientAssets,
    /// Request-rate buckets per client IP and per API key.
    pub rate_limiter: ratelimit::RateLimiter,
    /// Signatures of timestamped server-API requests already accepted.
    pub replay_cache: api::signature::ReplayCache,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be created.
    #[error("data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    /// Secrets could not be loaded.
    #[error(transparent)]
    Secrets(#[from] secrets::SecretsError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// NATS could not be started or reached.
    #[error(transparent)]
    Nats(#[from] nats::NatsError),
    /// The KV buckets could not be opened.
    #[error(transparent)]
    Rooms(#[from] rooms::RoomsError),
}

/// Brings everything up for `cfg`. `local_addr` is the bound HTTP address,
/// used for the default public URL.
pub async fn start(cfg: Config, local_addr: std::net::SocketAddr) -> Result<AppState, StartError> {
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| StartError::DataDir(cfg.data_dir.display().to_string(), e))?;
    let secrets = Secrets::load_or_create(
        &cfg.data_dir,
        &cfg.api_key,
        &cfg.api_secret,
        &cfg.webhook_secret,
    )?;
    let store = Store::open(&cfg.data_dir.join("quorum.db"))?;
    let public_url = if cfg.public_url.is_empty() {
        format!("http://{local_addr}")
    } else {
        cfg.public_url.trim_end_matches('/').to_owned()
    };
    let nats = NatsLink::start(&cfg, &secrets, &public_url).await?;
    metrics::install();
    let js = async_nats::jetstream::new(nats.client.clone());
    let grace = Grace {
        offline_secs: cfg.presence_offline_secs as i64,
        cleanup_secs: cfg.presence_cleanup_secs as i64,
        stale_claim_secs: rooms::lifecycle::STALE_CLAIM_SECS,
    };
    let kv = Rooms::open(&js, Index::new(grace), &Budgets::default()).await?;
    let tokens = JoinTokens::new(&secrets.api_key, &secrets.api_secret, cfg.token_ttl_secs);
    let analytics = Analytics::open(&js, cfg.data_dir.join("analytics")).await?;
    let rooms = RoomService::new(rooms::service::Parts {
        kv,
        store: store.clone(),
        webhooks: webhooks::Webhooks::new(
            &cfg.webhook_url,
            &secrets.webhook_secret,
            cfg.webhook_allow_private,
        ),
        nats: nats.client.clone(),
        analytics,
        system: nats.system.clone(),
        grace,
        limits: cfg.limits.clone(),
        media: livekit::Media::new(&cfg.livekit),
    });
    // Everything that reads room state waits for the index's first load.
    rooms.index().wait_loaded().await;
    rooms.clone().spawn_timers();
    tokio::spawn(rooms.clone().run_meter());
    tokio::spawn(rooms::worker::run(rooms.clone(), tokens.clone()));
    tokio::spawn(rooms::stream::serve_history(rooms.clone()));
    tokio::spawn(rooms::stream::serve_private_history(rooms.clone()));

    let callout = nats::callout::Callout {
        issuer: Arc::new(secrets.issuer()?),
        xkey: Arc::new(secrets.xkey()?),
        tokens: tokens.clone(),
        rooms: rooms.clone(),
        account: cfg.nats.account.clone(),
    };
    let client = nats.client.clone();
    tokio::spawn(async move {
        if let Err(e) = callout.run(client).await {
            tracing::error!(error = %e, "auth callout stopped");
        }
    });
    if let Some(sys) = nats.system.clone() {
        tokio::spawn(nats::presence::run(
            sys.clone(),
            cfg.nats.account.clone(),
            rooms.clone(),
        ));
        tokio::spawn(nats::presence::reconcile(
            sys,
            cfg.nats.account.clone(),
            rooms.clone(),
            nats.reconnected.clone(),
        ));
    }

    let mut connect = nats.ws_urls.clone();
    if !cfg.livekit.url.is_empty() {
        connect.push(cfg.livekit.url.clone());
    }
    let assets = ClientAssets::load(&cfg.client_dir, &connect);
    Ok(AppState(Arc::new(Inner {
        config: cfg,
        public_url,
        secrets,
        tokens,
        store,
        rooms,
        nats,
        assets,
        rate_limiter: Default::default(),
        replay_cache: Default::default(),
    })))
}

/// The HTTP router.
pub fn app(state: AppState) -> Router {
    // The last layer added runs first: security headers wrap everything,
    // rate limits come before the body-size check, which comes before the
    // handlers.
    api::routes()
        .route("/metrics", axum::routing::get(api::metrics::scrape))
        .fallback(web::static_files)
        // Large API answers compressed for browsers that accept it (the
        // client's files are precompressed, and an encoded answer is left
        // as it is); small ones aren't worth it.
        .layer(
            tower_http::compression::CompressionLayer::new().compress_when({
                use tower_http::compression::predicate::{Predicate, SizeAbove};
                tower_http::compression::DefaultPredicate::new().and(SizeAbove::new(1024))
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_body,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::rate_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::security_headers,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_body_bytes,
        ))
        .layer(axum::middleware::from_fn(api::metrics::count))
        // One span per request naming the method and path only: the query
        // may carry a join token (`/?access_token=…`), which is never logged,
        // and `web::request_span` elides the download token in a path.
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(web::request_span))
        .with_state(state)
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then stops
/// NATS (and the embedded nats-server).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let nats = state.nats.clone();
    // The peer address feeds the per-IP rate limit.
    let res = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    nats.shutdown().await;
    res
}
