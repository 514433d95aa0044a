//! The meeting room: header (with the notification centre, the hand
//! toggle and Leave), the participants, the stage (video, reactions, and
//! for moderators the waiting room and the room's controls), chat and
//! toasts; on a phone one of the three parts at a time, chosen in a
//! bottom toolbar.

use leptos::prelude::*;

use crate::components::chat::ChatPanel;
use crate::components::conn_badge::ConnBadge;
use crate::components::countdown::Countdown;
use crate::components::e2ee_badge::E2eeBadge;
use crate::components::icons::{Icon, IconName};
use crate::components::leave::LeaveButton;
use crate::components::media::{state_key, MediaBanner, MediaBar, MediaUnsupported};
use crate::components::moderator::{RoomControls, WaitingPanel};
use crate::components::notices::Notices;
use crate::components::participants::{HandButton, ParticipantsPanel};
use crate::components::reactions::{ReactionBar, ReactionFeed};
use crate::components::room_tabs::RoomTabs;
use crate::components::tiles::MediaTiles;
use crate::components::toasts::Toasts;
use crate::i18n::{t, t_string, use_i18n};
use crate::nats::use_nats;
use crate::state::e2ee::use_e2ee;
use crate::state::media::{provide_media_context, MediaChoicesContext, MediaStatus};
use crate::state::moderation::use_moderation;
use crate::state::panes::{provide_panes_context, use_panes, Pane};
use crate::state::session::use_session;

/// `<main id="room-page">`.
#[component]
pub fn RoomPage() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let nats = use_nats();
    let moderation = use_moderation();
    let is_admin = moderation.is_admin();
    let join = &session.join;
    // Media starts here: the room page shows only once we are admitted.
    let choices = use_context::<MediaChoicesContext>().map_or_else(|| RwSignal::new(None), |c| c.0);
    let media = provide_media_context(
        nats,
        join.user_id.as_str(),
        join.subjects.worker.clone(),
        use_e2ee(),
        choices,
    );
    let media_off = move || media.status().with(|s| *s == MediaStatus::Off);
    let panes = provide_panes_context();
    view! {
        <main id="room-page" class="room" data-media=move || state_key(&media.status().get())>
            <header class="room-header">
                <h1 id="room-title" class="room-title">{join.room_title.clone()}</h1>
                <div class="room-me">
                    <span id="my-name" class="my-name">{join.name.clone()}</span>
                    // Follows promotion and demotion without a reload.
                    <Show when=move || is_admin.get()>
                        <span
                            id="my-role"
                            class="badge badge-moderator"
                            title=move || t_string!(i18n, room.moderator_title)
                        >
                            <Icon name=IconName::Crown />
                            <span class="badge-text">{t!(i18n, room.moderator)}</span>
                        </span>
                    </Show>
                </div>
                <ConnBadge state=nats.state() />
                <Countdown />
                <E2eeBadge />
                <Show when=move || is_admin.get()>
                    <WaitingBadge />
                </Show>
                <Notices />
                <HandButton />
                <LeaveButton />
            </header>
            // Under the header, in the flow: they push the room down
            // rather than cover a control or the chat.
            <Toasts />
            <div class="room-body" data-pane=move || panes.shown().get().key()>
                <ParticipantsPanel />
                <section id="stage" class="stage" aria-label=move || t_string!(i18n, room.stage)>
                    // Scrolls on its own; the reactions stay in view below.
                    <div class="stage-main">
                        <MediaBanner />
                        <MediaUnsupported />
                        <MediaTiles />
                        <Show when=move || is_admin.get()>
                            <div class="moderator-panels">
                                <WaitingPanel />
                                <RoomControls />
                            </div>
                        </Show>
                        <Show when=media_off>
                            <p class="stage-placeholder">{t!(i18n, room.placeholder)}</p>
                        </Show>
                    </div>
                    <div class="stage-reactions">
                        <ReactionFeed />
                        <MediaBar />
                        <ReactionBar />
                    </div>
                </section>
                <ChatPanel />
            </div>
            <RoomTabs panes=panes />
        </main>
    }
}

/// `<a id="waiting-badge">`: how many wait, in the header, so a moderator
/// sees it from anywhere; it leads to the waiting-room panel.
#[component]
fn WaitingBadge() -> impl IntoView {
    let i18n = use_i18n();
    let waiting = use_moderation().waiting();
    let panes = use_panes();
    let count = move || waiting.with(Vec::len);
    view! {
        <Show when=move || { count() > 0 }>
            <a
                id="waiting-badge"
                class="badge badge-waiting"
                href="#waiting-panel"
                aria-label=move || t_string!(i18n, room.waiting_badge, count = count())
                on:click=move |ev| {
                    ev.prevent_default();
                    // A phone shows the stage first; the focus moves once
                    // it is drawn.
                    if let Some(p) = panes {
                        p.show(Pane::Stage);
                    }
                    request_animation_frame(focus_waiting_panel);
                }
            >
                <Icon name=IconName::Users />
                <span class="count">{count}</span>
            </a>
        </Show>
    }
}

/// Moves focus to the waiting room's first Admit button (or its heading).
fn focus_waiting_panel() {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let target = doc
        .query_selector("#waiting-panel .admit")
        .ok()
        .flatten()
        .or_else(|| doc.get_element_by_id("waiting-panel"));
    if let Some(el) = target {
        el.scroll_into_view();
        if let Ok(html) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el) {
            let _ = html.focus();
        }
    }
}
