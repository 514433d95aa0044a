//! What this participant knows about its role and the room beyond the
//! chat: whether it is a moderator now, its own locks and microphone, and
//! for a moderator the room's settings and who is waiting. Filled from a
//! snapshot the server sends after every connect, kept current by events,
//! and the one place moderators' actions are sent from.

use std::sync::Arc;

use leptos::prelude::*;
use quorum_shared::api::LockSettings;
use quorum_shared::ids::UserId;
use quorum_shared::moderation::{PersonSettings, RoomSettings, RoomSnapshot, WaitingEntry};
use quorum_shared::worker::WorkerRequest;

use crate::join::Session;
use crate::nats::{NatsClient, Ready};
use crate::worker::{call, WorkerError};

/// A reaction someone sent (the payload is a known name, or sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionEvent {
    /// Who sent it (from the server, not the payload).
    pub user_id: String,
    /// The reaction's name, or its envelope in an E2EE room.
    pub payload: String,
    /// When (unix milliseconds).
    pub sent_at_ms: u64,
    /// Its place among the reactions this page received (set on arrival),
    /// so a view can tell new ones from those it has shown.
    pub seq: u64,
}

/// An event about roles, locks, the waiting room or reactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModerationEvent {
    /// Someone is waiting (`true`) or no longer is.
    Waiting(WaitingEntry, bool),
    /// We became a moderator, or are one no more.
    Role(bool),
    /// The room's settings (moderators).
    Settings(RoomSettings),
    /// The waiting-room message (people waiting).
    WaitingMessage(String),
    /// A moderator muted us, or asks us to unmute.
    Microphone {
        /// Muted now.
        muted: bool,
        /// Asked to unmute.
        ask_unmute: bool,
    },
    /// Our locks now.
    MyLocks(LockSettings),
    /// A participant's locks or microphone (moderators).
    Person(PersonSettings),
    /// Someone reacted.
    Reaction(ReactionEvent),
}

/// Shared through context; cheap to copy.
#[derive(Clone, Copy)]
pub struct ModerationContext {
    nats: NatsClient,
    worker: StoredValue<String>,
    is_admin: RwSignal<bool>,
    my_locks: RwSignal<LockSettings>,
    muted: RwSignal<bool>,
    settings: RwSignal<RoomSettings>,
    waiting: RwSignal<Vec<WaitingEntry>>,
    waiting_message: RwSignal<String>,
    /// Every participant's locks and microphone (moderators), by user id.
    people: RwSignal<std::collections::HashMap<String, PersonSettings>>,
    /// The newest reactions, oldest first (at most [`MAX_REACTIONS`]).
    reactions: RwSignal<Vec<ReactionEvent>>,
    /// Someone new started waiting (for a notice and a sound).
    arrivals: RwSignal<u64>,
}

/// Reactions kept for display.
pub const MAX_REACTIONS: usize = 20;

impl ModerationContext {
    /// Whether we are a moderator now.
    pub fn is_admin(&self) -> ReadSignal<bool> {
        self.is_admin.read_only()
    }

    /// Our own locks.
    pub fn my_locks(&self) -> ReadSignal<LockSettings> {
        self.my_locks.read_only()
    }

    /// Whether a moderator muted our microphone.
    pub fn muted(&self) -> ReadSignal<bool> {
        self.muted.read_only()
    }

    /// The room's settings (moderators).
    pub fn settings(&self) -> ReadSignal<RoomSettings> {
        self.settings.read_only()
    }

    /// Who is waiting, in arrival order (moderators).
    pub fn waiting(&self) -> ReadSignal<Vec<WaitingEntry>> {
        self.waiting.read_only()
    }

    /// One participant's locks and microphone as moderators know them.
    pub fn person(&self, user: &str) -> Option<PersonSettings> {
        self.people.with(|p| p.get(user).cloned())
    }

    /// The waiting-room message (people waiting).
    pub fn waiting_message(&self) -> ReadSignal<String> {
        self.waiting_message.read_only()
    }

    /// The newest reactions.
    pub fn reactions(&self) -> ReadSignal<Vec<ReactionEvent>> {
        self.reactions.read_only()
    }

    /// Counts arrivals in the waiting room (changes on each).
    pub fn arrivals(&self) -> ReadSignal<u64> {
        self.arrivals.read_only()
    }

