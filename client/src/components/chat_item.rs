//! One message of the chat list, with how far it got if it is ours:
//! "Sending…" while it waits, "Not sent" with Retry and Discard once the
//! server refused it.

use std::sync::Arc;

use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::components::linkify::MessageText;
use crate::components::private_target::{focus_composer, PrivateTarget};
use crate::i18n::{t, tu_string, use_i18n};
use crate::state::chat::{ChatEntry, Delivery, EntryKey, EntryKind, Sender, UnsentAction};
use crate::state::grouping::item_class;
use crate::util::time_texts;

/// One `<li class="chat-message">`, with `mine` for our own messages,
/// `system` for the server's (whose sender reads "System", translated),
/// `continued` when it follows its sender's previous one (see
/// [`crate::state::grouping`]),
/// `pending` while one of ours waits for the server and `not-sent` once
/// it was refused.
#[component]
pub fn ChatItem(
    entry: Arc<ChatEntry>,
    /// It continues the message drawn before it (same sender, soon after):
    /// its name and time are there for screen readers only.
    #[prop(optional)]
    continued: bool,
    /// How far it got (ours).
    #[prop(optional, into)]
    delivery: Signal<Delivery>,
    /// Retries or discards it, if it was not sent.
    #[prop(default = None)]
    on_unsent: Option<Callback<(EntryKey, UnsentAction)>>,
    /// Whether a retry could go out now.
    #[prop(into, default = Signal::stored(true))]
    can_retry: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    if entry.kind == EntryKind::Presence {
        // Who came or went: a quiet line, not a message.
        return view! {
            <li class="chat-message presence" data-id=entry.id.clone()>
                {entry.text.clone()}
            </li>
        }
        .into_any();
    }
    let system = entry.is_system().then(|| tu_string!(i18n, chat.system));
    let sender = system.map_or_else(|| entry.name.clone(), str::to_owned);
    // Someone else's name answers them privately, where the chat panel
    // has a composer to point (no extra element per message: the list
    // stays light).
    let reply = match (&entry.sender, use_context::<PrivateTarget>()) {
        (Sender::User(u), Some(PrivateTarget(to)))
            if !entry.mine && entry.kind == EntryKind::Message =>
        {
            Some((u.to_string(), to))
        }
        _ => None,
    };
    let sender = match reply {
        Some((id, to)) => {
            let label = tu_string!(i18n, chat.reply_privately_to, name = sender.as_str());
            let hint = tu_string!(i18n, chat.reply_privately);
            view! {
                <button
                    type="button"
                    class="sender sender-reply"
                    aria-label=label
                    data-hint=hint
                    on:click=move |_| {
                        to.set(id.clone());
                        focus_composer();
                    }
                >
                    {sender}
                </button>
            }
            .into_any()
        }
        None => view! { <span class="sender">{sender}</span> }.into_any(),
    };
    let private_to = entry.private_to.clone().map(|name| {
        if name == "you" && !entry.mine {
            tu_string!(i18n, chat.private_to_you).to_string()
        } else {
            tu_string!(i18n, chat.private_to, name = name.as_str())
        }
    });
    let is = move |d: Delivery| delivery.get() == d;
    let key = entry.key();
    let text = if entry.kind == EntryKind::Unreadable {
        let name = entry.name.clone();
        view! { <p class="text unreadable-text">{t!(i18n, chat.unreadable, name)}</p> }.into_any()
    } else {
        view! { <MessageText text=entry.text.clone() /> }.into_any()
    };
    let (iso, hhmm) = time_texts(entry.shown_at_ms);
    let body = view! {
        {sender}
        {private_to
            .map(|text| {
                view! {
                    <span class="private-tag">
                        " "
                        <Icon name=IconName::Lock />
                        {text}
                    </span>
                }
            })}
        " "
        <time class="time" datetime=iso>
            {hhmm}
        </time>
        {text}
    };
    // Others' messages never change: their classes are set once, and
    // nothing watches them.
    let class = item_class(&entry, continued);
    if !entry.mine {
        return view! { <li class=class data-id=entry.id.clone()>{body}</li> }.into_any();
    }
    view! {
        <li
            class=class
            class:pending=move || is(Delivery::Sending)
            class:not-sent=move || is(Delivery::NotSent)
            data-id=entry.id.clone()
        >
            {body}
            <Show when=move || is(Delivery::Sending)>
                <span class="pending-mark">
                    {t!(i18n, chat.sending)}
                    <span class="visually-hidden">" " {t!(i18n, chat.not_sent)}</span>
                </span>
            </Show>
            <Show when=move || is(Delivery::NotSent)>
                <NotSent key=key.clone() on_unsent=on_unsent can_retry=can_retry />
            </Show>
        </li>
    }
    .into_any()
}

/// `<span class="unsent">`: "Not sent", with Retry (while chat is open to
/// us) and Discard.
#[component]
fn NotSent(
    key: EntryKey,
    on_unsent: Option<Callback<(EntryKey, UnsentAction)>>,
    can_retry: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let act = move |action| {
        let key = key.clone();
        move |_| {
            if let Some(cb) = on_unsent {
                cb.run((key.clone(), action));
            }
        }
    };
    view! {
        <span class="unsent" role="status">
            <span class="unsent-label">{t!(i18n, chat.unsent)}</span>
            <Show when=move || on_unsent.is_some()>
                <button
                    type="button"
                    class="btn btn-small unsent-retry"
                    disabled=move || !can_retry.get()
                    on:click=act(UnsentAction::Retry)
                >
                    {t!(i18n, chat.retry)}
                </button>
                <button
                    type="button"
                    class="btn btn-small unsent-discard"
                    on:click=act(UnsentAction::Discard)
                >
                    {t!(i18n, chat.discard)}
                </button>
            </Show>
        </span>
    }
}
