//! The screen shown when joining is impossible.

use leptos::prelude::*;

use crate::nats::{CONNECTION_LOST, NOT_AUTHORIZED};
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
    /// Show a Reload button (starts the session over).
    pub reload: bool,
}

impl From<&JoinError> for PageError {
    fn from(e: &JoinError) -> Self {
        Self {
            title: e.title().to_string(),
            reason: e.reason(),
            retry: e.retryable(),
            reload: false,
        }
    }
}

impl PageError {
    /// The real-time connection failed for good (refused, or lost for
    /// longer than the client keeps trying).
    pub fn connection_failed(title: &str) -> Self {
        let reason = match title {
            NOT_AUTHORIZED => {
                "The server refused the connection for this link. \
                 Ask the organiser for a new link."
            }
            CONNECTION_LOST => {
                "The connection to the meeting was lost and could not be \
                 restored. Check your network, then reload."
            }
            _ => "The meeting's real-time connection could not be set up.",
        };
        Self {
            title: title.to_string(),
            reason: reason.to_string(),
            retry: false,
            reload: title == CONNECTION_LOST,
        }
    }
}

/// `<main id="error-page">` with the title, the reason and maybe a Retry
/// (`#retry`) or Reload (`#reload`) button.
#[component]
pub fn ErrorPage(
    error: PageError,
    /// Called by the Retry or Reload button (shown only if `error.retry`
    /// or `error.reload`). Both start over with the newest token: a real
    /// page reload would lose it, since it left the address bar.
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
                {error
                    .reload
                    .then(|| {
                        view! {
                            <button
                                id="reload"
                                type="button"
                                class="btn btn-primary"
                                on:click=move |_| on_retry.run(())
                            >
                                "Reload"
                            </button>
                        }
                    })}
            </div>
        </main>
    }
}
