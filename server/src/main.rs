//! `quorum`: the server binary. Run `quorum [--config FILE]`; settings come
//! from the TOML file plus `QUORUM_*` environment variables (see README).

use std::path::PathBuf;

use quorum_server::config::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("QUORUM_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quorum: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut config_path: Option<PathBuf> = std::env::var_os("QUORUM_CONFIG").map(PathBuf::from);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" | "-c" => config_path = args.next().map(PathBuf::from),
            "--healthcheck" => return healthcheck(),
            "--help" | "-h" => {
                println!("usage: quorum [--config FILE] [--healthcheck]   (see README for QUORUM_* variables)");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    let cfg = Config::load(config_path.as_deref(), |k| std::env::var(k).ok())
        .map_err(|e| e.to_string())?;
    // Installed before anything is printed: a SIGTERM right after the
    // links appear must shut down cleanly, not hit the default action.
    use tokio::signal::unix::{signal, SignalKind};
    let term =
        signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    let int = signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
    let demo = cfg.demo_room;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = quorum_server::start(cfg, addr)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Quorum {} is running at {}",
        quorum_server::VERSION,
        state.public_url
    );
    // Off unless asked for (`scripts/run.sh` asks). The links hold tokens:
    // they go to stdout, the operator's terminal, and never to `tracing`.
    if demo {
        match quorum_server::demo::create(&state).await {
            Ok(links) => {
                println!("Moderator link:   {}", links.moderator);
                println!("Participant link: {}", links.participant);
                println!(
                    "(links are valid for {} s; restart for fresh ones)",
                    state.config.token_ttl_secs
                );
            }
            Err(e) => tracing::error!(error = %e, "cannot create the demo room"),
        }
    }
    println!("Press Ctrl-C to stop.");
    quorum_server::serve(listener, state, shutdown_signal(term, int))
        .await
        .map_err(|e| e.to_string())
}

/// Ctrl-C or SIGTERM (what `docker stop` sends).
async fn shutdown_signal(
    mut term: tokio::signal::unix::Signal,
    mut int: tokio::signal::unix::Signal,
) {
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}

/// `quorum --healthcheck`: exit 0 if `/healthz` on the configured listen
/// address answers 200. Used by the container HEALTHCHECK, which has no curl.
fn healthcheck() -> Result<(), String> {
    use std::io::{Read, Write};
    let cfg = Config::load(
        std::env::var_os("QUORUM_CONFIG")
            .map(PathBuf::from)
            .as_deref(),
        |k| std::env::var(k).ok(),
    )
    .map_err(|e| e.to_string())?;
    let mut addr = cfg.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let timeout = std::time::Duration::from_secs(3);
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).map_err(|e| e.to_string())?;
    if head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200") {
        Ok(())
    } else {
        Err(format!("unhealthy: {}", String::from_utf8_lossy(&head)))
    }
}
