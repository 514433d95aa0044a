//! The screen shown when joining is impossible.

use leptos::prelude::*;

use crate::i18n::{td_string, use_i18n, Locale};
use crate::nats::ConnFailure;
use crate::verify::{JoinError, Refusal};

/// Why the error page shows: a refused or failed join, or a connection
/// that failed for good. Put in words only when shown, in the page's
/// language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// Joining failed before the room could open.
    Join(JoinError),
    /// The real-time connection failed for good (refused, or lost for
    /// longer than the client keeps trying).
    Connection(ConnFailure),
    /// The rest of the app (the room module) did not download.
    Load,
}

impl From<&JoinError> for PageError {
    fn from(e: &JoinError) -> Self {
        Self::Join(e.clone())
    }
}

impl PageError {
    /// The real-time connection failed for good.
    pub fn connection_failed(why: ConnFailure) -> Self {
        Self::Connection(why)
    }

    /// Headline.
    pub fn title(&self, locale: Locale) -> String {
        match self {
            Self::Join(e) => e.title(locale).to_string(),
            Self::Connection(why) => match why {
                ConnFailure::NotAuthorized => td_string!(locale, error.not_authorized_title),
                ConnFailure::Lost => td_string!(locale, error.lost_title),
                ConnFailure::CannotConnect => td_string!(locale, error.cannot_connect_title),
            }
            .to_string(),
            Self::Load => td_string!(locale, error.load_title).to_string(),
        }
    }

    /// Explanation.
    pub fn reason(&self, locale: Locale) -> String {
        match self {
            Self::Join(e) => e.reason(locale),
            Self::Connection(why) => match why {
                ConnFailure::NotAuthorized => td_string!(locale, error.not_authorized_reason),
                ConnFailure::Lost => td_string!(locale, error.lost_reason),
                ConnFailure::CannotConnect => td_string!(locale, error.cannot_connect_reason),
            }
            .to_string(),
            Self::Load => td_string!(locale, error.load_reason).to_string(),
        }
    }

    /// Show a Retry button.
    pub fn retry(&self) -> bool {
        matches!(self, Self::Join(e) if e.retryable())
    }

    /// Offer "Use this tab instead": the user is in the meeting elsewhere.
    pub fn take_over(&self) -> bool {
        matches!(self, Self::Join(e) if e.refusal() == Some(Refusal::AlreadyIn))
    }

    /// Show a Reload button (starts the session over).
    pub fn reload(&self) -> bool {
        matches!(self, Self::Connection(ConnFailure::Lost) | Self::Load)
    }
}

/// `<main id="error-page">` with the title, the reason and maybe a Retry
/// (`#retry`), Reload (`#reload`) or "Use this tab instead" (`#take-over`)
/// button, in the app's language.
#[component]
pub fn ErrorPage(
    error: PageError,
    /// Called by the Retry or Reload button (shown only if `error.retry()`
    /// or `error.reload()`). In the room both start over with the newest
    /// token rather than reload the page, which would lose it (it left the
    /// address bar); the shell reloads only for `PageError::Load`, whose
    /// token waits in session storage.
    #[prop(into)]
    on_retry: Callback<()>,
    /// Called by "Use this tab instead" (`#take-over`, shown only if
    /// `error.take_over()` and this is given).
    #[prop(optional, into)]
    on_take_over: Option<Callback<()>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    view! {
        <main id="error-page" class="page page-center">
            <div class="card error-card">
                <h1 class="error-title">{error.title(locale)}</h1>
                <p class="error-reason">{error.reason(locale)}</p>
                {error.retry().then(|| action("retry", locale_text(locale, Choice::Retry), on_retry))}
                {on_take_over
                    .filter(|_| error.take_over())
                    .map(|cb| action("take-over", locale_text(locale, Choice::TakeOver), cb))}
                {error.reload().then(|| action("reload", locale_text(locale, Choice::Reload), on_retry))}
            </div>
        </main>
    }
}

/// What the error page's buttons do, for their words.
#[derive(Clone, Copy)]
enum Choice {
    Retry,
    TakeOver,
    Reload,
}

fn locale_text(locale: Locale, what: Choice) -> &'static str {
    match what {
        Choice::Retry => td_string!(locale, error.retry),
        Choice::TakeOver => td_string!(locale, join.take_over),
        Choice::Reload => td_string!(locale, error.reload),
    }
}

/// One of the error page's buttons: `<button id={id}>` reading `label`.
fn action(id: &'static str, label: &'static str, on_click: Callback<()>) -> impl IntoView {
    view! {
        <button id=id type="button" class="btn btn-primary" on:click=move |_| on_click.run(())>
            {label}
        </button>
    }
}
