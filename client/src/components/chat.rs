//! The chat panel: message list and composer. Messages typed while
//! offline are shown at once, marked pending, and sent on reconnect.

use leptos::prelude::*;
use quorum_shared::peer::{chat_len, MAX_CHAT_LEN};

pub use crate::components::chat_list::{ChatItem, ChatList, READ_SPAN, WINDOW};
use crate::components::icons::{Icon, IconName};
use crate::components::key_banner::KeyBanner;
use crate::components::linkify::MessageText;
use crate::components::private_target::{focus_composer, PrivateTarget};
use crate::components::recipient_picker::RecipientPicker;
use crate::i18n::{t, t_string, use_i18n};
use crate::nats::{use_nats, ConnState};
use crate::state::chat::{use_chat, ChatContext, EntryKey, SendChatError, Sent, UnsentAction};
use crate::state::earlier::use_earlier;
use crate::state::moderation::use_moderation_opt;
use crate::state::participants::use_roster_opt;
use crate::state::private_chat::send_private;
use crate::state::session::use_session_opt;
use crate::state::unread::use_unread;
pub use crate::util::{format_hhmm, iso_time};
use quorum_shared::events::PresenceState;
use quorum_shared::ids::UserId;

/// The room's chat: heading, messages, composer.
#[component]
pub fn ChatPanel() -> impl IntoView {
    let to = RwSignal::new(String::new());
    provide_context(PrivateTarget(to));
    let i18n = use_i18n();
    let chat = use_chat();
    let nats = use_nats();
    let unread = use_unread();
    let divider = Signal::derive(move || unread.and_then(|u| u.divider().get()));
    view! {
        <aside id="chat-panel" class="chat-panel" aria-labelledby="chat-heading">
            <h2 id="chat-heading" class="panel-title">{t!(i18n, chat.heading)}</h2>
            <KeyBanner />
            <WelcomeNote />
            <ChatList
                log=chat.log()
                divider=divider
                busy=Signal::derive(move || !chat.caught_up().get())
                delivery_of=Callback::new(move |key: EntryKey| chat.delivery(&key))
                on_unsent=Callback::new(move |(key, action): (EntryKey, UnsentAction)| {
                    chat.unsent(&key, action)
                })
                can_retry=Signal::derive(move || !chat.locked().get())
                flood=chat.flooding()
                earlier=use_earlier()
            />
            <Composer chat=chat state=nats.state() to=to />
        </aside>
    }
}

/// `<details id="chat-welcome" open>`: the integrator's welcome message
/// at the top of the chat (links clickable), which the reader may fold
/// away; nothing without one.
#[component]
fn WelcomeNote() -> impl IntoView {
    let i18n = use_i18n();
    let text = use_session_opt().and_then(|s| s.join.welcome_message.clone())?;
    Some(view! {
        <details id="chat-welcome" class="chat-welcome" open>
            <summary>{t!(i18n, chat.welcome)}</summary>
            <MessageText text=text />
        </details>
    })
}

/// What the composer says under the message box after a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    /// The connection is down and messages wait to be sent.
    Offline,
    /// The draft is over [`MAX_CHAT_LEN`] characters.
    TooLong,
    /// Private messages are not queued.
    PrivateOffline,
}

