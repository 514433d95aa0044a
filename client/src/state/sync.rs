//! Keeps the room's state whole across (re)connects. Each time a socket
//! becomes the one in use, with its subscriptions in place, this fetches
//! from the room's history what was missed (everything after the last
//! stream sequence handled; recent chat and all room events the first
//! time), merges it, and only then lets queued chat go out, so that the
//! history can confirm messages that did reach the server before the drop.
//!
//! Room events that arrive live during a catch-up wait until it is done:
//! they are newer than anything fetched, and presence must end on the
//! newest state. Chat needs no such care: it is merged by stream sequence
//! and de-duplicated by id.

use std::sync::Arc;

use leptos::prelude::*;
use quorum_shared::nats_proto::Message;
use quorum_shared::subjects;

use crate::join::Session;
use crate::nats::{NatsClient, Ready, Sub};
use crate::state::chat::{now_ms, ChatContext};
use crate::state::earlier::EarlierContext;
use crate::state::events::{deliver, route_event, EventSinks, Routed};
use crate::state::history::{Source, Stored, Synced};

#[derive(Default)]
struct SyncState {
    /// Last stream sequence handled; `None` until the first load.
    cursor: Option<u64>,
    /// The socket being caught up, if any.
    syncing: Option<u64>,
    /// Live room events held back meanwhile, in arrival order.
    held: Vec<Message>,
    /// The socket in use.
    epoch: u64,
    /// The cursor saved before a reload, while the chat came from the
    /// session cache; used by the first catch-up only.
    restored: Option<u64>,
}

/// Everything a stored message can go to.
#[derive(Clone, Copy)]
struct Targets {
    chat: ChatContext,
    sinks: EventSinks,
    /// Told when the first load brought the whole chat.
    earlier: Option<EarlierContext>,
}

/// Hands one stored message to its place. On the first load, only what
/// describes the room goes in (chat, participants, hands); after a
/// reconnect, everything missed does, including notifications and the end
/// of the session.
fn apply_stored(t: &Targets, session: &Session, s: Stored, initial: bool) {
    let join = &session.join;
    let now = now_ms();
    if subjects::parse_chat(&s.subject).is_some() {
        return t.chat.receive_wire(&s.subject, &s.payload, Some(s.seq));
    }
    if s.subject != join.subjects.public {
        return;
    }
    let delivered = match route_event(&s.payload, now) {
        Ok(Routed::Chat(entry)) => {
            t.chat.receive(entry, Some(s.seq));
            Some(())
        }
        Ok(Routed::Roster(ev)) => t.sinks.roster.try_run(ev),
        Ok(Routed::Toast(toast)) if !initial => t.sinks.toast.try_run(toast),
        Ok(Routed::End(goodbye)) if !initial => t.sinks.end.try_run(goodbye),
        // Private matters never belong in the room's stream.
        Ok(_) => Some(()),
        Err(e) => {
            let text = format!("history: dropped event {}: {e}", s.seq);
            return web_sys::console::warn_1(&text.into());
        }
    };
    if delivered.is_none() {
        web_sys::console::debug_1(&"history: session already gone".into());
    }
}

/// Routes live chat and room events, and catches up after every
/// (re)connect, until the calling component is unmounted.
pub fn start_room_sync(
    nats: NatsClient,
    session: Arc<Session>,
    chat: ChatContext,
    sinks: EventSinks,
    earlier: Option<EarlierContext>,
    restored: Option<u64>,
) {
    let state = StoredValue::new_local(SyncState {
        restored,
        ..SyncState::default()
    });
    let targets = Targets {
        chat,
        sinks,
        earlier,
    };
    let source = Arc::new(Source::of(&session.join));

    nats.set_handler(Sub::Public, move |m| {
        let held = state
            .try_update_value(|s| {
                if s.syncing.is_some() {
                    s.held.push(m.clone());
                    return true;
                }
                false
            })
            .unwrap_or(false);
        if !held {
            deliver(&sinks, &m.subject, &m.payload, now_ms());
        }
    });

    nats.on_ready(move |ready: Ready| {
        state.try_update_value(|s| s.epoch = ready.epoch);
        chat.pause();
        if ready.waiting {
            // The waiting room may read nothing; catch up once let in.
            return;
        }
        state.try_update_value(|s| s.syncing = Some(ready.epoch));
        let (source, session) = (source.clone(), session.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let Some((cursor, restored)) = state.try_with_value(|s| (s.cursor, s.restored)) else {
                return;
            };
            let mut on = |s: Stored, initial: bool| apply_stored(&targets, &session, s, initial);
            let result = match (cursor, restored) {
                (None, Some(after)) => source.restore(&nats, after, &mut on).await,
                _ => source.sync(&nats, cursor, &mut on).await,
            };
            finish(state, targets, ready.epoch, result);
        });
    });

    on_cleanup(move || nats.clear_handler(Sub::Public));
}

/// A catch-up for socket `epoch` ended: record how far it got, release the
/// held events, and let queued chat go out.
fn finish(
    state: StoredValue<SyncState, LocalStorage>,
    t: Targets,
    epoch: u64,
    result: Result<Synced, crate::state::history::HistoryError>,
) {
    let Some(current) = state.try_with_value(|s| s.epoch) else {
        return;
    };
    if current != epoch {
        // A newer socket took over; its own catch-up finishes the job.
        return;
    }
    let held = state
        .try_update_value(|s| {
            match &result {
                Ok(Synced { cursor, whole_chat }) => {
                    s.cursor = *cursor;
                    if let (true, Some(e)) = (whole_chat, t.earlier) {
                        e.none_older();
                    }
                    if let (Some(c), Some(p)) = (*cursor, t.chat.persist()) {
                        // After the fetched chat is in the cache: in an
                        // E2EE room that is once it has been decrypted.
                        match t.chat.crypt() {
                            Some(crypt) => crypt.e2ee.after_pending(move || p.save_cursor(c)),
                            None => p.save_cursor(c),
                        }
                    }
                }
                Err(e) => {
                    web_sys::console::warn_1(&format!("history: catch-up failed: {e}").into())
                }
            }
            s.syncing = None;
            std::mem::take(&mut s.held)
        })
        .unwrap_or_default();
    for m in held {
        deliver(&t.sinks, &m.subject, &m.payload, now_ms());
    }
    t.chat.resume(epoch);
}
