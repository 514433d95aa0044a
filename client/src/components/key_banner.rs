//! For someone whose key seems to differ from the others' (most of the
//! people they hear from can't be decrypted): a banner that says so and,
//! in a room where everyone types the key, lets them type it again
//! without leaving the room. What did not decrypt is then tried again.

use leptos::html::Input;
use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::crypto::{CryptoError, RoomKey};
use crate::i18n::{t, td_string, use_i18n, Locale};
use crate::state::chat::use_chat;
use crate::state::e2ee::use_e2ee;
use crate::state::session::use_session;

/// Why a typed key could not be derived, in `locale` (the browser's own
/// exception text, if any, as it came).
pub fn why_failed(e: &CryptoError, locale: Locale) -> String {
    match e {
        CryptoError::Unavailable => td_string!(locale, key.unavailable).to_string(),
        CryptoError::Failed(detail) => {
            td_string!(locale, key.crypto_failed, detail = detail.as_str())
        }
    }
}

/// The key typed in `el`, taken out of the field at once so nothing on the
/// page holds it while it is derived; `None` if the field is empty.
pub fn take_typed_key(el: &web_sys::HtmlInputElement) -> Option<Vec<u8>> {
    let typed = el.value().into_bytes();
    if typed.is_empty() {
        return None;
    }
    el.set_value("");
    Some(typed)
}

/// Where typing the key again stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// The button, not the form.
    Closed,
    /// The form, waiting for the key.
    Asking,
    /// Deriving it (a moment: 600,000 PBKDF2 rounds).
    Deriving,
    /// It could not be derived.
    Failed(CryptoError),
}

/// `<div id="key-banner" role="status">` while our key seems to differ,
/// with **Re-enter key** (`#key-reenter`) in a self-key room.
#[component]
pub fn KeyBanner() -> impl IntoView {
    let i18n = use_i18n();
    let e2ee = use_e2ee()?;
    let session = use_session();
    let chat = use_chat();
    let self_key = session.join.e2ee_self_key;
    let sid = StoredValue::new(session.join.room_sid.clone());
    let differs = e2ee.key_differs();
    let phase = RwSignal::new(Phase::Closed);
    let input = NodeRef::<Input>::new();

    let open_form = move |_| {
        phase.set(Phase::Asking);
        request_animation_frame(move || {
            if let Some(el) = input.get_untracked() {
                let _ = el.focus();
            }
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(el) = input.get_untracked() else {
            return;
        };
        if phase.get_untracked() == Phase::Deriving {
            return;
        }
        let Some(typed) = take_typed_key(&el) else {
            return;
        };
        phase.set(Phase::Deriving);
        let sid = sid.get_value();
        wasm_bindgen_futures::spawn_local(async move {
            match RoomKey::derive_typed(typed, &sid).await {
                Ok(key) => {
                    phase.try_set(Phase::Closed);
                    e2ee.rekey(key);
                    chat.retry_unreadable();
                    // The banner goes: the chat, where the messages come
                    // back, takes the focus.
                    if let Some(list) = document().get_element_by_id("chat-list") {
                        let list: web_sys::HtmlElement = wasm_bindgen::JsCast::unchecked_into(list);
                        let _ = list.focus();
                    }
                }
                Err(e) => {
                    phase.try_set(Phase::Failed(e));
                }
            }
        });
    };

    let form = move || {
        view! {
            <form id="key-reenter-form" class="key-reenter" on:submit=submit>
                <label for="key-reenter-input">{t!(i18n, key.label)}</label>
                <input
                    id="key-reenter-input"
                    node_ref=input
                    type="password"
                    autocomplete="off"
                    spellcheck="false"
                    disabled=move || phase.get() == Phase::Deriving
                />
                <button
                    id="key-reenter-submit"
                    type="submit"
                    class="btn btn-small btn-primary"
                    disabled=move || phase.get() == Phase::Deriving
                >
                    {t!(i18n, e2ee.use_key)}
                </button>
                <button
                    type="button"
                    class="btn btn-small"
                    on:click=move |_| phase.set(Phase::Closed)
                >
                    {t!(i18n, dialog.cancel)}
                </button>
                {move || match phase.get() {
                    Phase::Deriving => view! {
                        <p class="key-status" role="status">
                            <span class="spinner spinner-small" aria-hidden="true"></span>
                            {t!(i18n, key.deriving)}
                        </p>
                    }
                    .into_any(),
                    Phase::Failed(why) => view! {
                        <p class="key-status key-error" role="alert">
                            {t!(i18n, key.failed, why = why_failed(&why, i18n.get_locale_untracked()))}
                        </p>
                    }
                    .into_any(),
                    _ => ().into_any(),
                }}
            </form>
        }
    };

    Some(view! {
        <Show when=move || differs.get() || phase.get() != Phase::Closed>
            <div id="key-banner" class="key-banner" role="status">
                <p class="key-banner-text">
                    <Icon name=IconName::Warning />
                    {t!(i18n, e2ee.differs)}
                </p>
                {self_key
                    .then(|| {
                        view! {
                            <Show
                                when=move || phase.get() == Phase::Closed
                                fallback=form
                            >
                                <button
                                    id="key-reenter"
                                    type="button"
                                    class="btn btn-small"
                                    on:click=open_form
                                >
                                    {t!(i18n, e2ee.reenter)}
                                </button>
                            </Show>
                        }
                    })}
            </div>
        </Show>
    })
}