/// The message box. Typing and sending stay possible while disconnected
/// (messages are queued); a chat lock disables it.
#[component]
pub fn Composer(
    chat: ChatContext,
    #[prop(into)] state: Signal<ConnState>,
    /// Empty: everyone; otherwise the user id of a private recipient.
    #[prop(optional)]
    to: Option<RwSignal<String>>,
) -> impl IntoView {
    // -- signals -- //
    let i18n = use_i18n();
    let draft = RwSignal::new(String::new());
    let notice = RwSignal::new(None::<Notice>);
    let connected = Memo::new(move |_| state.with(ConnState::is_connected));
    let to = to.unwrap_or_else(|| RwSignal::new(String::new()));
    let private_locked = private_locked();
    // Locked for what the composer would send now: public chat, or
    // private chat while a recipient is chosen.
    let chat_locked = chat.locked();
    let locked = Signal::derive(move || {
        chat_locked.get() || (private_locked.get() && !to.with(String::is_empty))
    });
    let offered = recipients();
    // The chosen recipient left (or never was offered): the draft stays,
    // and nothing goes anywhere until someone else is chosen.
    let gone = Memo::new(move |_| {
        to.with(|t| !t.is_empty() && !offered.with(|o| o.iter().any(|(id, _)| id == t)))
    });
    let can_send = move || !locked.get() && !gone.get() && draft.with(|d| !d.trim().is_empty());

    // -- actions -- //
    let send = move || {
        if gone.get_untracked() {
            return;
        }
        let text = draft.get_untracked();
        let result = match to.get_untracked() {
            t if t.is_empty() => chat.send(&text),
            t => match UserId::parse(&t) {
                Ok(user) => {
                    let name = recipient_name(&t);
                    let locked = private_locked.get_untracked();
                    send_private(chat, &user, &name, &text, locked).map(|()| Sent::Now)
                }
                Err(_) => return to.set(String::new()),
            },
        };
        match result {
            Ok(sent) => {
                draft.set(String::new());
                notice.set((sent == Sent::Queued).then_some(Notice::Offline));
            }
            // Nothing to send, or the lock notice already says why.
            Err(SendChatError::Empty | SendChatError::Locked) => {}
            Err(SendChatError::TooLong) => notice.set(Some(Notice::TooLong)),
            Err(SendChatError::Offline) => notice.set(Some(Notice::PrivateOffline)),
        }
    };

    // -- effects -- //
    // Back online: the queue is going out, so the offline notice is moot.
    Effect::new(move || {
        if connected.get() && notice.get_untracked() == Some(Notice::Offline) {
            notice.set(None);
        }
    });

    let throttled = chat.throttled();
    let lock_text = move || {
        if throttled.get() {
            t_string!(i18n, chat.throttled)
        } else if chat_locked.get() {
            t_string!(i18n, chat.locked)
        } else {
            t_string!(i18n, chat.private_locked)
        }
    };
    let shown_notice = move || {
        if locked.get() {
            return Some(lock_text().to_string());
        }
        if gone.get() {
            return Some(t_string!(i18n, chat.recipient_gone).to_string());
        }
        notice.get().map(|n| match n {
            Notice::Offline => t_string!(i18n, chat.offline).to_string(),
            Notice::TooLong => t_string!(i18n, chat.too_long, max = MAX_CHAT_LEN),
            Notice::PrivateOffline => t_string!(i18n, chat.private_offline).to_string(),
        })
    };

    view! {
        <form
            class="composer"
            class:locked=move || locked.get()
            on:submit=move |ev| {
                ev.prevent_default();
                send();
            }
        >
            <PrivateBar to=to />
            <RecipientPicker to=to offered=offered private_locked=private_locked />
            <label for="chat-input" class="visually-hidden">
                {t!(i18n, chat.message)}
            </label>
            <textarea
                id="chat-input"
                rows="2"
                // No `maxlength`: it would cut a long paste silently (and
                // counts UTF-16 units); the counter says what is over.
                aria-describedby="chat-notice chat-count"
                disabled=move || locked.get()
                placeholder=move || {
                    if locked.get() {
                        lock_text()
                    } else if connected.get() {
                        t_string!(i18n, chat.placeholder)
                    } else {
                        t_string!(i18n, chat.placeholder_offline)
                    }
                }
                prop:value=move || draft.get()
                on:input:target=move |ev| {
                    draft.set(ev.target().value());
                    notice.set(None);
                }
                on:keydown=move |ev| {
                    // Enter sends, Shift+Enter is a newline; never interrupt
                    // an IME composition (e.g. Japanese input confirms with Enter).
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        send();
                    }
                }
            ></textarea>
            <button id="chat-send" type="submit" class="btn btn-primary" disabled=move || !can_send()>
                <Icon name=IconName::Send />
                <span class="btn-label">{t!(i18n, chat.send)}</span>
            </button>
            <CharCount draft=draft />
            <p id="chat-notice" class="chat-notice" aria-live="polite">
                {shown_notice}
            </p>
        </form>
    }
}

/// `<span id="chat-count">`: how much of the limit a long draft uses, in
/// characters, from four fifths of it on; past it, how many to remove.
#[component]
fn CharCount(draft: RwSignal<String>) -> impl IntoView {
    let used = Memo::new(move |_| draft.with(|d| chat_len(d)));
    view! {
        <Show when=move || { used.get() * 5 > MAX_CHAT_LEN * 4 }>
            <span id="chat-count" class="chat-count" class:over=move || { used.get() > MAX_CHAT_LEN }>
                {move || format!("{} / {MAX_CHAT_LEN}", used.get())}
            </span>
        </Show>
    }
}

/// `<div id="private-bar">` while a private recipient is chosen: "Private
/// message to Ann", and × to write to everyone again.
#[component]
fn PrivateBar(to: RwSignal<String>) -> impl IntoView {
    let i18n = use_i18n();
    let name = move || recipient_name(&to.get());
    view! {
        <Show when=move || !to.with(String::is_empty)>
            <div id="private-bar" class="private-bar">
                <Icon name=IconName::Lock />
                <span class="private-bar-text">{move || t_string!(i18n, chat.private_mode, name = name())}</span>
                <button
                    id="private-bar-close"
                    type="button"
                    class="private-bar-close"
                    aria-label=move || t_string!(i18n, chat.to_everyone)
                    on:click=move |_| {
                        to.set(String::new());
                        focus_composer();
                    }
                >
                    <Icon name=IconName::Close />
                </button>
            </div>
        </Show>
    }
}

/// The display name of participant `user_id`, or the id itself.
fn recipient_name(user_id: &str) -> String {
    use_roster_opt()
        .and_then(|r| {
            r.roster()
                .with_untracked(|r| r.get(user_id).map(|p| p.name.clone()))
        })
        .unwrap_or_else(|| user_id.to_string())
}

/// Whether a moderator locked our private chat (all chat locks it too),
/// as the moderation state knows it (never, where there is none).
fn private_locked() -> Signal<bool> {
    match use_moderation_opt() {
        Some(m) => {
            let (admin, locks) = (m.is_admin(), m.my_locks());
            Signal::derive(move || !admin.get() && locks.with(|l| l.private_chat_locked()))
        }
        None => Signal::stored(false),
    }
}

/// The participants a private message may go to: those in the meeting
/// now (a private message is kept for nobody), not waiting to be let in,
/// not us; as (id, name) in the list's order.
fn recipients() -> Memo<Vec<(String, String)>> {
    let roster = use_roster_opt().map(|r| r.roster());
    let waiting = use_moderation_opt().map(|m| m.waiting());
    Memo::new(move |_| {
        let Some(roster) = roster else {
            return Vec::new();
        };
        let waiting_ids: std::collections::HashSet<String> = waiting
            .map(|w| w.with(|w| w.iter().map(|e| e.user_id.to_string()).collect()))
            .unwrap_or_default();
        roster.with(|r| {
            r.listed()
                .filter(|p| !p.me && p.state == PresenceState::Online)
                .filter(|p| !waiting_ids.contains(&p.id))
                .map(|p| (p.id.clone(), p.name.clone()))
                .collect()
        })
    })
}
