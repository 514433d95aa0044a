//! The key prompt of a self-key E2EE room: shown after the link is
//! verified and before connecting. Every participant types the same
//! meeting key; it never leaves this tab, and is dropped as soon as the
//! key is derived (600,000 PBKDF2 rounds in WebCrypto, off the main
//! thread, with a spinner meanwhile).

use leptos::html::Input;
use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::components::key_banner::{take_typed_key, why_failed};
use crate::crypto::{CryptoError, RoomKey};
use crate::i18n::{t, t_string, use_i18n};

/// Where the prompt stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Asking,
    Deriving,
    Failed(CryptoError),
}

/// `<main id="key-page">`: asks for the meeting key, derives it for
/// `room_sid`, and hands it to `on_key`.
#[component]
pub fn KeyPromptPage(
    room_title: String,
    room_sid: String,
    #[prop(into)] on_key: Callback<RoomKey>,
) -> impl IntoView {
    let i18n = use_i18n();
    let input = NodeRef::<Input>::new();
    let (phase, set_phase) = signal(Phase::Asking);
    let (shown, set_shown) = signal(false);
    let (empty, set_empty) = signal(true);
    let sid = StoredValue::new(room_sid);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(el) = input.get_untracked() else {
            return;
        };
        if phase.get_untracked() == Phase::Deriving {
            return;
        }
        let Some(passphrase) = take_typed_key(&el) else {
            return;
        };
        set_empty.set(true);
        set_phase.set(Phase::Deriving);
        let sid = sid.get_value();
        wasm_bindgen_futures::spawn_local(async move {
            match RoomKey::derive_typed(passphrase, &sid).await {
                Ok(key) => on_key.run(key),
                Err(e) => {
                    set_phase.try_set(Phase::Failed(e));
                }
            }
        });
    };

    view! {
        <main id="key-page" class="page page-center">
            <form class="card key-card" on:submit=submit>
                <h1 class="key-title">
                    <Icon name=IconName::Lock />
                    {room_title}
                </h1>
                <p class="key-explain">{t!(i18n, key.explain)}</p>
                <label for="e2ee-key" class="key-label">{t!(i18n, key.label)}</label>
                <div class="key-row">
                    <input
                        id="e2ee-key"
                        node_ref=input
                        type=move || if shown.get() { "text" } else { "password" }
                        autocomplete="off"
                        spellcheck="false"
                        autofocus
                        disabled=move || phase.get() == Phase::Deriving
                        on:input=move |ev| set_empty.set(event_target_value(&ev).is_empty())
                    />
                    <button
                        id="e2ee-key-toggle"
                        type="button"
                        class="btn"
                        aria-pressed=move || shown.get().to_string()
                        aria-controls="e2ee-key"
                        on:click=move |_| set_shown.update(|s| *s = !*s)
                    >
                        {move || {
                            if shown.get() { t_string!(i18n, key.hide) } else { t_string!(i18n, key.show) }
                        }}
                    </button>
                </div>
                <button
                    id="e2ee-key-submit"
                    type="submit"
                    class="btn btn-primary"
                    disabled=move || empty.get() || phase.get() == Phase::Deriving
                >
                    {t!(i18n, prejoin.join)}
                </button>
                {move || match phase.get() {
                    Phase::Asking => ().into_any(),
                    Phase::Deriving => view! {
                        <p id="e2ee-deriving" class="key-status" role="status" aria-live="polite">
                            <span class="spinner spinner-small" aria-hidden="true"></span>
                            {t!(i18n, key.deriving)}
                        </p>
                    }
                    .into_any(),
                    Phase::Failed(why) => view! {
                        <p id="e2ee-key-error" class="key-status key-error" role="alert">
                            {t!(i18n, key.failed, why = why_failed(&why, i18n.get_locale_untracked()))}
                        </p>
                    }
                    .into_any(),
                }}
            </form>
        </main>
    }
}
