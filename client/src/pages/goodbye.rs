//! The screen shown once the session is over: ended by the server, or left.

use leptos::html::H1;
use leptos::prelude::*;
use quorum_shared::events::EndReason;

/// What the goodbye page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goodbye {
    /// Headline.
    pub title: String,
    /// Explanation.
    pub reason: String,
}

impl Goodbye {
    /// The server ended the session.
    pub fn ended(reason: EndReason) -> Self {
        Self {
            title: "The meeting has ended".to_string(),
            reason: reason.describe().to_string(),
        }
    }

    /// A moderator removed us (or turned us away from the waiting room);
    /// `blocked` if we may not come back.
    pub fn removed(blocked: bool) -> Self {
        let reason = if blocked {
            "A moderator removed you. You can't rejoin this meeting."
        } else {
            "A moderator removed you from this meeting."
        };
        Self {
            title: "You were removed from the meeting".to_string(),
            reason: reason.to_string(),
        }
    }

    /// The user pressed Leave.
    pub fn left() -> Self {
        Self {
            title: "You left the meeting".to_string(),
            reason: "You can close this tab.".to_string(),
        }
    }
}

/// `<main id="goodbye-page">` with the title and the reason. The title
/// takes focus, so screen readers announce the change of page.
#[component]
pub fn GoodbyePage(goodbye: Goodbye) -> impl IntoView {
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
                    {goodbye.title}
                </h1>
                <p class="goodbye-reason">{goodbye.reason}</p>
            </div>
        </main>
    }
}
