//! The encryption badge in the room header: the key fingerprint that
//! participants compare aloud, or where getting the key stands.

use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::state::e2ee::{use_e2ee, KeyStatus};

/// `<span id="e2ee-badge" data-state>`; nothing in a room without E2EE.
#[component]
pub fn E2eeBadge() -> impl IntoView {
    use_e2ee().map(|e2ee| {
        let status = e2ee.status();
        let state = move || match status.get() {
            KeyStatus::Pending => "pending",
            KeyStatus::Ready(_) => "ready",
            KeyStatus::Failed(_) => "failed",
        };
        view! {
            <span
                id="e2ee-badge"
                class="badge e2ee-badge"
                data-state=state
                title="End-to-end encrypted. Compare this fingerprint with the other participants: the same key gives the same fingerprint."
            >
                {move || match status.get() {
                    KeyStatus::Pending => view! {
                        <Icon name=IconName::Lock />
                        "Securing…"
                    }
                    .into_any(),
                    KeyStatus::Ready(fp) => view! {
                        <Icon name=IconName::Lock />
                        <span class="visually-hidden">"End-to-end encrypted, key "</span>
                        <span id="e2ee-fingerprint" class="fingerprint">{fp}</span>
                    }
                    .into_any(),
                    KeyStatus::Failed(_) => view! {
                        <Icon name=IconName::Warning />
                        "Waiting for the key…"
                    }
                    .into_any(),
                }}
            </span>
        }
    })
}

/// A marker for a participant whose messages don't decrypt here.
#[component]
pub fn KeyMismatch(user: String) -> impl IntoView {
    use_e2ee().map(|e2ee| {
        let mismatched = e2ee.mismatched();
        move || {
            mismatched.with(|m| m.contains(&user)).then(|| {
                view! {
                    <span
                        class="key-mismatch"
                        title="Their messages can't be decrypted with your key: one of you may have typed a different key."
                    >
                        <Icon name=IconName::Warning />
                        "different key?"
                    </span>
                }
            })
        }
    })
}
