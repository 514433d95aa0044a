//! The verified session, available to every component below the room, the
//! one way to end it, and the wiring of everything a session runs on.

use std::sync::Arc;

use leptos::prelude::*;

use crate::crypto::RoomKey;
use crate::i18n::{td_string, use_locale, Locale};
use crate::join::Session;
use crate::nats::{provide_nats_context, NatsClient};
use crate::state::chat::{now_ms, provide_chat_context, ChatContext, ChatCrypt, EntryKind};
use crate::state::e2ee::{fetch_room_key, provide_e2ee_context, E2eeContext};
use crate::state::earlier::provide_earlier_context;
use crate::state::events::EventSinks;
use crate::state::goodbye::{Goodbye, Transcript, TranscriptLine, TranscriptSlot};
use crate::state::moderation::{provide_moderation_context, ModerationContext, ModerationEvent};
use crate::state::notices::provide_notices_context;
use crate::state::participants::{provide_roster_context, RosterContext};
use crate::state::persist::{provide_persist_context, Stored};
use crate::state::presence_lines::presence_sink;
use crate::state::private::start_private_events;
use crate::state::private_chat::{restore_private, start_private_chat};
use crate::state::sync::start_room_sync;
use crate::state::toasts::{provide_toasts_context, Toast, ToastContext};
use crate::state::token::{start_token_renewal, use_token, TokenRenewal};
use crate::state::unread::start_unread;
use quorum_shared::events::NotificationType;
use quorum_shared::subjects;

/// The notice an event deserves, if any, in `locale`.
fn moderation_notice(
    ev: &ModerationEvent,
    m: &ModerationContext,
    locale: Locale,
) -> Option<String> {
    let text = match ev {
        ModerationEvent::Waiting(w, true) => {
            let known = m
                .waiting()
                .with_untracked(|l| l.iter().any(|x| x.user_id == w.user_id));
            return (!known)
                .then(|| td_string!(locale, session.waiting_to_join, name = w.name.as_str()));
        }
        ModerationEvent::Role(true) => td_string!(locale, session.now_moderator),
        ModerationEvent::Role(false) => td_string!(locale, session.no_longer_moderator),
        ModerationEvent::Microphone { muted: true, .. } => td_string!(locale, session.muted),
        ModerationEvent::Microphone {
            ask_unmute: true, ..
        } => td_string!(locale, session.ask_unmute),
        _ => return None,
    };
    Some(text.to_string())
}

/// The chat as shown now, for the goodbye page.
fn transcript_of(chat: ChatContext, locale: Locale) -> Transcript {
    let system = td_string!(locale, chat.system);
    let lines = chat.log().with_untracked(|l| {
        l.entries()
            .map(|e| TranscriptLine {
                at_ms: e.shown_at_ms,
                name: if e.is_system() {
                    system.to_string()
                } else {
                    e.name.clone()
                },
                text: if e.kind == EntryKind::Unreadable {
                    td_string!(locale, chat.unreadable, name = e.name.as_str())
                } else {
                    e.text.clone()
                },
            })
            .collect()
    });
    Transcript(lines)
}

/// Newtype so the context cannot be confused with another `Arc<Session>`.
#[derive(Debug, Clone)]
struct SessionContext(Arc<Session>);

/// Makes `session` available to descendants.
pub fn provide_session_context(session: Arc<Session>) {
    provide_context(SessionContext(session));
}

/// The session provided by [`provide_session_context`].
pub fn use_session() -> Arc<Session> {
    expect_context::<SessionContext>().0
}

/// The session, if provided (widget tests mount parts without it).
pub fn use_session_opt() -> Option<Arc<Session>> {
    use_context::<SessionContext>().map(|s| s.0)
}

/// Ends the session for good, whether the server ended it or the user left.
#[derive(Clone, Copy)]
pub struct SessionEnd {
    nats: NatsClient,
    on_over: Callback<Goodbye>,
}

