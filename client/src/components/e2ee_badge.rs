//! The encryption badge in the room header: the key fingerprint that
//! participants compare aloud, or where getting the key stands.

use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::i18n::{t, t_string, use_i18n};
use crate::state::e2ee::{use_e2ee, KeyStatus};

/// `<span id="e2ee-badge" data-state>`; nothing in a room without E2EE.
/// Once the key is there it shows the fingerprint, labelled "Key check",
/// with a button that shows what it is for (keyboard and touch alike:
/// not a hover title).
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
        let open = RwSignal::new(false);
        view! {
            <span id="e2ee-badge" class="badge e2ee-badge" data-state=state>
                {move || match status.get() {
                    KeyStatus::Pending => view! {
                        <Icon name=IconName::Lock />
                        {t!(i18n, e2ee.securing)}
                    }
                    .into_any(),
                    KeyStatus::Ready(fp) => view! {
                        <Icon name=IconName::Lock />
                        <span class="visually-hidden">{t!(i18n, e2ee.encrypted_key)} " "</span>
                        <span class="fp-label">{t!(i18n, e2ee.key_check)}</span>
                        " "
                        <span id="e2ee-fingerprint" class="fingerprint">{fp}</span>
                        <button
                            id="e2ee-help"
                            type="button"
                            class="fp-help"
                            aria-expanded=move || open.get().to_string()
                            aria-controls="e2ee-explain"
                            aria-label=move || t_string!(i18n, e2ee.key_check_help)
                            on:click=move |_| open.update(|o| *o = !*o)
                            on:keydown=move |ev| {
                                if ev.key() == "Escape" {
                                    open.set(false);
                                }
                            }
                        >
                            "?"
                        </button>
                        <span id="e2ee-explain" class="fp-explain" hidden=move || !open.get()>
                            {t!(i18n, e2ee.title)}
                        </span>
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
                    <span class="key-mismatch">
                        <Icon name=IconName::Warning />
                        <span aria-hidden="true">{t!(i18n, e2ee.mismatch)}</span>
                        <span class="visually-hidden">{t!(i18n, e2ee.mismatch_title)}</span>
                    </span>
                }
            })
        }
    })
}
