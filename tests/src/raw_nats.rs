//! A deliberately minimal NATS client for tests (the server's attack
//! suite and the end-to-end tests), built on the shared sans-IO
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

/// How long one step (connect, a PING's PONG, a request) may take.
pub const STEP: Duration = Duration::from_secs(20);

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
pub struct RawNats {
    io: Transport,
    dec: Decoder,
    /// Messages that arrived while we waited for something else.
    inbox: VecDeque<Message>,
    next_sid: u64,
    /// `_INBOX.{room}.{user}` from the token's claims, for [`RawNats::request`].
    inbox_prefix: Option<String>,
    /// The sid of the wildcard subscription on `{inbox_prefix}.>`, once made.
    inbox_sid: Option<u64>,
    /// Counter making each request's reply subject unique.
    next_request: u64,
}

impl RawNats {
    /// Connects to `url` (`nats://host:port` or `ws://host:port`) presenting
    /// `token` as `auth_token`, then PINGs. `Err` carries the server's
    /// `-ERR` text (e.g. "Authorization Violation") or why the connection
    /// ended.
    pub async fn connect(url: &str, token: Option<&str>) -> Result<Self, String> {
        Self::connect_named(url, token, "quorum-test").await
    }

    /// [`RawNats::connect`] with the client name `name` (a browser's names
    /// its tab: `quorum_shared::api::nats_client_name`).
    pub async fn connect_named(url: &str, token: Option<&str>, name: &str) -> Result<Self, String> {
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
            inbox_prefix: token.and_then(inbox_prefix_of),
            inbox_sid: None,
            next_request: 1,
        };
        let opts = ConnectOptions {
            name: Some(name.into()),
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
    pub async fn sub(&mut self, subject: &str) -> Result<(), String> {
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

    /// Subscribes to `subject` in queue group `queue`. `Err` carries
    /// nats-server's refusal.
    pub async fn sub_queue(&mut self, subject: &str, queue: &str) -> Result<(), String> {
        let sid = self.next_sid;
        self.next_sid += 1;
        self.send(&[
            ClientOp::Sub {
                subject,
                queue_group: Some(queue),
                sid,
            },
            ClientOp::Ping,
        ])
        .await?;
        self.until_pong().await
    }

    /// Publishes `payload` to `subject`. `Err` carries nats-server's refusal,
    /// e.g. `Permissions Violation for Publish to "…"`.
    pub async fn publish(&mut self, subject: &str, payload: &[u8]) -> Result<(), String> {
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
    pub async fn next_msg(&mut self, timeout: Duration) -> Result<Option<Message>, String> {
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

    /// A PING answered by a PONG: the connection is alive and usable.
    pub async fn ping(&mut self) -> Result<(), String> {
        self.send(&[ClientOp::Ping]).await?;
        self.until_pong().await
    }

    /// Every message nats-server has routed to this connection so far, in
    /// order, leaving none behind: PINGs, waits for the PONG (nats-server
    /// queues it behind everything it already routed here), then empties
    /// the inbox. So anything published before this call, and processed by
    /// nats-server, that this connection would receive is in the result:
    /// an empty result is evidence that nothing is on its way. `Err` if the
    /// connection is gone, e.g. kicked.
    pub async fn drain(&mut self) -> Result<Vec<Message>, String> {
        self.ping().await?;
        Ok(self.inbox.drain(..).collect())
    }

    /// Publishes `payload` to `subject` with `reply_to`. `Err` carries
    /// nats-server's refusal.
    pub async fn publish_with_reply(
        &mut self,
        subject: &str,
        reply_to: &str,
        payload: &[u8],
    ) -> Result<(), String> {
        self.send(&[
            ClientOp::Pub {
                subject,
                reply_to: Some(reply_to),
                payload,
            },
            ClientOp::Ping,
        ])
        .await?;
        self.until_pong().await
    }

    /// Request/reply the way a browser does it: the reply subject lies under
    /// this user's own inbox `_INBOX.{room}.{user}.` (taken from the token's
    /// claims), subscribed once with a wildcard. `Err` carries nats-server's
    /// refusal of the SUB or PUB, or says that no reply came in `timeout`.
    /// Messages on other subjects are kept for [`RawNats::next_msg`].
    pub async fn request(
        &mut self,
        subject: &str,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<Message, String> {
        let prefix = self
            .inbox_prefix
            .clone()
            .ok_or("no room/user in the token: no inbox to reply to")?;
        if self.inbox_sid.is_none() {
            let sid = self.next_sid;
            self.sub(&format!("{prefix}.>")).await?;
            self.inbox_sid = Some(sid);
        }
        let reply = format!("{prefix}.r{}", self.next_request);
        self.next_request += 1;
        self.publish_with_reply(subject, &reply, payload).await?;
        self.next_msg_on(&reply, timeout)
            .await?
            .ok_or_else(|| format!("no reply on {reply} within {timeout:?}"))
    }

    /// The next message delivered on exactly `subject`, `Ok(None)` if none
    /// arrives in `timeout`. Other messages are kept, in order, for
    /// [`RawNats::next_msg`].
    pub async fn next_msg_on(
        &mut self,
        subject: &str,
        timeout: Duration,
    ) -> Result<Option<Message>, String> {
        if let Some(i) = self.inbox.iter().position(|m| m.subject == subject) {
            return Ok(self.inbox.remove(i));
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.next_op(deadline).await? {
                None => return Ok(None),
                Some(ServerOp::Msg(m)) if m.subject == subject => return Ok(Some(m)),
                Some(ServerOp::Msg(m)) => self.inbox.push_back(m),
                Some(ServerOp::Err(e)) => return Err(e),
                Some(_) => continue,
            }
        }
    }

    /// Waits until the server closes this connection. `Some(reason)` if it
    /// did within `timeout`: the last `-ERR` it sent (e.g. "User
    /// Authentication Expired"), or how the transport ended. `None` if the
    /// connection is still open. Messages arriving meanwhile are kept for
    /// [`RawNats::next_msg`].
    pub async fn closed_within(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut last_err: Option<String> = None;
        loop {
            match self.next_op(deadline).await {
                Ok(None) => return None,
                Ok(Some(ServerOp::Msg(m))) => self.inbox.push_back(m),
                Ok(Some(ServerOp::Err(e))) => last_err = Some(e),
                Ok(Some(_)) => {}
                Err(closed) => return Some(last_err.unwrap_or(closed)),
            }
        }
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        self.io.close().await;
    }
}

/// `_INBOX.{room}.{user}` for a join token, from its (unverified) claims.
fn inbox_prefix_of(token: &str) -> Option<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    let payload = B64.decode(token.split('.').nth(1)?).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    Some(format!(
        "_INBOX.{}.{}",
        claims["room_id"].as_str()?,
        claims["user_id"].as_str()?
    ))
}
