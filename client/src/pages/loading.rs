//! The screen shown while checking the link and connecting.

use leptos::prelude::*;

/// `<main id="loading-page">` with a spinner and what we are waiting for.
#[component]
pub fn LoadingPage(#[prop(into)] message: Signal<String>) -> impl IntoView {
    view! {
        <main id="loading-page" class="page page-center">
            <div class="spinner" aria-hidden="true"></div>
            <p class="loading-text" role="status" aria-live="polite">
                {move || message.get()}
            </p>
        </main>
    }
}
