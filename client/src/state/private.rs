//! This user's private events (approval, removal, locks, messages to this
//! user alone), live and after every reconnect. The server keeps them in a
//! stream of their own and answers `subjects.private_history` with this
//! user's events only, so one that was sent while the socket was down is
//! delivered when it comes back rather than lost.
//!
//! The cursor is the stream sequence of the newest private event handled.
//! The first connect only learns it (what happened before the join is not
//! ours to replay); each reconnect fetches what came after it. Live events
//! carry no sequence, so after each one the cursor is moved to the stream's
//! newest; events arriving during a catch-up wait for it, and are dropped
//! if the catch-up already delivered the same event.

use std::sync::Arc;

use leptos::prelude::*;
use quorum_shared::nats_proto::Message;

use crate::join::Session;
use crate::nats::{NatsClient, Ready, Sub};
use crate::state::chat::now_ms;
use crate::state::events::{deliver, EventSinks};
use crate::state::history::{HistoryError, Source, Stored};

#[derive(Default)]
struct PrivateState {
    /// Newest private-stream sequence handled; `None` before the first
    /// successful look.
    cursor: Option<u64>,
    /// A catch-up is running for this socket epoch.
    syncing: Option<u64>,
    /// Live events held back meanwhile.
    held: Vec<Message>,
    /// The socket in use.
    epoch: u64,
}

type State = StoredValue<PrivateState, LocalStorage>;

/// Handles this user's private events, live and missed, until the calling
/// component is unmounted.
pub fn start_private_events(nats: NatsClient, session: &Session, sinks: EventSinks) {
    let state: State = StoredValue::new_local(PrivateState::default());
    let own = session.join.subjects.private.clone();
    let source = Arc::new(Source {
        subject: session.join.subjects.private_history.clone(),
        all: own.clone(),
        chat: String::new(),
        public: own,
    });

    let live_source = source.clone();
    nats.set_handler(Sub::Private, move |m| {
        let held = state
            .try_update_value(|s| {
                let hold = s.syncing.is_some();
                if hold {
                    s.held.push(m.clone());
                }
                hold
            })
            .unwrap_or(false);
        if held {
            return;
        }
        deliver(&sinks, &m.subject, &m.payload, now_ms());
        let source = live_source.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Ok(last) = source.last_seq(&nats).await {
                state.try_update_value(|s| s.cursor = s.cursor.max(Some(last)));
            }
        });
    });

    nats.on_ready(move |ready: Ready| {
        state.try_update_value(|s| s.epoch = ready.epoch);
        if ready.waiting {
            // The waiting room may send nothing, not even this request;
            // its approval comes live, and with a reconnect anyway.
            return;
        }
        state.try_update_value(|s| s.syncing = Some(ready.epoch));
        let source = source.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let Some(cursor) = state.try_with_value(|s| s.cursor) else {
                return;
            };
            let mut fetched = Vec::new();
            let result = catch_up(&source, &nats, cursor, &mut |s: Stored| {
                deliver(&sinks, &s.subject, &s.payload, now_ms());
                fetched.push(s.payload);
            })
            .await;
            finish(state, sinks, ready.epoch, result, &fetched);
        });
    });

    on_cleanup(move || nats.clear_handler(Sub::Private));
}

/// The new cursor: the stream's newest sequence the first time, otherwise
/// the last one fetched after `cursor`.
async fn catch_up(
    source: &Source,
    nats: &NatsClient,
    cursor: Option<u64>,
    on: &mut impl FnMut(Stored),
) -> Result<u64, HistoryError> {
    let last = source.last_seq(nats).await?;
    match cursor {
        None => Ok(last),
        // Nothing new, or a stream that went backwards (recreated):
        // nothing of ours to replay.
        Some(c) if c >= last => Ok(last),
        Some(c) => {
            let seen = source.fetch(nats, (c + 1, u64::MAX), None, 0, on).await?;
            Ok(seen.max(c))
        }
    }
}

fn finish(
    state: State,
    sinks: EventSinks,
    epoch: u64,
    result: Result<u64, HistoryError>,
    fetched: &[Vec<u8>],
) {
    if state.try_with_value(|s| s.epoch) != Some(epoch) {
        // A newer socket took over; its own catch-up finishes the job.
        return;
    }
    let held = state
        .try_update_value(|s| {
            match &result {
                Ok(c) => s.cursor = s.cursor.max(Some(*c)),
                Err(e) => web_sys::console::warn_1(
                    &format!("private events: catch-up failed: {e}").into(),
                ),
            }
            s.syncing = None;
            std::mem::take(&mut s.held)
        })
        .unwrap_or_default();
    for m in held {
        if !fetched.contains(&m.payload) {
            deliver(&sinks, &m.subject, &m.payload, now_ms());
        }
    }
}
