//! Private chat between two participants, on `qr.{room}.dm.{to}.{from}`.
//! nats-server lets each user publish only with its own id as the last
//! token and receive only with its own id as the recipient, so, as with
//! public chat, the sender comes from the subject. In an E2EE room the
//! payload is sealed with kind `private_chat`, so it can't pass as a
//! public message (or the other way round).
//!
//! Private messages go out at once or not at all (the composer keeps the
//! text and says why): they are not queued across reconnects.

use leptos::prelude::*;
use quorum_shared::e2ee::Kind;
use quorum_shared::ids::UserId;
use quorum_shared::peer::ChatMessage;
use quorum_shared::subjects;

use crate::nats::Sub;
use crate::state::chat::{
    accept_incoming_private, checked_text, now_ms, random_id, ChatContext, ChatEntry,
    SendChatError, Sender,
};

/// Sends `text` to `to` (shown as `to_name`) and shows it in our log.
pub fn send_private(
    chat: ChatContext,
    to: &UserId,
    to_name: &str,
    text: &str,
) -> Result<(), SendChatError> {
    let text = checked_text(text, chat.locked().get_untracked())?;
    let nats = chat.nats();
    if !nats.state().get_untracked().is_connected() {
        return Err(SendChatError::Offline);
    }
    let session = chat.session();
    let join = &session.join;
    let msg = ChatMessage {
        id: random_id(),
        name: join.name.clone(),
        text: text.to_string(),
        sent_at_ms: now_ms(),
    };
    let subject = subjects::dm(&join.room_id, to, &join.user_id);
    chat.add(ChatEntry {
        id: msg.id.clone(),
        sender: Sender::User(join.user_id.clone()),
        name: msg.name.clone(),
        text: msg.text.clone(),
        shown_at_ms: msg.sent_at_ms,
        mine: true,
        private_to: Some(to_name.to_string()),
    });
    let Some(c) = chat.crypt() else {
        return nats
            .publish(&subject, &msg.encode())
            .map_err(|_| SendChatError::Offline);
    };
    let me = join.user_id.clone();
    wasm_bindgen_futures::spawn_local(async move {
        match c.e2ee.seal(&me, Kind::PrivateChat, &msg.encode()).await {
            Ok(wire) => {
                if let Err(e) = nats.publish(&subject, &wire) {
                    web_sys::console::warn_1(&format!("private chat: not sent: {e}").into());
                }
            }
            Err(e) => {
                web_sys::console::error_1(&format!("private chat: could not encrypt: {e}").into())
            }
        }
    });
    Ok(())
}

/// Receives private chat into the log until the calling component is
/// unmounted.
pub fn start_private_chat(chat: ChatContext) {
    let nats = chat.nats();
    nats.set_handler(Sub::Dm, move |m| {
        let session = chat.session();
        let join = &session.join;
        let Some((room, to, from)) = subjects::parse_dm(&m.subject) else {
            return;
        };
        if room != join.room_id || to != join.user_id {
            return;
        }
        let Some(c) = chat.crypt() else {
            return accept(chat, &from, &m.payload);
        };
        c.e2ee.open(
            from.clone(),
            Kind::PrivateChat,
            m.payload.clone(),
            move |plain| match plain {
                Some(p) => accept(chat, &from, &p),
                None => {
                    c.undecryptable.try_run(from);
                }
            },
        );
    });
    on_cleanup(move || nats.clear_handler(Sub::Dm));
}

fn accept(chat: ChatContext, from: &UserId, payload: &[u8]) {
    match accept_incoming_private(from, payload, now_ms()) {
        Ok(entry) => {
            chat.add(entry);
        }
        Err(e) => web_sys::console::warn_1(&format!("private chat: dropped: {e}").into()),
    }
}
