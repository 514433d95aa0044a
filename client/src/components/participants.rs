//! The participant list and the raise-hand toggle.

use leptos::html::Ul;
use leptos::prelude::*;
use quorum_shared::events::{NotificationType, PresenceState};
use quorum_shared::worker::WorkerRequest;

use crate::components::e2ee_badge::KeyMismatch;
use crate::components::icons::{Icon, IconName};
use crate::components::kept_rows::keep_rows;
use crate::components::participant_menu::ParticipantMenu;
use crate::i18n::{t, t_string, td_string, tu_string, use_i18n};
use crate::nats::use_nats;
use crate::state::media::use_media;
use crate::state::moderation::use_moderation_opt;
use crate::state::participants::{state_key, use_roster, Participant, Roster};
use crate::state::session::use_session;
use crate::state::toasts::{use_toasts, Toast};
use crate::util::random_id;
use quorum_shared::ids::UserId;

/// Past this many people the list gets a search field.
pub const SEARCH_FROM: usize = 20;
/// Rows drawn at a time: a room of 1,000 keeps the list's DOM small, with
/// Previous and Next (and the search) to reach everybody.
pub const PAGE: usize = 100;

/// `<aside id="participants">`: the heading with the count, then the list.
#[component]
pub fn ParticipantsPanel() -> impl IntoView {
    let i18n = use_i18n();
    let roster = use_roster().roster();
    view! {
        <aside id="participants" class="participants-panel" aria-labelledby="participants-heading">
            <h2 id="participants-heading" class="panel-title">
                {t!(i18n, participants.heading)}
                " "
                <span class="participant-count">{move || roster.with(Roster::present)}</span>
            </h2>
            <ParticipantList roster=roster />
        </aside>
    }
}

/// One `<li class="participant">` each, in the roster's listing order, a
/// page of [`PAGE`] at a time, and a search field once the room is big.
#[component]
pub fn ParticipantList(#[prop(into)] roster: Signal<Roster>) -> impl IntoView {
    let i18n = use_i18n();
    let query = RwSignal::new(String::new());
    let from = RwSignal::new(0usize);
    let big = Memo::new(move |_| roster.with(Roster::len) > SEARCH_FROM);
    let page = Memo::new(move |_| {
        let q = query.get().trim().to_lowercase();
        roster.with(|r| r.page(&q, from.get(), PAGE))
    });
    let rows = Signal::derive(move || page.with(|(rows, _)| rows.clone()));
    let total = move || page.with(|(_, total)| *total);
    // People leave: never stay on a page past the end.
    Effect::new(move || {
        let last = total().saturating_sub(1) / PAGE * PAGE;
        if from.get() > last {
            from.set(last);
        }
    });
    view! {
        <Show when=move || big.get()>
            <div class="participant-search">
                <label for="participant-search" class="visually-hidden">
                    {t!(i18n, participants.find)}
                </label>
                <Icon name=IconName::Search />
                <input
                    id="participant-search"
                    type="search"
                    placeholder=move || t_string!(i18n, participants.find)
                    prop:value=move || query.get()
                    on:input:target=move |ev| {
                        query.set(ev.target().value());
                        from.set(0);
                    }
                />
            </div>
        </Show>
        <Show when=move || total() == 0>
            <p class="participant-none">{t!(i18n, participants.none_found)}</p>
        </Show>
        <ParticipantRows people=rows />
        <Show when=move || { total() > PAGE }>
            <div class="participant-pager" role="group" aria-label=move || t_string!(i18n, participants.heading)>
                <button
                    id="participants-previous"
                    type="button"
                    class="btn btn-secondary"
                    disabled=move || from.get() == 0
                    on:click=move |_| from.update(|f| *f = f.saturating_sub(PAGE))
                >
                    {t!(i18n, participants.previous)}
                </button>
                <span class="participant-range" aria-live="polite">
                    {move || {
                        let (first, total) = (from.get() + 1, total());
                        let last = (from.get() + PAGE).min(total);
                        t_string!(i18n, participants.page, first = first, last = last, total = total)
                    }}
                </span>
                <button
                    id="participants-next"
                    type="button"
                    class="btn btn-secondary"
                    disabled=move || { from.get() + PAGE >= total() }
                    on:click=move |_| from.update(|f| *f += PAGE)
                >
                    {t!(i18n, participants.next)}
                </button>
            </div>
        </Show>
    }
}

#[component]
fn ParticipantRows(#[prop(into)] people: Signal<Vec<Participant>>) -> impl IntoView {
    let list = NodeRef::<Ul>::new();
    // People joining at once never move the rows around them (see
    // `kept_rows`).
    keep_rows(
        list,
        move || people.get(),
        // Any change re-renders the row: rows are small.
        |p| {
            (
                p.id.clone(),
                state_key(p.state),
                p.hand,
                p.name.clone(),
                p.is_admin,
                p.hand_order,
            )
        },
        |p| view! { <ParticipantItem p=p /> }.into_any(),
    );
    // The list's own box (`assets/participants.css`): a row added lays
    // out the list, not the room.
    view! {
        <div class="participant-scroll">
            <ul class="participant-list" node_ref=list></ul>
        </div>
    }
}