impl SessionEnd {
    /// Closes the NATS connection (nothing reconnects), then hands
    /// `goodbye` to the app, which tidies up and shows it.
    pub fn end(&self, goodbye: Goodbye) {
        self.nats.close();
        // `try_run`: the app may be gone already (e.g. a test unmounted it).
        let _ = self.on_over.try_run(goodbye);
    }
}

/// Makes [`SessionEnd`] available to descendants.
pub fn provide_session_end(nats: NatsClient, on_over: Callback<Goodbye>) -> SessionEnd {
    let end = SessionEnd { nats, on_over };
    provide_context(end);
    end
}

/// The [`SessionEnd`] provided by [`provide_session_end`].
pub fn use_session_end() -> SessionEnd {
    expect_context::<SessionEnd>()
}

/// Everything one verified session runs on, wired together.
#[derive(Clone, Copy)]
pub struct SessionState {
    /// The connection.
    pub nats: NatsClient,
    /// The chat log and its queue.
    pub chat: ChatContext,
    /// The participant list.
    pub roster: RosterContext,
    /// The notifications.
    pub toasts: ToastContext,
    /// Ends the session.
    pub end: SessionEnd,
    /// Keeps the token fresh.
    pub renewal: TokenRenewal,
    /// Encryption, in an E2EE room.
    pub e2ee: Option<E2eeContext>,
}

