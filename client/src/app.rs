//! The top component and its page state machine:
//!
//! ```text
//! Checking ──verify ok──▶ Joined ─┬─ Meeting key   (self-key E2EE rooms)
//!    │                            ├─ Connecting…  (loading page)
//!    │  ▲                         ├─ Waiting      (waiting room)
//!    │  │                         └─ Room         (after the first attempt)
//!    ▼  └─Retry / Reload              │
//!  Error ◀── refused link, no token,  │ SessionEnded, Removed, or Leave
//!            NATS "Authorization      ▼
//!            Violation", or lost     Over (goodbye page; final)
//!            for too long
//! ```

use std::sync::Arc;

use leptos::prelude::*;

use crate::crypto::RoomKey;
use crate::nats::ConnState;
use crate::pages::error::{ErrorPage, PageError};
use crate::pages::goodbye::{Goodbye, GoodbyePage};
use crate::pages::key_prompt::KeyPromptPage;
use crate::pages::loading::LoadingPage;
use crate::pages::room::RoomPage;
use crate::pages::waiting::WaitingPage;
use crate::state::session::provide_session_state;
use crate::state::token::provide_token_context;
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
    // Read exactly once: it leaves the address bar right away. Renewals
    // replace it in the token context, and Retry uses the newest one.
    let token = take_token_from_location();
    let tokens = provide_token_context(token.clone());
    let has_token = token.is_some();
    // Set when the session dies for good after verification.
    let fatal = RwSignal::new(None::<PageError>);
    // Set when the session is over (ended or left); final.
    let over = RwSignal::new(None::<Goodbye>);

    // -- actions -- //
    let verify = Action::new_local(|t: &JoinToken| {
        let t = t.clone();
        async move { verify_token(t).await.map(Arc::new) }
    });
    if let Some(t) = token {
        verify.dispatch_local(t);
    }
    let retry = Callback::new(move |()| {
        fatal.set(None);
        if let Some(t) = tokens.get() {
            verify.dispatch_local(t);
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
        if !has_token {
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
            view! { <KeyGate session=session on_fatal=on_fatal on_over=on_over /> }.into_any()
        }
        Page::Over(goodbye) => view! { <GoodbyePage goodbye=goodbye /> }.into_any(),
    }
}

/// In a self-key E2EE room, asks for the meeting key before anything
/// connects; otherwise goes straight on.
#[component]
fn KeyGate(
    session: Arc<Session>,
    on_fatal: Callback<PageError>,
    on_over: Callback<Goodbye>,
) -> impl IntoView {
    let key = RwSignal::new_local(None::<RoomKey>);
    let ask = session.join.e2ee_self_key;
    let asking = Memo::new(move |_| ask && key.with(Option::is_none));
    move || {
        if asking.get() {
            let join = &session.join;
            view! {
                <KeyPromptPage
                    room_title=join.room_title.clone()
                    room_sid=join.room_sid.clone()
                    on_key=move |k| key.set(Some(k))
                />
            }
            .into_any()
        } else {
            let session = session.clone();
            let key = key.get_untracked();
            view! { <JoinedSession session=session key=key on_fatal=on_fatal on_over=on_over /> }
                .into_any()
        }
    }
}

/// Owns everything that lives as long as one verified session: contexts,
/// the NATS connection, the chat log, the participants, the toasts, the
/// system events and the token renewal. Unmounting it disconnects.
#[component]
fn JoinedSession(
    session: Arc<Session>,
    key: Option<RoomKey>,
    on_fatal: Callback<PageError>,
    on_over: Callback<Goodbye>,
) -> impl IntoView {
    let nats = provide_session_state(session, key, on_over).nats;
    let state = nats.state();
    let waiting = nats.waiting();

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

    move || match (entered.get(), waiting.get()) {
        (false, _) => view! { <LoadingPage message="Connecting…" /> }.into_any(),
        (true, true) => view! { <WaitingPage /> }.into_any(),
        (true, false) => view! { <RoomPage /> }.into_any(),
    }
}
