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
use quorum_shared::e2ee::{dm_party, Kind};
use quorum_shared::ids::UserId;
use quorum_shared::subjects;

use crate::nats::Sub;
use crate::state::chat::{
    accept_incoming_private, checked_text, now_ms, own_message, ChatContext, PrivateOut,
    SendChatError,
};
use crate::util::now_or_next_frame;

/// Sends `text` to `to` (shown as `to_name`) and shows it in our log.
pub fn send_private(
    chat: ChatContext,
    to: &UserId,
    to_name: &str,
    text: &str,
    locked: bool,
) -> Result<(), SendChatError> {
    let text = checked_text(text, locked || chat.locked().get_untracked())?;
    let nats = chat.nats();
    if !nats.state().get_untracked().is_connected() {
        return Err(SendChatError::Offline);
    }
    let session = chat.session();
    let join = &session.join;
    let (msg, entry) = own_message(&session, text, Some(to_name.to_string()));
    let subject = subjects::dm(&join.room_id, to, &join.user_id);
    let Some(c) = chat.crypt() else {
        // Shown only once it went out, so a retry can't show it twice.
        let wire = msg.encode();
        nats.publish(&subject, &wire)
            .map_err(|_| SendChatError::Offline)?;
        chat.record(&subject, &msg.id, None, wire.clone());
        chat.private_written(PrivateOut {
            id: msg.id.clone(),
            subject,
            wire,
            to_name: to_name.to_string(),
        });
        chat.add(entry);
        return Ok(());
    };
    let to_name = to_name.to_string();
    // Drawn once sealed and written (or at the next frame if sealing waits).
    let show = now_or_next_frame(move || {
        chat.add(entry);
    });
    let party = dm_party(join.user_id.as_str(), to.as_str());
    wasm_bindgen_futures::spawn_local(async move {
        match c.e2ee.seal(&party, Kind::PrivateChat, &msg.encode()).await {
            Ok(wire) => {
                chat.record(&subject, &msg.id, None, wire.clone());
                if let Err(e) = nats.publish(&subject, &wire) {
                    web_sys::console::warn_1(&format!("private chat: not sent: {e}").into());
                }
                chat.private_written(PrivateOut {
                    id: msg.id.clone(),
                    subject,
                    wire,
                    to_name,
                });
            }
            Err(e) => {
                web_sys::console::error_1(&format!("private chat: could not encrypt: {e}").into())
            }
        }
        show();
    });
    Ok(())
}

/// Receives private chat into the log until the calling component is
/// unmounted.
pub fn start_private_chat(chat: ChatContext) {
    let nats = chat.nats();
    nats.set_handler(Sub::Dm, move |m| take(chat, &m.subject, &m.payload, true));
    on_cleanup(move || nats.clear_handler(Sub::Dm));
}

/// Shows a private message restored from the session cache: one to us, or
/// one we sent.
pub fn restore_private(chat: ChatContext, subject: &str, payload: &[u8]) {
    take(chat, subject, payload, false);
}

fn take(chat: ChatContext, subject: &str, payload: &[u8], live: bool) {
    let session = chat.session();
    let join = &session.join;
    let Some((room, to, from)) = subjects::parse_dm(subject) else {
        return;
    };
    let me = &join.user_id;
    if room != join.room_id || (&to != me && (live || &from != me)) {
        return;
    }
    let ours = &from == me && &to != me;
    let (sender, to_id) = (from.clone(), to.clone());
    let (subject, wire) = (subject.to_string(), payload.to_vec());
    let kept = (subject.clone(), wire.clone());
    let show = move |plain: &[u8]| {
        let entry = accept_incoming_private(&from, plain, now_ms()).map(|mut e| {
            if ours {
                // Ours, from the cache: shown as sent, to its recipient.
                e.mine = true;
                e.private_to = Some(to.to_string());
            }
            e
        });
        match entry {
            Ok(entry) => {
                if live {
                    chat.record(&subject, &entry.id, None, wire.clone());
                }
                chat.add(chat.named(entry));
            }
            Err(e) => web_sys::console::warn_1(&format!("private chat: dropped: {e}").into()),
        }
    };
    let Some(c) = chat.crypt() else {
        return show(payload);
    };
    c.e2ee.open(
        dm_party(sender.as_str(), to_id.as_str()),
        Kind::PrivateChat,
        kept.1.clone(),
        move |plain| match plain {
            Some(p) => show(&p),
            None => {
                c.undecryptable.try_run(sender.clone());
                // Ours (from the cache) that no longer open: nothing to
                // say to whom; one to us leaves a trace, like public chat.
                if !ours {
                    let (subject, wire) = kept;
                    chat.unreadable(sender, subject, wire, None);
                }
            }
        },
    );
}
