//! The connection state badge in the room header.

use leptos::prelude::*;

use crate::nats::ConnState;

/// `<span id="conn-state" data-state="…">` with a human label. Announced
/// politely to screen readers, since losing the connection matters.
#[component]
pub fn ConnBadge(#[prop(into)] state: Signal<ConnState>) -> impl IntoView {
    view! {
        <span
            id="conn-state"
            class="conn-badge"
            data-state=move || state.with(ConnState::key)
            role="status"
            aria-live="polite"
        >
            {move || state.with(ConnState::label)}
        </span>
    }
}
