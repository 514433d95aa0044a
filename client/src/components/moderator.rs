//! The moderator's panels: the waiting room (who waits, since when; admit
//! or deny one or all; the message they see) and the room (locks for
//! every participant, locking the room to newcomers, lowering every hand,
//! ending for everyone). Shown to moderators only; the server checks every
//! action again.

use leptos::html::Ul;
use leptos::prelude::*;
use quorum_shared::moderation::WaitingEntry;
use quorum_shared::worker::WorkerRequest;

use crate::components::dialog::ConfirmDialog;
use crate::components::icons::{Icon, IconName};
use crate::components::kept_rows::keep_rows;
use crate::components::locks::LockKind;
use crate::components::participant_menu::run_action;
use crate::i18n::{t, t_string, use_i18n};
use crate::state::moderation::use_moderation;
use crate::state::toasts::use_toasts;
use crate::util::format_hhmm;

/// `<section id="waiting-panel">`: who waits, with Admit and Deny each,
/// Admit all / Deny all, and the waiting message.
#[component]
pub fn WaitingPanel() -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let moderation = use_moderation();
    let toasts = use_toasts();
    let waiting = moderation.waiting();
    let settings = moderation.settings();
    let draft = RwSignal::new(String::new());
    // The draft follows the room's message until edited.
    Effect::new(move || {
        let current = settings.with(|s| s.waiting_message.clone());
        draft.set(current);
    });
    let act = move |req: WorkerRequest| run_action(moderation, toasts, req, locale);
    let count = move || waiting.with(Vec::len);
    // People coming and going in one update never move those who stay
    // (see `kept_rows`): a moderator's focus stays on the Admit button.
    let list = NodeRef::<Ul>::new();
    keep_rows(
        list,
        move || waiting.get(),
        |w| w.user_id.to_string(),
        move |w: WaitingEntry| {
            let (a, d) = (w.user_id.clone(), w.user_id.clone());
            view! {
                <li class="waiting-entry" data-user=w.user_id.to_string()>
                    <span class="name">{w.name.clone()}</span>
                    <span class="since">
                        {t!(i18n, moderator.since, time = format_hhmm(w.since_ms))}
                    </span>
                    <button
                        type="button"
                        class="btn btn-primary admit"
                        aria-label={
                            let name = w.name.clone();
                            move || t_string!(i18n, moderator.admit_name, name = name.as_str())
                        }
                        on:click=move |_| act(WorkerRequest::Approve { user_id: a.clone() })
                    >
                        <Icon name=IconName::Check />
                        {t!(i18n, moderator.admit)}
                    </button>
                    <button
                        type="button"
                        class="btn deny"
                        aria-label={
                            let name = w.name.clone();
                            move || t_string!(i18n, moderator.deny_name, name = name.as_str())
                        }
                        on:click=move |_| act(WorkerRequest::Reject { user_id: d.clone() })
                    >
                        <Icon name=IconName::Close />
                        {t!(i18n, moderator.deny)}
                    </button>
                </li>
            }
            .into_any()
        },
    );

    view! {
        <section id="waiting-panel" class="panel waiting-panel" tabindex="-1" aria-labelledby="waiting-heading">
            <h2 id="waiting-heading" class="panel-title">
                {t!(i18n, moderator.waiting_heading)}
                " "
                <span
                    class="waiting-count"
                    aria-label=move || t_string!(i18n, moderator.waiting_count, count = count())
                >
                    {count}
                </span>
            </h2>
            <Show
                when=move || { count() > 0 }
                fallback=move || view! { <p class="panel-empty">{t!(i18n, moderator.nobody)}</p> }
            >
                <ul class="waiting-list" node_ref=list></ul>
                <div class="panel-actions">
                    <button id="admit-all" type="button" class="btn" on:click=move |_| act(WorkerRequest::ApproveAll)>
                        {t!(i18n, moderator.admit_all)}
                    </button>
                    <button id="deny-all" type="button" class="btn" on:click=move |_| act(WorkerRequest::RejectAll)>
                        {t!(i18n, moderator.deny_all)}
                    </button>
                </div>
            </Show>
            <form
                class="waiting-message"
                on:submit=move |ev| {
                    ev.prevent_default();
                    act(WorkerRequest::SetWaitingMessage { text: draft.get_untracked() });
                }
            >
                <label for="waiting-message-input">{t!(i18n, moderator.message_label)}</label>
                <textarea
                    id="waiting-message-input"
                    rows="2"
                    maxlength="1000"
                    prop:value=move || draft.get()
                    on:input:target=move |ev| draft.set(ev.target().value())
                ></textarea>
                <button id="waiting-message-save" type="submit" class="btn">
                    {t!(i18n, moderator.update_message)}
                </button>
            </form>
        </section>
    }
}

/// `<section id="room-controls">`: locks for everyone who is not a
/// moderator (now and later), locking the room, lowering every hand and
/// ending the meeting for everyone.
#[component]
pub fn RoomControls() -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let moderation = use_moderation();
    let toasts = use_toasts();
    let settings = moderation.settings();
    let confirm_end = RwSignal::new(false);
    let act = move |req: WorkerRequest| run_action(moderation, toasts, req, locale);
    let locks = LockKind::ALL.map(|kind| {
        let on = Memo::new(move |_| settings.with(|s| kind.is_on(&s.room_locks)));
        let id = format!("room-lock-{}", kind.key());
        view! {
            <li>
                <input
                    type="checkbox"
                    id=id.clone()
                    prop:checked=move || on.get()
                    on:change=move |_| act(WorkerRequest::SetRoomLocks { locks: kind.set(!on.get_untracked()) })
                />
                <label for=id>{kind.label(locale)}</label>
            </li>
        }
    });
    let locked = Memo::new(move |_| settings.with(|s| s.locked));

    view! {
        <section id="room-controls" class="panel room-controls" aria-labelledby="room-controls-heading">
            <h2 id="room-controls-heading" class="panel-title">{t!(i18n, moderator.room_heading)}</h2>
            <fieldset class="room-locks">
                <legend>{t!(i18n, moderator.lock_legend)}</legend>
                <ul class="lock-list">{locks}</ul>
            </fieldset>
            <div class="room-toggle">
                <input
                    type="checkbox"
                    id="lock-room"
                    prop:checked=move || locked.get()
                    on:change=move |_| act(WorkerRequest::LockRoom { locked: !locked.get_untracked() })
                />
                <label for="lock-room">
                    <Icon name=IconName::Lock />
                    {t!(i18n, moderator.lock_room)}
                </label>
            </div>
            <div class="panel-actions">
                <button id="lower-all-hands" type="button" class="btn" on:click=move |_| act(WorkerRequest::LowerAllHands)>
                    <Icon name=IconName::Hand />
                    {t!(i18n, moderator.lower_all)}
                </button>
                <button id="end-for-all" type="button" class="btn btn-danger" on:click=move |_| confirm_end.set(true)>
                    {t!(i18n, moderator.end_all)}
                </button>
            </div>
            <ConfirmDialog
                open=confirm_end
                id="confirm-end"
                title=Signal::derive(move || t_string!(i18n, moderator.end_title).to_string())
                body=Signal::derive(move || t_string!(i18n, moderator.end_body).to_string())
                confirm_label=Signal::derive(move || t_string!(i18n, leave.end_for_everyone).to_string())
                on_confirm=Callback::new(move |_| run_action(moderation, toasts, WorkerRequest::EndRoom, locale))
            />
        </section>
    }
}
