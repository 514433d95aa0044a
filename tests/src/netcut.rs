//! A network a test can cut: a TCP forwarder in front of nats-server's
//! WebSocket port, which browsers are told to use
//! (`QUORUM_NATS_WS_PUBLIC_URLS`). nats-server picks its own port and
//! the forwarder learns it once the server is up ([`NetCut::start_quorum`]):
//! a port probed free beforehand could be taken by another process before
//! nats-server binds it. [`NetCut::cut`] drops every connection
//! through it and refuses new ones, as a lost network would, while the
//! server and anyone connected directly carry on; [`NetCut::restore`]
//! lets connections through again.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::Quorum;

/// See the module docs. Stops forwarding when dropped.
pub struct NetCut {
    /// The port browsers connect to.
    pub port: u16,
    /// The port it forwards to (nats-server's WebSocket port), 0 until
    /// the server is up.
    upstream: Arc<AtomicU16>,
    cut: Arc<AtomicBool>,
    /// Bumped on every cut: each forwarded connection ends when it moves.
    cuts: watch::Sender<u64>,
    accept: tokio::task::JoinHandle<()>,
}

impl NetCut {
    /// Starts listening on a free local port; connections are forwarded
    /// once [`NetCut::start_quorum`] has learned where to.
    pub async fn start() -> Self {
        let upstream = Arc::new(AtomicU16::new(0));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let cut = Arc::new(AtomicBool::new(false));
        let (cuts, _) = watch::channel(0u64);
        let (flag, rx, to) = (cut.clone(), cuts.subscribe(), upstream.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if flag.load(Ordering::SeqCst) {
                    // Refused: the browser sees its socket close at once.
                    drop(client);
                    continue;
                }
                tokio::spawn(forward(client, to.load(Ordering::SeqCst), rx.clone()));
            }
        });
        Self {
            port,
            upstream,
            cut,
            cuts,
            accept,
        }
    }

    /// Starts `quorum` with browsers sent through this forwarder, and
    /// forwards to the WebSocket port its nats-server chose.
    pub fn start_quorum(&self) -> Quorum {
        let q = Quorum::start_env(&[(
            "QUORUM_NATS_WS_PUBLIC_URLS",
            format!("ws://127.0.0.1:{}", self.port),
        )]);
        self.upstream.store(q.nats_ws_port(), Ordering::SeqCst);
        q
    }

    /// nats-server's own WebSocket address, for raw clients that must
    /// not be cut.
    pub fn direct_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.upstream.load(Ordering::SeqCst))
    }

    /// Drops every connection through it and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for NetCut {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// Copies both ways between `client` and `upstream` until either side
/// closes or the network is cut.
async fn forward(mut client: TcpStream, upstream: u16, mut cuts: watch::Receiver<u64>) {
    cuts.mark_unchanged();
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cuts.changed() => {}
    }
}
