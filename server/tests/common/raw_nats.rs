//! A deliberately minimal NATS client for tests, built on the shared sans-IO
//! codec, over plain TCP (`nats://`) or WebSocket binary frames (`ws://`).
//!
//! Unlike a full client library it hides nothing: every `-ERR` the server
//! sends is surfaced, so tests see nats-server's own permission decisions.
//! Each operation is followed by a PING and waits for the PONG, so when a
//! call returns the server has processed it.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use quorum_shared::nats_proto::{encode, ClientOp, ConnectOptions, Decoder, Message, ServerOp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::STEP;

enum Transport {
    Tcp(TcpStream),
    Ws(Box<WebSocketStream<MaybeTlsStream<TcpStream>>>),
}

impl Transport {
    async fn send(&mut self, bytes: Vec<u8>) -> Result<(), String> {
        match self {
            Transport::Tcp(s) => s.write_all(&bytes).await.map_err(|e| format!("write: {e}")),
            Transport::Ws(ws) => ws
                .send(WsMessage::Binary(bytes.into()))
                .await
                .map_err(|e| format!("ws send: {e}")),
        }
    }

    /// Next chunk of bytes; `Err` once the connection is closed.
    async fn recv(&mut self) -> Result<Vec<u8>, String> {
        match self {
            Transport::Tcp(s) => {
                let mut buf = vec![0u8; 16 * 1024];
                match s.read(&mut buf).await {
                    Ok(0) => Err("connection closed by the server".into()),
                    Ok(n) => {
                        buf.truncate(n);
                        Ok(buf)
                    }
                    Err(e) => Err(format!("read: {e}")),
                }
            }
            Transport::Ws(ws) => loop {
                match ws.next().await {
                    Some(Ok(WsMessage::Binary(b))) => return Ok(b.to_vec()),
                    Some(Ok(WsMessage::Text(t))) => return Ok(t.as_bytes().to_vec()),
                    Some(Ok(WsMessage::Close(_))) | None => {
                        return Err("websocket closed by the server".into())
                    }
                    // Pings are answered by tungstenite itself.
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(format!("ws read: {e}")),
                }
            },
        }
    }

    async fn close(&mut self) {
        match self {
            Transport::Tcp(s) => {
                let _ = s.shutdown().await;
            }
            Transport::Ws(ws) => {
                let _ = (**ws).close(None).await;
            }
        }
    }
}

/// One raw NATS connection.
pub(crate) struct RawNats {
    io: Transport,
    dec: Decoder,
    /// Messages that arrived while we waited for something else.
    inbox: VecDeque<Message>,
    next_sid: u64,
}

impl RawNats {
    /// Connects to `url` (`nats://host:port` or `ws://host:port`) presenting
    /// `token` as `auth_token`, then PINGs. `Err` carries the server's
    /// `-ERR` text (e.g. "Authorization Violation") or why the connection
    /// ended.
    pub(crate) async fn connect(url: &str, token: Option<&str>) -> Result<Self, String> {
        let io = if let Some(addr) = url.strip_prefix("nats://") {
            let s = tokio::time::timeout(STEP, TcpStream::connect(addr))
                .await
                .map_err(|_| format!("tcp connect to {addr} timed out"))?
                .map_err(|e| format!("tcp connect to {addr}: {e}"))?;
            s.set_nodelay(true).map_err(|e| e.to_string())?;
            Transport::Tcp(s)
        } else if url.starts_with("ws://") {
            let (ws, _) = tokio::time::timeout(STEP, tokio_tungstenite::connect_async(url))
                .await
                .map_err(|_| format!("ws connect to {url} timed out"))?
                .map_err(|e| format!("ws connect to {url}: {e}"))?;
            Transport::Ws(Box::new(ws))
        } else {
            return Err(format!("unsupported url {url}"));
        };
        let mut c = Self {
            io,
            dec: Decoder::new(),
            inbox: VecDeque::new(),
            next_sid: 1,
        };
        let opts = ConnectOptions {
            name: Some("quorum-test".into()),
            auth_token: token.map(str::to_owned),
            ..ConnectOptions::default()
        };
        c.send(&[ClientOp::Connect(&opts), ClientOp::Ping]).await?;
        c.until_pong().await?;
        Ok(c)
    }

