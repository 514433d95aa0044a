//! The screen shown once the session is over: ended by the server, or left.

use leptos::html::H1;
use leptos::prelude::*;
use quorum_shared::events::EndReason;

use crate::i18n::{td_string, use_locale, Locale};
pub use crate::state::goodbye::Goodbye;

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

/// `<main id="goodbye-page">` with the title and the reason. The title
/// takes focus, so screen readers announce the change of page.
#[component]
pub fn GoodbyePage(goodbye: Goodbye) -> impl IntoView {
    let locale = use_locale();
    let title = NodeRef::<H1>::new();
    Effect::new(move || {
        if let Some(h) = title.get() {
            let _ = h.focus();
        }
    });
    view! {
        <main id="goodbye-page" class="page page-center">
            <div class="card goodbye-card">
                <h1 class="goodbye-title" tabindex="-1" node_ref=title>
                    {goodbye.title(locale)}
                </h1>
                <p class="goodbye-reason">{goodbye.reason(locale)}</p>
            </div>
        </main>
    }
}
