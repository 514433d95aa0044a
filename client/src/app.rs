//! The top component and its page state machine:
//!
//! ```text
//! Checking ──verify ok──▶ Joined ─┬─ Connecting…  (loading page)
//!    │  ▲                         └─ Room         (after the first attempt)
//!    ▼  └─Retry (network errors)      │
//!  Error ◀── refused link, no token,  │ SessionEnded event, or Leave
//!            or NATS "Authorization   ▼
//!            Violation"              Over (goodbye page; final)
//! ```

use std::sync::Arc;

use leptos::prelude::*;

use crate::nats::{provide_nats_context, ConnState};
use crate::pages::error::{ErrorPage, PageError};
use crate::pages::goodbye::{Goodbye, GoodbyePage};
use crate::pages::loading::LoadingPage;
use crate::pages::room::RoomPage;
use crate::state::chat::provide_chat_context;
use crate::state::events::{handle_system_events, EventSinks};
use crate::state::session::{provide_session_context, provide_session_end};
use crate::state::toasts::provide_toasts_context;
use crate::verify::{take_token_from_location, verify_token, JoinError, JoinToken, Session};

/// Which screen is up.
#[derive(Debug, Clone)]
pub enum Page {
    /// Verifying the link.
    Checking,
    /// Joining is impossible (for now).
    Error(PageError),
    /// Verified; connecting or in the room.
    Joined(Arc<Session>),
    /// The session is over for good.
    Over(Goodbye),
}

impl PartialEq for Page {
    /// Sessions compare by identity: a new verification is a new session,
    /// and re-rendering an unchanged one would needlessly reconnect.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Checking, Self::Checking) => true,
            (Self::Error(a), Self::Error(b)) => a == b,
            (Self::Joined(a), Self::Joined(b)) => Arc::ptr_eq(a, b),
            (Self::Over(a), Self::Over(b)) => a == b,
            _ => false,
        }
    }
}

/// The session is over for good: the server ended it, or the user left
/// (the NATS connection is already closed). The one place to tidy up
/// before saying goodbye; for now it only switches to the goodbye page.
/// The first goodbye wins.
// TODO(session cache): delete the IndexedDB session cache here, then show
// the page once that is done.
pub fn on_session_over(goodbye: Goodbye, over: RwSignal<Option<Goodbye>>) {
    if over.with_untracked(Option::is_none) {
        over.set(Some(goodbye));
    }
}

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    // -- signals -- //
    // Read exactly once: it leaves the address bar right away, and Retry
    // reuses this copy.
    let token = take_token_from_location();
    // Set when the session dies for good after verification.
    let fatal = RwSignal::new(None::<PageError>);
    // Set when the session is over (ended or left); final.
    let over = RwSignal::new(None::<Goodbye>);

    // -- actions -- //
    let verify = Action::new_local(|t: &JoinToken| {
        let t = t.clone();
        async move { verify_token(t).await.map(Arc::new) }
    });
    if let Some(t) = &token {
        verify.dispatch_local(t.clone());
    }
    let retry = Callback::new({
        let token = token.clone();
        move |()| {
            fatal.set(None);
            if let Some(t) = &token {
                verify.dispatch_local(t.clone());
            }
        }
    });
    let on_fatal = Callback::new(move |e: PageError| fatal.set(Some(e)));
    let on_over = Callback::new(move |g: Goodbye| on_session_over(g, over));

    // -- derived -- //
    let page = Memo::new(move |_| {
        if let Some(g) = over.get() {
            return Page::Over(g);
        }
        if let Some(e) = fatal.get() {
            return Page::Error(e);
        }
        if token.is_none() {
            return Page::Error((&JoinError::NoToken).into());
        }
        if verify.pending().get() {
            return Page::Checking;
        }
        match verify.value().get() {
            None => Page::Checking,
            Some(Ok(session)) => Page::Joined(session),
            Some(Err(e)) => Page::Error((&e).into()),
        }
    });

    move || match page.get() {
        Page::Checking => view! { <LoadingPage message="Checking your link…" /> }.into_any(),
        Page::Error(error) => view! { <ErrorPage error=error on_retry=retry /> }.into_any(),
        Page::Joined(session) => {
            view! { <JoinedSession session=session on_fatal=on_fatal on_over=on_over /> }.into_any()
        }
        Page::Over(goodbye) => view! { <GoodbyePage goodbye=goodbye /> }.into_any(),
    }
}

/// Owns everything that lives as long as one verified session: contexts,
/// the NATS connection, the chat log, the toasts and the system events.
/// Unmounting it disconnects.
#[component]
fn JoinedSession(
    session: Arc<Session>,
    on_fatal: Callback<PageError>,
    on_over: Callback<Goodbye>,
) -> impl IntoView {
    provide_session_context(session.clone());
    let nats = provide_nats_context(session.clone());
    let chat = provide_chat_context(session, nats);
    let toasts = provide_toasts_context();
    let end = provide_session_end(nats, on_over);
    handle_system_events(
        nats,
        EventSinks {
            chat: Callback::new(move |entry| {
                chat.add(entry);
            }),
            toast: Callback::new(move |toast| toasts.show(toast)),
            end: Callback::new(move |goodbye| end.end(goodbye)),
        },
    );
    let state = nats.state();

    // -- effects -- //
    Effect::new(move || {
        if let ConnState::Failed(title) = state.get() {
            on_fatal.run(PageError::connection_failed(&title));
        }
    });

    // -- derived -- //
    // The room appears once the first attempt has an outcome and then
    // stays; later trouble is shown by the badge, not by leaving the room.
    let entered = Memo::new(move |prev: Option<&bool>| {
        prev.copied().unwrap_or(false)
            || matches!(state.get(), ConnState::Connected | ConnState::Reconnecting)
    });

    move || {
        if entered.get() {
            view! { <RoomPage /> }.into_any()
        } else {
            view! { <LoadingPage message="Connecting…" /> }.into_any()
        }
    }
}
