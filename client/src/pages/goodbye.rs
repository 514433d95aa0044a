//! The screen shown once the session is over: ended by the server, or left.

use leptos::html::H1;
use leptos::prelude::*;
use quorum_shared::events::EndReason;

use crate::handoff::remember_prejoin;
use crate::i18n::{t, td_string, use_i18n, use_locale, Locale};
pub use crate::state::goodbye::Goodbye;
use crate::state::goodbye::{forget_farewell, Farewell, Transcript};
use crate::util::{format_hhmm, iso_time};

impl Goodbye {
    /// Headline, in `locale`.
    pub fn title(self, locale: Locale) -> &'static str {
        match self {
            Self::Ended(_) => td_string!(locale, goodbye.ended_title),
            Self::Removed { .. } => td_string!(locale, goodbye.removed_title),
            Self::Denied => td_string!(locale, goodbye.denied_title),
            Self::Left => td_string!(locale, goodbye.left_title),
            Self::Moved => td_string!(locale, goodbye.moved_title),
        }
    }

    /// Explanation, in `locale`.
    pub fn reason(self, locale: Locale) -> &'static str {
        match self {
            Self::Ended(EndReason::EndedByModerator) => {
                td_string!(locale, goodbye.ended_by_moderator)
            }
            Self::Ended(EndReason::DurationExceeded) => {
                td_string!(locale, goodbye.duration_exceeded)
            }
            Self::Ended(EndReason::EmptyTimeout) => td_string!(locale, goodbye.empty_timeout),
            Self::Removed { blocked: true } => td_string!(locale, goodbye.removed_blocked),
            Self::Removed { blocked: false } => td_string!(locale, goodbye.removed),
            Self::Denied => td_string!(locale, goodbye.denied),
            Self::Left => td_string!(locale, goodbye.left_reason),
            Self::Moved => td_string!(locale, goodbye.moved),
        }
    }
}

/// `<main id="goodbye-page">` with the title and the reason, then what
/// can be done: **Rejoin** (`#rejoin`) after leaving by choice while the
/// token is valid, and the room's page for after leaving (`#logout-link`).
/// The title takes focus, so screen readers announce the change of page.
#[component]
pub fn GoodbyePage(
    farewell: Farewell,
    /// The chat when the meeting ended, shown and offered to save.
    #[prop(default = None)]
    transcript: Option<Transcript>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let title = NodeRef::<H1>::new();
    Effect::new(move || {
        if let Some(h) = title.get() {
            let _ = h.focus();
        }
    });
    let goodbye = farewell.goodbye;
    let rejoin = farewell.rejoin_token(js_sys::Date::now() / 1000.0);
    view! {
        <main id="goodbye-page" class="page page-center">
            <div class="card goodbye-card">
                <h1 class="goodbye-title" tabindex="-1" node_ref=title>
                    {goodbye.title(locale)}
                </h1>
                <p class="goodbye-reason">{goodbye.reason(locale)}</p>
                <div class="goodbye-actions">
                    {rejoin
                        .map(|token| {
                            view! {
                                <button
                                    id="rejoin"
                                    type="button"
                                    class="btn btn-primary"
                                    on:click=move |_| {
                                        // Back through the pre-join page, with the
                                        // token from this tab's storage (never the
                                        // address bar).
                                        forget_farewell();
                                        remember_prejoin(&token);
                                        let _ = window().location().reload();
                                    }
                                >
                                    {t!(i18n, goodbye.rejoin)}
                                </button>
                            }
                        })}
                    {farewell
                        .logout_url
                        .map(|url| {
                            view! {
                                <a id="logout-link" class="btn" href=url rel="noopener noreferrer">
                                    {t!(i18n, goodbye.go_on)}
                                </a>
                            }
                        })}
                </div>
            </div>
            {transcript.filter(|t| !t.0.is_empty()).map(|t| view! { <EndedChat transcript=t /> })}
        </main>
    }
}

/// `<section id="ended-chat">`: the meeting's chat, readable after the
/// end, and **Save the chat** (a text file made in this page: in an E2EE
/// room the decrypted text goes only to the user's own device).
#[component]
fn EndedChat(transcript: Transcript) -> impl IntoView {
    let i18n = use_i18n();
    let text = StoredValue::new(transcript.to_text());
    let save = move |_| {
        if let Err(e) = download("chat.txt", &text.get_value()) {
            web_sys::console::warn_1(&e);
        }
    };
    view! {
        <section id="ended-chat" class="card ended-chat" aria-labelledby="ended-chat-title">
            <div class="ended-chat-head">
                <h2 id="ended-chat-title">{t!(i18n, goodbye.chat_title)}</h2>
                <button id="save-chat" type="button" class="btn" on:click=save>
                    {t!(i18n, goodbye.save_chat)}
                </button>
            </div>
            <ol class="ended-chat-list" tabindex="0" aria-labelledby="ended-chat-title">
                {transcript
                    .0
                    .into_iter()
                    .map(|l| {
                        view! {
                            <li>
                                <time datetime=iso_time(l.at_ms)>{format_hhmm(l.at_ms)}</time>
                                " "
                                <strong>{l.name}</strong>
                                ": "
                                <span class="ended-chat-text">{l.text}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
    }
}

/// Offers `text` as a file named `name`, made in the page.
fn download(name: &str, text: &str) -> Result<(), wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/plain;charset=utf-8");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let a: web_sys::HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)?;
    Ok(())
}
