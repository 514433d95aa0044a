//! The connection state badge in the room header.

use leptos::prelude::*;

use crate::i18n::{t_string, use_i18n};
use crate::nats::ConnState;

/// `<span id="conn-state" data-state="…">` with a human label. Announced
/// politely to screen readers, since losing the connection matters.
#[component]
pub fn ConnBadge(#[prop(into)] state: Signal<ConnState>) -> impl IntoView {
    let i18n = use_i18n();
    let label = move || match state.get() {
        ConnState::Connecting => t_string!(i18n, conn.connecting),
        ConnState::Connected => t_string!(i18n, conn.connected),
        ConnState::Reconnecting => t_string!(i18n, conn.reconnecting),
        ConnState::Failed(_) | ConnState::Closed => t_string!(i18n, conn.disconnected),
    };
    view! {
        <span
            id="conn-state"
            class="conn-badge"
            data-state=move || state.with(ConnState::key)
            role="status"
            aria-live="polite"
        >
            <span class="conn-text">{label}</span>
        </span>
    }
}
