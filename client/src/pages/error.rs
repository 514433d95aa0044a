//! The screen shown when joining is impossible.

use leptos::prelude::*;

use crate::nats::NOT_AUTHORIZED;
use crate::verify::JoinError;

/// What the error page says, and whether a retry can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError {
    /// Headline.
    pub title: String,
    /// Explanation.
    pub reason: String,
    /// Show a Retry button.
    pub retry: bool,
}

impl From<&JoinError> for PageError {
    fn from(e: &JoinError) -> Self {
        Self {
            title: e.title().to_string(),
            reason: e.reason(),
            retry: e.retryable(),
        }
    }
}

impl PageError {
    /// The real-time connection was refused for good.
    pub fn connection_failed(title: &str) -> Self {
        let reason = if title == NOT_AUTHORIZED {
            "The server refused the connection for this link. \
             Ask the organiser for a new link."
        } else {
            "The meeting's real-time connection could not be set up."
        };
        Self {
            title: title.to_string(),
            reason: reason.to_string(),
            retry: false,
        }
    }
}

/// `<main id="error-page">` with the title, the reason and maybe Retry.
#[component]
pub fn ErrorPage(
    error: PageError,
    /// Called by the Retry button (shown only if `error.retry`).
    #[prop(into)]
    on_retry: Callback<()>,
) -> impl IntoView {
    view! {
        <main id="error-page" class="page page-center">
            <div class="card error-card">
                <h1 class="error-title">{error.title}</h1>
                <p class="error-reason">{error.reason}</p>
                {error
                    .retry
                    .then(|| {
                        view! {
                            <button
                                id="retry"
                                type="button"
                                class="btn btn-primary"
                                on:click=move |_| on_retry.run(())
                            >
                                "Retry"
                            </button>
                        }
                    })}
            </div>
        </main>
    }
}