/// Provides every session context (session, NATS, chat, participants,
/// toasts, end) and starts what feeds them: room events and history, the
/// private events, token renewal. All of it stops when the calling
/// component is unmounted. `on_over` receives the goodbye.
pub fn provide_session_state(
    session: Arc<Session>,
    key: Option<RoomKey>,
    stored: Stored,
    on_over: Callback<Goodbye>,
) -> SessionState {
    // Toasts and notices built here speak the app's language.
    let locale = use_locale();
    provide_session_context(session.clone());
    let nats = provide_nats_context(session.clone());
    let roster = provide_roster_context(&session);
    let toasts = provide_toasts_context();
    let e2ee = provide_e2ee_context(&session, key);
    let persist = provide_persist_context(stored.cache);
    let notices = provide_notices_context(toasts, Some(persist));
    let crypt = e2ee.map(|e2ee| ChatCrypt {
        e2ee,
        // Kept in the notification centre, which also says it at most
        // once a while per sender.
        undecryptable: Callback::new(move |sender: quorum_shared::ids::UserId| {
            let name = roster
                .roster()
                .with_untracked(|r| r.get(sender.as_str()).map(|p| p.name.clone()))
                .unwrap_or_else(|| sender.to_string());
            let toast = e2ee.undecryptable(&sender, &name, now_ms(), locale);
            if notices.record(&toast, now_ms()) {
                toasts.show(toast);
            }
        }),
    });
    if let Some(e2ee) = e2ee {
        fetch_room_key(nats, &session, e2ee);
    }
    notices.restore(stored.notices);
    toasts.set_sound(stored.display.sound);
    if let Some(why) = stored.unavailable {
        toasts.show(Toast {
            id: "cache-unavailable".to_string(),
            text: td_string!(locale, session.cache_unavailable, why = why.as_str()),
            kind: NotificationType::Info,
            with_sound: false,
        });
    }
    let chat = provide_chat_context(session.clone(), nats, crypt, Some(persist), Some(roster));
    let earlier = provide_earlier_context(chat);
    let title = web_sys::window()
        .and_then(|w| w.document())
        .map(|d| d.title())
        .unwrap_or_default();
    start_unread(chat, Some(persist), stored.last_read, title);
    // What the cache kept goes in before the room shows: no empty flash.
    for r in stored.chat {
        if subjects::parse_dm(&r.subject).is_some() {
            restore_private(chat, &r.subject, &r.payload);
        } else {
            chat.restore_wire(&r.subject, &r.payload, r.seq);
        }
    }
    chat.flush_incoming();
    // Ours not yet confirmed, after the chat they may turn out to be in.
    chat.restore_unsent(stored.unsent);
    // The microphone and camera chosen before joining, or switched and
    // turned on or off in the room, are kept for the session; a reload
    // (which skips the pre-join page) takes them back.
    if let Some(ctx) = use_context::<crate::state::media::MediaChoicesContext>() {
        if ctx.0.get_untracked().is_none() {
            ctx.0.set(stored.media.clone());
        }
        Effect::watch(
            move || ctx.0.get(),
            move |choices, _, _| {
                if let Some(c) = choices {
                    persist.save_media(c);
                }
            },
            true,
        );
    }
    let moderation = provide_moderation_context(nats, &session);
    // Our chat lock as the server knows it (after every connect): a room
    // locked before we joined locks the composer at once. A pause for
    // sending too fast is not undone by it.
    // Only on a change: until the server says otherwise, whatever a refused
    // publish or a LocksChanged event set stands.
    let my_locks = moderation.my_locks();
    Effect::watch(
        move || my_locks.with(|l| l.chat_locked()),
        move |locked, _, _| {
            if *locked || !chat.throttled().get_untracked() {
                chat.set_locked(*locked);
            }
        },
        false,
    );
    let end = provide_session_end(nats, on_over);
    // Found now: the callback below runs outside any component.
    let transcript_slot = use_context::<TranscriptSlot>();
    let renewal = start_token_renewal(nats, &session, use_token(), Some(persist));
    let sinks = EventSinks {
        chat: Callback::new(move |entry| {
            chat.add(entry);
        }),
        // Kept in the notification centre; a replay of one known (e.g.
        // restored from the cache) is not shown again.
        toast: Callback::new(move |toast: Toast| {
            if notices.record(&toast, now_ms()) {
                toasts.show(toast);
            }
        }),
        // Removed while still waiting reads as "not let in".
        end: Callback::new(move |goodbye: Goodbye| {
            // The meeting is over: its chat stays readable, and can be
            // saved, on the goodbye page (this page's memory only).
            if let (Goodbye::Ended(_), Some(slot)) = (goodbye, transcript_slot) {
                slot.0.set_value(Some(transcript_of(chat, locale)));
            }
            if nats.waiting().get_untracked() {
                end.end(goodbye.while_waiting());
            } else {
                end.end(goodbye);
            }
        }),
        // Comings and goings are said in the chat, too.
        roster: presence_sink(chat, roster, session.join.user_id.to_string(), locale),
        // Only while waiting: a replayed approval (after a reconnect) would
        // swap in a token older than the one renewed since.
        approved: Callback::new(move |token| {
            if nats.waiting().get_untracked() {
                renewal.adopt(token);
            }
        }),
        locks: Callback::new(move |locked| {
            chat.lock_changed(locked);
            // The server drops our socket so that the new permissions
            // apply; moving to a new one first spares a visible reconnect.
            nats.swap();
        }),
        throttled: Callback::new(move |secs: u64| {
            chat.throttle();
            let text = td_string!(locale, session.throttled, secs);
            toasts.show(Toast {
                id: format!("throttled-{}", now_ms()),
                text,
                kind: NotificationType::Warning,
                with_sound: false,
            });
            nats.swap();
        }),
        moderation: Callback::new(move |ev: ModerationEvent| {
            if let Some(text) = moderation_notice(&ev, &moderation, locale) {
                let with_sound = matches!(ev, ModerationEvent::Waiting(_, true));
                toasts.show(Toast {
                    id: format!("moderation-{}", now_ms()),
                    text,
                    kind: NotificationType::Info,
                    with_sound,
                });
            }
            let role = matches!(ev, ModerationEvent::Role(_));
            moderation.apply(ev);
            if role {
                // A new role: the room's settings and who is waiting.
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = moderation.refresh().await;
                });
            }
        }),
    };
    start_private_events(nats, &session, sinks);
    start_private_chat(chat);
    start_room_sync(nats, session, chat, sinks, Some(earlier), stored.cursor);
    SessionState {
        nats,
        chat,
        roster,
        toasts,
        end,
        renewal,
        e2ee,
    }
}