    async fn send(&mut self, ops: &[ClientOp<'_>]) -> Result<(), String> {
        let mut out = Vec::new();
        for op in ops {
            encode(op, &mut out).map_err(|e| format!("encode: {e}"))?;
        }
        self.io.send(out).await
    }

    /// Handles one decoded op; returns it if the caller should look at it.
    async fn handle(&mut self, op: ServerOp) -> Result<Option<ServerOp>, String> {
        match op {
            // INFO comes at start, again after CONNECT, and on cluster changes.
            ServerOp::Info(_) | ServerOp::Ok => Ok(None),
            ServerOp::Ping => {
                self.send(&[ClientOp::Pong]).await?;
                Ok(None)
            }
            other => Ok(Some(other)),
        }
    }

    /// Next op worth looking at, or `Ok(None)` at `deadline`.
    async fn next_op(&mut self, deadline: Instant) -> Result<Option<ServerOp>, String> {
        loop {
            while let Some(op) = self.dec.next_op().map_err(|e| format!("decode: {e}"))? {
                if let Some(op) = self.handle(op).await? {
                    return Ok(Some(op));
                }
            }
            match tokio::time::timeout_at(deadline, self.io.recv()).await {
                Err(_) => return Ok(None),
                Ok(bytes) => self.dec.push(&bytes?),
            }
        }
    }

    /// Waits for the PONG answering our PING. Any `-ERR` before it makes the
    /// result `Err` with that text, also when the server then hangs up.
    async fn until_pong(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STEP;
        let mut refused: Option<String> = None;
        loop {
            let op = match self.next_op(deadline).await {
                Ok(Some(op)) => op,
                Ok(None) => {
                    return Err(refused.unwrap_or_else(|| "timed out waiting for PONG".into()))
                }
                // Closed: the -ERR that preceded it is the real reason.
                Err(closed) => return Err(refused.unwrap_or(closed)),
            };
            match op {
                ServerOp::Pong => return refused.map_or(Ok(()), Err),
                ServerOp::Err(text) => {
                    refused.get_or_insert(text);
                }
                ServerOp::Msg(m) => self.inbox.push_back(m),
                other => return Err(format!("unexpected {other:?}")),
            }
        }
    }

    /// Subscribes to `subject`. `Err` carries nats-server's refusal, e.g.
    /// `Permissions Violation for Subscription to "…"`.
    pub(crate) async fn sub(&mut self, subject: &str) -> Result<(), String> {
        let sid = self.next_sid;
        self.next_sid += 1;
        self.send(&[
            ClientOp::Sub {
                subject,
                queue_group: None,
                sid,
            },
            ClientOp::Ping,
        ])
        .await?;
        self.until_pong().await
    }

    /// Publishes `payload` to `subject`. `Err` carries nats-server's refusal,
    /// e.g. `Permissions Violation for Publish to "…"`.
    pub(crate) async fn publish(&mut self, subject: &str, payload: &[u8]) -> Result<(), String> {
        self.send(&[
            ClientOp::Pub {
                subject,
                reply_to: None,
                payload,
            },
            ClientOp::Ping,
        ])
        .await?;
        self.until_pong().await
    }

    /// The next delivered message, `Ok(None)` if none arrives in `timeout`.
    pub(crate) async fn next_msg(&mut self, timeout: Duration) -> Result<Option<Message>, String> {
        if let Some(m) = self.inbox.pop_front() {
            return Ok(Some(m));
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.next_op(deadline).await? {
                None => return Ok(None),
                Some(ServerOp::Msg(m)) => return Ok(Some(m)),
                Some(ServerOp::Err(e)) => return Err(e),
                Some(_) => continue,
            }
        }
    }

    /// Closes the connection.
    pub(crate) async fn close(mut self) {
        self.io.close().await;
    }
}