    /// Applies a snapshot from the server.
    pub fn apply_snapshot(&self, s: RoomSnapshot) {
        self.is_admin.try_set(s.is_admin);
        self.my_locks.try_set(s.my_locks);
        self.muted.try_set(s.muted);
        self.waiting_message
            .try_set(s.settings.waiting_message.clone());
        self.settings.try_set(s.settings);
        self.waiting.try_set(s.waiting);
        self.people.try_set(
            s.people
                .into_iter()
                .map(|p| (p.user_id.to_string(), p))
                .collect(),
        );
    }

    /// Applies one event.
    pub fn apply(&self, ev: ModerationEvent) {
        match ev {
            ModerationEvent::Waiting(entry, waiting) => {
                let mut arrived = false;
                self.waiting.try_update(|list| {
                    let known = list.iter().position(|w| w.user_id == entry.user_id);
                    match (known, waiting) {
                        (None, true) => {
                            list.push(entry);
                            list.sort_by_key(|w| w.since_ms);
                            arrived = true;
                        }
                        (Some(i), false) => {
                            list.remove(i);
                        }
                        _ => {}
                    }
                });
                if arrived {
                    self.arrivals.try_update(|n| *n += 1);
                }
            }
            ModerationEvent::Role(admin) => {
                self.is_admin.try_set(admin);
                if !admin {
                    self.waiting.try_set(Vec::new());
                }
            }
            ModerationEvent::Settings(s) => {
                self.settings.try_set(s);
            }
            ModerationEvent::WaitingMessage(text) => {
                self.waiting_message.try_set(text);
            }
            ModerationEvent::Microphone { muted, .. } => {
                self.muted.try_set(muted);
            }
            ModerationEvent::MyLocks(l) => {
                self.my_locks.try_set(l);
            }
            ModerationEvent::Person(p) => {
                self.people.try_update(|m| {
                    m.insert(p.user_id.to_string(), p);
                });
            }
            ModerationEvent::Reaction(mut r) => {
                self.reactions.try_update(|list| {
                    r.seq = list.last().map_or(1, |l| l.seq + 1);
                    list.push(r);
                    if list.len() > MAX_REACTIONS {
                        list.remove(0);
                    }
                });
            }
        }
    }

    /// Asks the server to do `req`; the refusal comes back as a
    /// [`WorkerError`] whose `message()` the UI shows.
    pub async fn send(&self, req: WorkerRequest) -> Result<(), WorkerError> {
        let worker = self.worker.try_get_value().unwrap_or_default();
        call(self.nats, &worker, &req).await.map(drop)
    }

    /// Fetches a fresh snapshot (after a connect, or a role change).
    pub async fn refresh(&self) -> Result<(), WorkerError> {
        let worker = self.worker.try_get_value().unwrap_or_default();
        let reply = call(self.nats, &worker, &WorkerRequest::Snapshot).await?;
        if let Some(s) = reply.snapshot {
            self.apply_snapshot(s);
        }
        Ok(())
    }
}

/// Starts following moderation state for `session` and provides it.
pub fn provide_moderation_context(nats: NatsClient, session: &Arc<Session>) -> ModerationContext {
    let join = &session.join;
    let ctx = ModerationContext {
        nats,
        worker: StoredValue::new(join.subjects.worker.clone()),
        is_admin: RwSignal::new(join.is_admin),
        // As the room stood when the link was verified; the snapshot after
        // connecting brings any change since.
        my_locks: RwSignal::new(if join.is_admin {
            LockSettings::default()
        } else {
            join.locks.clone()
        }),
        muted: RwSignal::new(false),
        settings: RwSignal::new(RoomSettings::default()),
        waiting: RwSignal::new(Vec::new()),
        waiting_message: RwSignal::new(join.waiting_message.clone().unwrap_or_default()),
        people: RwSignal::new(Default::default()),
        reactions: RwSignal::new(Vec::new()),
        arrivals: RwSignal::new(0),
    };
    // After every connect: what we may have missed meanwhile.
    nats.on_ready(move |ready: Ready| {
        if ready.waiting {
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = ctx.refresh().await {
                web_sys::console::warn_1(&format!("moderation: no snapshot: {e}").into());
            }
        });
    });
    provide_context(ctx);
    ctx
}

/// The moderation state provided by [`provide_moderation_context`].
pub fn use_moderation() -> ModerationContext {
    expect_context::<ModerationContext>()
}

/// The moderation state, if provided (tests mount parts without it).
pub fn use_moderation_opt() -> Option<ModerationContext> {
    use_context::<ModerationContext>()
}

/// Whether `user` is the target of a menu we may show: not ourselves.
pub fn is_other(me: &UserId, user: &str) -> bool {
    me.as_str() != user
}
