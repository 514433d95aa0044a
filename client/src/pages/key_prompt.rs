//! The key prompt of a self-key E2EE room: shown after the link is
//! verified and before connecting. Every participant types the same
//! meeting key; it never leaves this tab, and is dropped as soon as the
//! key is derived (600,000 PBKDF2 rounds in WebCrypto, off the main
//! thread, with a spinner meanwhile).

use leptos::html::Input;
use leptos::prelude::*;
use quorum_shared::e2ee::PBKDF2_ITERATIONS;

use crate::components::icons::{Icon, IconName};
use crate::crypto::RoomKey;

/// Where the prompt stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Asking,
    Deriving,
    Failed(String),
}

/// `<main id="key-page">`: asks for the meeting key, derives it for
/// `room_sid`, and hands it to `on_key`.
#[component]
pub fn KeyPromptPage(
    room_title: String,
    room_sid: String,
    #[prop(into)] on_key: Callback<RoomKey>,
) -> impl IntoView {
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
        if phase.get_untracked() == Phase::Deriving || el.value().is_empty() {
            return;
        }
        // Taken out of the field at once: nothing on the page holds it
        // while the key is derived.
        let mut passphrase = el.value().into_bytes();
        el.set_value("");
        set_empty.set(true);
        set_phase.set(Phase::Deriving);
        let sid = sid.get_value();
        wasm_bindgen_futures::spawn_local(async move {
            let text = String::from_utf8_lossy(&passphrase).into_owned();
            let derived = RoomKey::derive(&text, &sid, PBKDF2_ITERATIONS).await;
            // Our copies go now; WebCrypto kept only the derived keys.
            let mut text = text.into_bytes();
            text.fill(0);
            passphrase.fill(0);
            std::hint::black_box((&text, &passphrase));
            match derived {
                Ok(key) => on_key.run(key),
                Err(e) => {
                    set_phase.try_set(Phase::Failed(e.to_string()));
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
                <p class="key-explain">
                    "This meeting is end-to-end encrypted with a key its participants agree on. "
                    "Type the meeting key you were given: everyone must type exactly the same key, "
                    "or you won't be able to read each other. The key never leaves this browser tab; "
                    "the server never sees it."
                </p>
                <label for="e2ee-key" class="key-label">"Meeting key"</label>
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
                        {move || if shown.get() { "Hide" } else { "Show" }}
                    </button>
                </div>
                <button
                    id="e2ee-key-submit"
                    type="submit"
                    class="btn btn-primary"
                    disabled=move || empty.get() || phase.get() == Phase::Deriving
                >
                    "Join the meeting"
                </button>
                {move || match phase.get() {
                    Phase::Asking => ().into_any(),
                    Phase::Deriving => view! {
                        <p id="e2ee-deriving" class="key-status" role="status" aria-live="polite">
                            <span class="spinner spinner-small" aria-hidden="true"></span>
                            "Deriving the key… this takes a moment."
                        </p>
                    }
                    .into_any(),
                    Phase::Failed(why) => view! {
                        <p id="e2ee-key-error" class="key-status key-error" role="alert">
                            "Couldn't derive the key: " {why}
                        </p>
                    }
                    .into_any(),
                }}
            </form>
        </main>
    }
}
