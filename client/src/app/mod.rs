//! The room app (mounted by `start_room`); [`session`] holds what lives
//! as long as one verified session. Its page state machine:
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

mod refusals;
pub mod session;

use std::rc::Rc;
use std::sync::Arc;

use futures::FutureExt;
use leptos::prelude::*;

use crate::api::{renew_token_http, verify_token_taking_over};
use crate::cache::SessionCache;
use crate::handoff::{forget_prejoin, Handoff};
use crate::i18n::{locale_from_browser, provide_i18n_context, t_string};
use crate::join::{JoinToken, Session};
use crate::nats::ConnFailure;
use crate::pages::error::{ErrorPage, PageError};
use crate::pages::goodbye::{Goodbye, GoodbyePage};
use crate::pages::loading::LoadingPage;
use crate::state::goodbye::{
    forget_farewell, recall_farewell, remember_farewell, Farewell, Transcript, TranscriptSlot,
};
use crate::state::persist::{
    cleanup_at_startup, find_session, forget_found, open_for, take_prepared, Stored,
};
use crate::state::token::{provide_token_context, still_valid};
use crate::verify::JoinError;
use refusals::{is_final, refused_for_good_why, verify_resumed};
use session::KeyGate;

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
/// (the NATS connection is already closed). The first goodbye wins.
pub fn on_session_over(goodbye: Goodbye, over: RwSignal<Option<Goodbye>>) {
    if over.with_untracked(Option::is_none) {
        over.set(Some(goodbye));
    }
}

