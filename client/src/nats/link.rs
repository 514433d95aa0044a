//! One socket of a connection: the WebSocket, its decoder and how far its
//! handshake got. A connection has one live link, plus a second one while
//! it swaps tokens without dropping the first (see `conn.rs`).

use std::cell::RefCell;
use std::rc::Weak;

use quorum_shared::api::JoinSession;
use quorum_shared::nats_proto::{encode, ClientOp, ConnectOptions, Decoder, ProtoError, ServerOp};
use wasm_bindgen::JsValue;

use super::conn::{with_conn, Conn};
use super::ws::WsTransport;
use super::Sub;
use crate::join::JoinToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Socket opening; waiting for the server's INFO.
    Opening,
    /// CONNECT, SUBs and PING sent; the PONG confirms all of them.
    AwaitingPong,
    /// Usable.
    Ready,
}

/// One socket and its protocol state.
pub(super) struct Link {
    ws: WsTransport,
    /// Unique per socket, so a late event of a replaced one is ignored.
    pub(super) generation: u64,
    decoder: Decoder,
    pub(super) phase: Phase,
    pub(super) missed_pongs: u8,
    /// The server refused the chat SUB during the handshake: this
    /// participant is in the waiting room.
    pub(super) chat_denied: bool,
    /// Index of the URL it was opened on, to reuse for a token swap.
    pub(super) url_index: usize,
    /// The rest of what arrived is taken in by a later task (see
    /// `Conn::feed`); new bytes wait behind it.
    pub(super) feed_later: bool,
}

impl Link {
    /// Starts opening a socket to `url`; its events enter the connection
    /// tagged with `generation`.
    pub(super) fn open(
        me: &Weak<RefCell<Conn>>,
        url: &str,
        url_index: usize,
        generation: u64,
    ) -> Result<Self, JsValue> {
        let me = me.clone();
        let ws = WsTransport::connect(url, move |ev| {
            with_conn(&me, |c, after| c.on_event(generation, ev, after))
        })?;
        Ok(Self {
            ws,
            generation,
            decoder: Decoder::new(),
            phase: Phase::Opening,
            missed_pongs: 0,
            chat_denied: false,
            url_index,
            feed_later: false,
        })
    }

    /// Buffers received bytes.
    pub(super) fn push(&mut self, bytes: &[u8]) {
        self.decoder.push(bytes);
    }

    /// The next complete op, if any.
    pub(super) fn next_op(&mut self) -> Result<Option<ServerOp>, ProtoError> {
        self.decoder.next_op()
    }

    /// Sends raw bytes.
    pub(super) fn send(&self, frame: &[u8]) -> Result<(), JsValue> {
        self.ws.send(frame)
    }
}

/// CONNECT with `token`, every subscription, then a PING whose PONG proves
/// the server accepted all of it (a refused SUB answers `-ERR` first).
pub(super) fn handshake_frame(
    token: &JoinToken,
    join: &JoinSession,
) -> Result<Vec<u8>, ProtoError> {
    let opts = ConnectOptions {
        auth_token: Some(token.expose().to_string()),
        // Which tab: the server refuses one the meeting was moved from.
        name: Some(quorum_shared::api::nats_client_name(
            &join.room_id,
            &join.user_id,
            &crate::util::tab_id(),
        )),
        lang: "quorum-web".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        headers: true,
        echo: true,
        ..ConnectOptions::default()
    };
    let inbox = inbox_wildcard(&join.subjects.inbox_prefix);
    let mut ops = vec![ClientOp::Connect(&opts)];
    for sub in Sub::ALL {
        let subject = match sub {
            Sub::Inbox => inbox.as_str(),
            _ => sub.subject(&join.subjects),
        };
        ops.push(ClientOp::Sub {
            subject,
            queue_group: None,
            sid: sub.sid(),
        });
    }
    ops.push(ClientOp::Ping);
    let mut frame = Vec::new();
    for op in &ops {
        encode(op, &mut frame)?;
    }
    Ok(frame)
}

/// The subscription that receives every reply addressed to this user.
pub(super) fn inbox_wildcard(prefix: &str) -> String {
    format!("{prefix}.>")
}
