//! The encryption badge in the room header: the key fingerprint that
//! participants compare aloud, or where getting the key stands.

use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::i18n::{t, t_string, use_i18n};
use crate::state::e2ee::{use_e2ee, KeyStatus};

/// `<span id="e2ee-badge" data-state>`; nothing in a room without E2EE.
#[component]
pub fn E2eeBadge() -> impl IntoView {
    let i18n = use_i18n();
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
                title=move || t_string!(i18n, e2ee.title)
            >
                {move || match status.get() {
                    KeyStatus::Pending => view! {
                        <Icon name=IconName::Lock />
                        {t!(i18n, e2ee.securing)}
                    }
                    .into_any(),
                    KeyStatus::Ready(fp) => view! {
                        <Icon name=IconName::Lock />
                        <span class="visually-hidden">{t!(i18n, e2ee.encrypted_key)} " "</span>
                        <span id="e2ee-fingerprint" class="fingerprint">{fp}</span>
                    }
                    .into_any(),
                    KeyStatus::Failed(_) => view! {
                        <Icon name=IconName::Warning />
                        {t!(i18n, e2ee.waiting_key)}
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
    let i18n = use_i18n();
    use_e2ee().map(|e2ee| {
        let mismatched = e2ee.mismatched();
        move || {
            mismatched.with(|m| m.contains(&user)).then(|| {
                view! {
                    <span
                        class="key-mismatch"
                        title=move || t_string!(i18n, e2ee.mismatch_title)
                    >
                        <Icon name=IconName::Warning />
                        {t!(i18n, e2ee.mismatch)}
                    </span>
                }
            })
        }
    })
}