/// The room app, entered from the shell with what it took from the link
/// and, after the pre-join page, what it verified.
#[component]
pub fn App(handoff: Handoff) -> impl IntoView {
    // -- signals -- //
    // The language, chosen once for the session (`?lang=` stays in the
    // address bar when the shell takes the token out).
    let i18n = provide_i18n_context(locale_from_browser());
    // The shell took it out of the address bar. Renewals replace it in
    // the token context, and Retry uses the newest one.
    let url_token = handoff.join_token();
    // Joined on the shell's pre-join page: the session and the choices.
    let handed = handoff.session().map(Arc::new);
    let prejoined = StoredValue::new(handoff.joined.map(|j| j.choices));
    let tokens = provide_token_context(url_token.clone());
    // Until the startup cleanup and the cache lookup are done.
    let started = RwSignal::new(false);
    let has_token = RwSignal::new(false);
    // Set when the session dies for good after verification.
    let fatal = RwSignal::new(None::<PageError>);
    // Set when the session is over (ended or left); final. A reload of
    // the goodbye page (no link, nothing to resume) shows it again.
    let farewell = StoredValue::new(recall_farewell().filter(|_| url_token.is_none()));
    let over = RwSignal::new(farewell.with_value(|f| f.as_ref().map(|f| f.goodbye)));
    // The verified room's address for after leaving.
    let logout_url = StoredValue::new(None::<String>);
    // The chat as it stood when the meeting ended, for the goodbye page.
    let transcript = StoredValue::new(None::<Transcript>);
    provide_context(TranscriptSlot(transcript));
    // This tab's cached session, if a reload found one; then what the
    // cache holds for the verified session, taken by the room.
    let found = StoredValue::new_local(None::<Rc<SessionCache>>);
    let stored = StoredValue::new_local(None::<Stored>);
    // Whether `stored` holds the verified session's cache.
    let stored_ready = RwSignal::new(false);
    let resumed = StoredValue::new(false);

    // -- actions -- //
    // Startup's cache work, run once: stale sessions go first, then this
    // tab's session (if a reload or a reopened tab left one) is found; its
    // last token is the answer. A link's valid token is verified at the
    // same time rather than after it.
    // Done already behind the shell's pre-join page, if it got that far.
    let prepared = StoredValue::new_local(handed.as_ref().and_then(|s| take_prepared(&s.token)));
    let was_prepared = prepared.with_value(Option::is_some);
    let lookup = {
        let url_token = url_token.clone();
        async move {
            if was_prepared {
                return None;
            }
            cleanup_at_startup().await;
            crate::perf::mark("cache-cleaned");
            let cached = find_session(url_token.as_ref()).await;
            crate::perf::mark("cache-found");
            let token = cached.as_ref().and_then(|c| c.token.clone());
            found.try_set_value(cached.map(|c| c.cache));
            token
        }
        .boxed_local()
        .shared()
    };
    let looked_up = StoredValue::new_local(lookup.clone());
    // Started now, whoever awaits it first.
    leptos::task::spawn_local(lookup.clone().map(drop));
    // Verifies a token, unless the shell already did (`pre`).
    let verify = Action::new_local(move |(t, pre): &(JoinToken, Option<Arc<Session>>)| {
        let (t, pre) = (t.clone(), pre.clone());
        async move {
            stored_ready.try_set(false);
            let resumed_now = resumed.get_value();
            // A first visit doesn't wait for the cache: its own comes later.
            let verified = if let Some(s) = pre {
                Ok(Arc::unwrap_or_clone(s))
            } else if resumed_now {
                futures::join!(verify_resumed(t, true), looked_up.get_value()).0
            } else {
                verify_resumed(t, false).await
            };
            crate::perf::mark("verified");
            let session = match verified {
                Ok(s) => {
                    // A new session in this tab: the old goodbye is moot.
                    forget_farewell();
                    logout_url.set_value(s.join.logout_url.clone());
                    Arc::new(s)
                }
                Err(e) => {
                    if is_final(&e) {
                        // Ended, blocked or forgotten: nothing to resume.
                        leptos::task::spawn_local(async move {
                            looked_up.get_value().await;
                            forget_found(found.try_update_value(Option::take).flatten()).await;
                        });
                    }
                    return Err(e);
                }
            };
            // The session's cache opens while the pre-join page shows (a
            // person takes longer than that to press Join); a reload,
            // going straight back into the room, waits for it.
            let open = {
                let session = session.clone();
                async move {
                    let ready = match prepared.try_update_value(Option::take).flatten() {
                        Some(rx) => rx.await.ok(),
                        None => None,
                    };
                    let ready = match ready {
                        Some(s) => s,
                        None => {
                            looked_up.get_value().await;
                            let cache = found.try_update_value(Option::take).flatten();
                            open_for(&session, cache).await
                        }
                    };
                    stored.try_set_value(Some(ready));
                    // The room has the session now: a reload resumes it
                    // from the cache (or, without IndexedDB, can't).
                    forget_prejoin();
                    stored_ready.try_set(true);
                }
            };
            if resumed_now {
                open.await;
            } else {
                leptos::task::spawn_local(open);
            }
            Ok::<_, JoinError>(session)
        }
    });
    // Startup: the link's token if it is still valid (verified while the
    // lookup runs), else the cached session's token (renewed if need be).
    wasm_bindgen_futures::spawn_local(async move {
        let now = js_sys::Date::now() / 1000.0;
        if let (Some(u), Some(s)) = (url_token.clone(), handed) {
            tokens.set(u.clone());
            has_token.try_set(true);
            verify.dispatch_local((u, Some(s)));
            started.try_set(true);
            return;
        }
        if let Some(u) = url_token.clone().filter(|u| still_valid(u, now)) {
            tokens.set(u.clone());
            has_token.try_set(true);
            verify.dispatch_local((u, None));
            started.try_set(true);
            return;
        }
        let cached = lookup.await;
        let now = js_sys::Date::now() / 1000.0;
        let chosen = match (url_token, cached) {
            (Some(u), _) if still_valid(&u, now) => Some(u),
            (_, Some(c)) => {
                resumed.set_value(true);
                if still_valid(&c, now) {
                    Some(c)
                } else {
                    Some(renew_token_http(&c).await.unwrap_or(c))
                }
            }
            (u, None) => u,
        };
        if let Some(t) = chosen {
            tokens.set(t.clone());
            has_token.try_set(true);
            verify.dispatch_local((t, None));
        }
        started.try_set(true);
    });
    let retry = Callback::new(move |()| {
        fatal.set(None);
        if let Some(t) = tokens.get() {
            verify.dispatch_local((t, None));
        }
    });
    // "Use this tab instead": verified with the take-over, then joined
    // as any verified session; a refusal shows as usual.
    let taking_over = RwSignal::new(false);
    let take_over = Callback::new(move |()| {
        let Some(t) = tokens.get() else {
            return;
        };
        fatal.set(None);
        taking_over.set(true);
        leptos::task::spawn_local(async move {
            match verify_token_taking_over(t.clone()).await {
                Ok(s) => {
                    verify.dispatch_local((t, Some(Arc::new(s))));
                }
                Err(e) => {
                    fatal.try_set(Some((&e).into()));
                }
            }
            taking_over.try_set(false);
        });
    });
    // Refused by the real-time service: the server's verification says
    // why in words the user can act on (most often "already in this
    // meeting in another tab", when the meeting was taken elsewhere while
    // this tab was away, offering "Use this tab instead").
    let on_fatal = Callback::new(move |e: PageError| {
        let refused = e == PageError::connection_failed(ConnFailure::NotAuthorized);
        let Some(t) = tokens.get().filter(|_| refused) else {
            fatal.set(Some(e));
            return;
        };
        leptos::task::spawn_local(async move {
            // Asked as the tab that was refused (the server knows it by
            // that id), then forgotten: the server refuses that id from
            // now on, and coming back here is a new tab's choice.
            let why = refused_for_good_why(t).await;
            crate::util::new_tab_id();
            fatal.try_set(Some(why.map_or(e, |why| PageError::from(&why))));
        });
    });
    let on_over = Callback::new(move |g: Goodbye| {
        if over.with_untracked(Option::is_none) {
            let f = Farewell::new(g, tokens.get().as_ref(), logout_url.get_value());
            remember_farewell(&f);
            farewell.set_value(Some(f));
        }
        on_session_over(g, over)
    });

    // -- derived -- //
    let page = Memo::new(move |_| {
        if let Some(g) = over.get() {
            return Page::Over(g);
        }
        if let Some(e) = fatal.get() {
            return Page::Error(e);
        }
        if taking_over.get() {
            return Page::Checking;
        }
        if !started.get() {
            return Page::Checking;
        }
        if !has_token.get() {
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
        Page::Checking => {
            view! { <LoadingPage message=t_string!(i18n, app.checking) /> }.into_any()
        }
        Page::Error(error) => {
            view! { <ErrorPage error=error on_retry=retry on_take_over=take_over /> }.into_any()
        }
        Page::Joined(session) => {
            let resumed = resumed.get_value();
            // Only the first session: a retried one shows the pre-join page.
            let prejoined = prejoined.try_update_value(Option::take).flatten();
            view! {
                <KeyGate
                    session=session
                    stored=stored
                    stored_ready=stored_ready.read_only()
                    resumed=resumed
                    prejoined=prejoined
                    on_fatal=on_fatal
                    on_over=on_over
                />
            }
            .into_any()
        }
        Page::Over(goodbye) => {
            let f = farewell
                .get_value()
                .unwrap_or_else(|| Farewell::new(goodbye, None, None));
            let t = transcript.get_value();
            view! { <GoodbyePage farewell=f transcript=t /> }.into_any()
        }
    }
}
