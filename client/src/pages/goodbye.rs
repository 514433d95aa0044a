//! The screen shown once the session is over: ended by the server, or left.

use leptos::html::H1;
use leptos::prelude::*;
use quorum_shared::events::EndReason;

use crate::handoff::remember_prejoin;
use crate::i18n::{t, td_string, use_i18n, use_locale, Locale};
pub use crate::state::goodbye::Goodbye;
use crate::state::goodbye::{forget_farewell, Farewell};

impl Goodbye {
    /// Headline, in `locale`.
    pub fn title(self, locale: Locale) -> &'static str {
        match self {
            Self::Ended(_) => td_string!(locale, goodbye.ended_title),
            Self::Removed { .. } => td_string!(locale, goodbye.removed_title),
            Self::Denied => td_string!(locale, goodbye.denied_title),
            Self::Left => td_string!(locale, goodbye.left_title),
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
        }
    }
}

/// `<main id="goodbye-page">` with the title and the reason, then what
/// can be done: **Rejoin** (`#rejoin`) after leaving by choice while the
/// token is valid, and the room's page for after leaving (`#logout-link`).
/// The title takes focus, so screen readers announce the change of page.
#[component]
pub fn GoodbyePage(farewell: Farewell) -> impl IntoView {
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
        </main>
    }
}
