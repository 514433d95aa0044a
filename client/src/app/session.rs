//! What lives as long as one verified session: the key prompt and the
//! pre-join page in front of it ([`KeyGate`]), then the session itself
//! (`JoinedSession`: its contexts, its connection and its pages).

use std::sync::Arc;

use leptos::prelude::*;

use crate::crypto::RoomKey;
use crate::i18n::{t_string, use_i18n};
use crate::join::Session;
use crate::nats::{is_auth_violation, ConnState};
use crate::pages::error::PageError;
use crate::pages::goodbye::Goodbye;
use crate::pages::key_prompt::KeyPromptPage;
use crate::pages::loading::LoadingPage;
use crate::pages::prejoin::PrejoinPage;
use crate::pages::room::RoomPage;
use crate::pages::waiting::WaitingPage;
use crate::state::media::{MediaChoices, MediaChoicesContext};
use crate::state::persist::{forget, forget_pointer, Stored};
use crate::state::session::provide_session_state;
use crate::state::token::use_token;

/// In a self-key E2EE room, asks for the meeting key before anything
/// connects; then the pre-join page (skipped when a reload resumes a
/// session), then the session itself.
#[component]
pub fn KeyGate(
    session: Arc<Session>,
    stored: StoredValue<Option<Stored>, LocalStorage>,
    /// Whether `stored` is there (the cache opens while the pre-join page
    /// shows).
    stored_ready: ReadSignal<bool>,
    /// A reload of a session already joined: straight back in.
    resumed: bool,
    /// Join was pressed on the shell's pre-join page, with these choices.
    prejoined: Option<Option<MediaChoices>>,
    on_fatal: Callback<PageError>,
    on_over: Callback<Goodbye>,
) -> impl IntoView {
    let i18n = use_i18n();
    let key = RwSignal::new_local(None::<RoomKey>);
    let ask = session.join.e2ee_self_key;
    let asking = Memo::new(move |_| ask && key.with(Option::is_none));
    let joined = RwSignal::new(resumed || prejoined.is_some());
    // What the pre-join page chose; the session keeps it (or restores it).
    let media_choices = MediaChoicesContext(RwSignal::new(prejoined.flatten()));
    provide_context(media_choices);
    move || {
        if !joined.get() {
            let session = session.clone();
            let on_join = Callback::new(move |choices: Option<MediaChoices>| {
                if let Some(c) = choices {
                    media_choices.0.set(Some(c));
                }
                joined.set(true);
            });
            view! { <PrejoinPage session=session on_join=on_join /> }.into_any()
        } else if asking.get() {
            let join = &session.join;
            view! {
                <KeyPromptPage
                    room_title=join.room_title.clone()
                    room_sid=join.room_sid.clone()
                    on_key=move |k| key.set(Some(k))
                />
            }
            .into_any()
        } else if !stored_ready.get() {
            view! { <LoadingPage message=t_string!(i18n, app.checking) /> }.into_any()
        } else {
            let session = session.clone();
            let key = key.get_untracked();
            let stored = stored
                .try_update_value(Option::take)
                .flatten()
                .unwrap_or_default();
            view! {
                <JoinedSession session=session key=key stored=stored on_fatal=on_fatal on_over=on_over />
            }
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
    stored: Stored,
    on_fatal: Callback<PageError>,
    on_over: Callback<Goodbye>,
) -> impl IntoView {
    // Leaving, removal or the end: the cache goes before the goodbye shows.
    let (sid, user) = (
        session.join.room_sid.clone(),
        session.join.user_id.to_string(),
    );
    let over_then = Callback::new(move |g: Goodbye| {
        let (sid, user) = (sid.clone(), user.clone());
        wasm_bindgen_futures::spawn_local(async move {
            if g == Goodbye::Moved {
                forget_pointer();
            } else {
                forget(&sid, &user).await;
            }
            on_over.run(g);
        });
    });
    crate::perf::mark("joining");
    let nats = provide_session_state(session, key, stored, over_then).nats;
    // A reconnect refused after being in: the server's verification says
    // whether there is no point retrying (the meeting was taken to another
    // tab while this one was away and missed being told, it ended, or the
    // user was blocked), and then the page says so at once. Otherwise the
    // connection keeps retrying (the auth service catching up after a
    // restart). One question at a time.
    let token = use_token();
    let asking = StoredValue::new(false);
    let conn_state = nats.state();
    nats.on_error(move |text| {
        if !is_auth_violation(&text) || asking.get_value() {
            return;
        }
        let Some(t) = token.and_then(|c| c.get()) else {
            return;
        };
        asking.set_value(true);
        leptos::task::spawn_local(async move {
            let why = super::refusals::refused_for_good_why(t).await;
            // Back in meanwhile (the refusal was passing): nothing to say.
            let back = conn_state.try_get_untracked() != Some(ConnState::Reconnecting);
            match why {
                Some(e) if !back => {
                    nats.close();
                    // The server refuses this tab's id now; coming back
                    // here is a new tab's choice.
                    crate::util::new_tab_id();
                    on_fatal.run(PageError::from(&e));
                }
                _ => {
                    asking.try_set_value(false);
                }
            }
        });
    });
    let state = nats.state();
    let waiting = nats.waiting();
    Effect::new(move || {
        if state.get() == ConnState::Connected {
            crate::perf::mark("connected");
        }
    });

    // -- effects -- //
    Effect::new(move || {
        if let ConnState::Failed(why) = state.get() {
            on_fatal.run(PageError::connection_failed(why));
        }
    });

    // -- derived -- //
    // The room appears once the first attempt has an outcome and then
    // stays; later trouble is shown by the badge, not by leaving the room.
    let entered = Memo::new(move |prev: Option<&bool>| {
        prev.copied().unwrap_or(false)
            || matches!(state.get(), ConnState::Connected | ConnState::Reconnecting)
    });

    let i18n = use_i18n();
    move || match (entered.get(), waiting.get()) {
        (false, _) => view! { <LoadingPage message=t_string!(i18n, conn.connecting) /> }.into_any(),
        (true, true) => view! { <WaitingPage /> }.into_any(),
        (true, false) => view! { <RoomPage /> }.into_any(),
    }
}