/// `<li class="participant" data-user data-state data-hand>`: the name, a
/// moderator badge, a raised hand, "(you)" for ourselves, and for a
/// moderator the menu of what may be done to the others.
#[component]
fn ParticipantItem(p: Participant) -> impl IntoView {
    let i18n = use_i18n();
    let hand = p.hand && p.state != PresenceState::Offline;
    let moderator = use_moderation_opt().map(|m| m.is_admin());
    let menu = (!p.me)
        .then(|| UserId::parse(p.id.clone()).ok())
        .flatten()
        .zip(moderator)
        .map(|(user, admin)| {
            let (name, is_admin) = (p.name.clone(), p.is_admin);
            move || {
                admin.get().then(|| {
                    view! { <ParticipantMenu user=user.clone() name=name.clone() is_admin=is_admin hand=hand /> }
                })
            }
        });
    view! {
        <li
            class="participant"
            class:me=p.me
            data-user=p.id.clone()
            data-state=state_key(p.state)
            data-hand=if hand { "raised" } else { "down" }
        >
            <span class="name">{p.name.clone()}</span>
            {p.me.then(|| view! { <span class="you">" " {t!(i18n, participants.you)}</span> })}
            // Presence in words, not only the dot's colour: read out when
            // online, shown when not (and in forced-colours mode).
            {match p.state {
                PresenceState::Online => view! {
                    <span class="presence-word visually-hidden">" " {t!(i18n, participants.online)}</span>
                }
                .into_any(),
                PresenceState::Disconnected => view! {
                    <span class="presence-word">" " {t!(i18n, participants.reconnecting)}</span>
                }
                .into_any(),
                PresenceState::Offline | PresenceState::Left => view! {
                    <span class="presence-word">" " {t!(i18n, participants.gone)}</span>
                }
                .into_any(),
            }}
            {p
                .is_admin
                .then(|| {
                    // A crown, not a word: the list is narrow and the name
                    // comes first. The icon carries the word for screen
                    // readers and as a tooltip.
                    let label = tu_string!(i18n, participants.moderator);
                    view! {
                        <span class="badge badge-moderator badge-icon">
                            <Icon name=IconName::Crown label=label />
                        </span>
                    }
                })}
            {hand
                .then(|| {
                    // The icon's name is set once: it is not reactive.
                    let label = tu_string!(i18n, participants.hand_raised);
                    view! { <span class="hand"><Icon name=IconName::Hand label=label /></span> }
                })}
            <MediaMarks user=p.id.clone() />
            <KeyMismatch user=p.id.clone() />
            {menu}
        </li>
    }
}

/// What someone sends to the media room: a microphone (crossed out when
/// muted), a camera, a screen share. Nothing without media.
#[component]
fn MediaMarks(user: String) -> impl IntoView {
    let i18n = use_i18n();
    let Some(media) = use_media() else {
        return ().into_any();
    };
    let sources = media.sources_of(user.clone());
    let muted = media.muted();
    let user = StoredValue::new(user);
    let has = move |s: &str| sources.with(|l| l.iter().any(|x| x == s));
    let is_muted = move || user.with_value(|u| muted.with(|m| m.contains(u)));
    view! {
        <span class="media-marks" data-sources=move || sources.get().join(" ")>
            <Show when=move || has("microphone")>
                {move || {
                    if is_muted() {
                        let label = tu_string!(i18n, media.muted);
                        view! { <Icon name=IconName::MicOff label=label /> }
                    } else {
                        let label = tu_string!(i18n, participants.sends_microphone);
                        view! { <Icon name=IconName::Mic label=label /> }
                    }
                }}
            </Show>
            <Show when=move || has("camera")>
                <Icon name=IconName::Camera label=tu_string!(i18n, participants.sends_camera) />
            </Show>
            <Show when=move || has("screen_share")>
                <Icon name=IconName::Screen label=tu_string!(i18n, participants.sends_screen) />
            </Show>
        </span>
    }
    .into_any()
}

/// `<button id="hand">`: "Raise hand" or "Lower hand" by what the server
/// last said about ours; disabled while a change is on its way.
#[component]
pub fn HandButton() -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let session = use_session();
    let nats = use_nats();
    let toasts = use_toasts();
    let roster = use_roster().roster();
    let me = session.join.user_id.clone();
    let worker = StoredValue::new(session.join.subjects.worker.clone());

    // -- signals -- //
    let raised = Memo::new({
        let me = me.clone();
        move |_| roster.with(|r| r.hand_raised(me.as_str()))
    });
    let busy = RwSignal::new(false);
    let connected = Memo::new(move |_| nats.state().with(|s| s.is_connected()));

    // -- actions -- //
    let toggle = move |_| {
        let req = if raised.get_untracked() {
            WorkerRequest::LowerHand {
                user_id: me.clone(),
            }
        } else {
            WorkerRequest::RaiseHand
        };
        busy.set(true);
        wasm_bindgen_futures::spawn_local(async move {
            let result = crate::worker::call(nats, &worker.get_value(), &req).await;
            busy.try_set(false);
            if let Err(why) = result {
                web_sys::console::warn_1(&format!("hand: {why}").into());
                toasts.show(Toast {
                    id: random_id(),
                    text: td_string!(locale, participants.hand_failed, why = why.message(locale)),
                    kind: NotificationType::Error,
                    with_sound: false,
                });
            }
        });
    };

    view! {
        <button
            id="hand"
            type="button"
            class="btn btn-secondary"
            aria-pressed=move || raised.get().to_string()
            disabled=move || busy.get() || !connected.get()
            on:click=toggle
        >
            // On a phone the hand alone; the words stay its name.
            <Icon name=IconName::Hand />
            <span class="btn-label">
                {move || {
                    if raised.get() {
                        t_string!(i18n, participants.lower_hand)
                    } else {
                        t_string!(i18n, participants.raise_hand)
                    }
                }}
            </span>
        </button>
    }
}
