//! `<nav id="room-tabs">`: a phone's bottom toolbar, choosing which part
//! of the room fills the screen (`state/panes.rs`): the chat, with how
//! many messages came since it was last shown; the people, with how many
//! are here; the stage, with how many wait to be admitted (moderators).
//! Wide screens show every part at once, and hide the toolbar (CSS).

use leptos::prelude::*;
use quorum_client_core::news::{newest_news, news_after};

use crate::components::icons::{Icon, IconName};
use crate::i18n::{t_string, use_i18n};
use crate::state::chat::use_chat;
use crate::state::moderation::use_moderation_opt;
use crate::state::panes::{Pane, PanesContext};
use crate::state::participants::{use_roster, Roster};

/// The toolbar, one button per [`Pane`].
#[component]
pub fn RoomTabs(panes: PanesContext) -> impl IntoView {
    let i18n = use_i18n();
    let log = use_chat().log();
    let roster = use_roster().roster();
    let waiting = use_moderation_opt().map(|m| (m.is_admin(), m.waiting()));
    // The newest message from someone else when the chat was last shown:
    // the tab counts theirs after it, not our own, not who came or went,
    // and not a page of older history.
    let seen = RwSignal::new(log.with_untracked(newest_news));
    Effect::new(move || {
        if panes.shown().get() == Pane::Chat {
            seen.set(log.with(newest_news));
        }
    });
    let unseen = Memo::new(move |_| {
        if panes.shown().get() == Pane::Chat {
            0
        } else {
            seen.with(|last| log.with(|l| news_after(l, last.as_ref())))
        }
    });
    let waiting_count = Memo::new(move |_| match waiting {
        Some((admin, list)) if admin.get() => list.with(Vec::len),
        _ => 0,
    });
    let tab = move |pane: Pane| {
        let (icon, label) = match pane {
            Pane::Chat => (IconName::Chat, t_string!(i18n, tabs.chat)),
            Pane::People => (IconName::Users, t_string!(i18n, tabs.people)),
            Pane::Stage => (IconName::Camera, t_string!(i18n, tabs.stage)),
        };
        // The number beside the word, and what it means for screen
        // readers (the count of people reads fine as it is).
        let badge = move || match pane {
            Pane::Chat => Some(unseen.get()).filter(|n| *n > 0).map(|n| {
                (
                    n.to_string(),
                    Some(t_string!(i18n, tabs.new_messages, count = n)),
                )
            }),
            Pane::People => Some((roster.with(Roster::present).to_string(), None)),
            Pane::Stage => Some(waiting_count.get()).filter(|n| *n > 0).map(|n| {
                (
                    n.to_string(),
                    Some(t_string!(i18n, tabs.waiting, count = n)),
                )
            }),
        };
        view! {
            <button
                type="button"
                id=format!("tab-{}", pane.key())
                class="room-tab"
                aria-controls=pane_id(pane)
                aria-pressed=move || (panes.shown().get() == pane).to_string()
                on:click=move |_| panes.show(pane)
            >
                <Icon name=icon />
                <span class="room-tab-label">{label}</span>
                {move || {
                    badge()
                        .map(|(shown, said)| {
                            let urgent = said.is_some();
                            view! {
                                <span class="room-tab-badge" class:urgent=urgent aria-hidden=urgent.to_string()>
                                    {shown}
                                </span>
                                {said.map(|s| view! { <span class="visually-hidden">{format!(", {s}")}</span> })}
                            }
                        })
                }}
            </button>
        }
    };
    view! {
        <nav id="room-tabs" class="room-tabs" aria-label=move || t_string!(i18n, tabs.label)>
            {Pane::ALL.into_iter().map(tab).collect_view()}
        </nav>
    }
}

/// The id of the element a pane's tab shows.
fn pane_id(pane: Pane) -> &'static str {
    match pane {
        Pane::Chat => "chat-panel",
        Pane::People => "participants",
        Pane::Stage => "stage",
    }
}
