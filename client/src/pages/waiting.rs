//! The screen shown while a moderator has not let us in yet.

use leptos::html::H1;
use leptos::prelude::*;

use crate::components::conn_badge::ConnBadge;
use crate::components::leave::LeaveButton;
use crate::i18n::{t, use_i18n};
use crate::nats::use_nats;
use crate::state::moderation::use_moderation_opt;
use crate::state::session::use_session;

/// `<main id="waiting-page">`: stays up until the server approves us (the
/// room replaces it) or turns us away (the goodbye page does). The title
/// takes focus, so screen readers announce the change of page.
#[component]
pub fn WaitingPage() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let nats = use_nats();
    let title = NodeRef::<H1>::new();
    // The moderators' message: the one in force when we joined, then
    // each new one as it is set (an empty one hides it).
    let message = use_moderation_opt().map(|m| m.waiting_message());
    let text = move || message.map(|m| m.get()).unwrap_or_default();
    Effect::new(move || {
        if let Some(h) = title.get() {
            let _ = h.focus();
        }
    });
    view! {
        <main id="waiting-page" class="page page-center">
            <div class="card waiting-card">
                <div class="spinner" aria-hidden="true"></div>
                <h1 class="waiting-title" tabindex="-1" node_ref=title>
                    {t!(i18n, waiting.title)}
                </h1>
                <p class="waiting-room-name">{session.join.room_title.clone()}</p>
                <p id="waiting-as" class="waiting-as">
                    {t!(i18n, prejoin.you_join_as)}
                    " "
                    <strong>{session.join.name.clone()}</strong>
                </p>
                <Show when=move || !text().trim().is_empty()>
                    <p id="waiting-message" class="waiting-message-text" role="status">
                        {text}
                    </p>
                </Show>
                <div class="waiting-actions">
                    <ConnBadge state=nats.state() />
                    <LeaveButton />
                </div>
            </div>
        </main>
    }
}
