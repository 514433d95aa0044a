//! The screen shown while a moderator has not let us in yet.

use leptos::prelude::*;

use crate::components::conn_badge::ConnBadge;
use crate::components::leave::LeaveButton;
use crate::nats::use_nats;
use crate::state::session::use_session;

/// `<main id="waiting-page">`: stays up until the server approves us (the
/// room replaces it) or turns us away (the goodbye page does).
#[component]
pub fn WaitingPage() -> impl IntoView {
    let session = use_session();
    let nats = use_nats();
    view! {
        <main id="waiting-page" class="page page-center">
            <div class="card waiting-card">
                <div class="spinner" aria-hidden="true"></div>
                <h1 class="waiting-title" role="status" aria-live="polite">
                    "Waiting for a moderator to let you in…"
                </h1>
                <p class="waiting-room-name">{session.join.room_title.clone()}</p>
                <div class="waiting-actions">
                    <ConnBadge state=nats.state() />
                    <LeaveButton />
                </div>
            </div>
        </main>
    }
}
