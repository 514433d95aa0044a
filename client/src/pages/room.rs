//! The meeting room: header (with the notification centre, the hand
//! toggle and Leave), the participants, chat and toasts. Video comes in a
//! later issue.

use leptos::prelude::*;

use crate::components::chat::ChatPanel;
use crate::components::conn_badge::ConnBadge;
use crate::components::e2ee_badge::E2eeBadge;
use crate::components::leave::LeaveButton;
use crate::components::notices::Notices;
use crate::components::participants::{HandButton, ParticipantsPanel};
use crate::components::toasts::Toasts;
use crate::nats::use_nats;
use crate::state::session::use_session;

/// `<main id="room-page">`.
#[component]
pub fn RoomPage() -> impl IntoView {
    let session = use_session();
    let nats = use_nats();
    let join = &session.join;
    view! {
        <main id="room-page" class="room">
            <header class="room-header">
                <h1 id="room-title" class="room-title">{join.room_title.clone()}</h1>
                <div class="room-me">
                    <span id="my-name" class="my-name">{join.name.clone()}</span>
                    {join
                        .is_admin
                        .then(|| view! { <span id="my-role" class="badge badge-moderator">"moderator"</span> })}
                </div>
                <ConnBadge state=nats.state() />
                <E2eeBadge />
                <Notices />
                <HandButton />
                <LeaveButton />
            </header>
            <div class="room-body">
                <ParticipantsPanel />
                <section class="stage" aria-label="Stage">
                    <p class="stage-placeholder">"Video is coming soon. Chat is open."</p>
                </section>
                <ChatPanel />
            </div>
            <Toasts />
        </main>
    }
}
