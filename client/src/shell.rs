//! The first-load shell (binary `quorum-client`): the only wasm a new
//! participant downloads before the pre-join page. It takes the token
//! from the link, verifies it and shows the pre-join page; meanwhile the
//! room module (binary `quorum-room`: NATS, chat, moderation, media, the
//! session cache) loads in the background and takes over on Join
//! ([`crate::handoff`]).
//!
//! Everything else (a reload of a tab already in a meeting, a link that
//! is no longer valid, no link at all) goes straight to the room module,
//! which owns resuming sessions and explaining why one can't be.
//!
//! ```text
//! Checking ──valid link──▶ verify ──ok──▶ Prejoin ──Join──▶ Entering ─▶ room module
//!    │                        └─refused─▶ Error (Retry)
//!    └─anything else──────────────────────────────────────▶ Entering ─▶ room module
//! ```

use std::cell::RefCell;
use std::sync::Arc;

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use js_sys::Promise;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::api::{verify_token, verify_token_taking_over};
use crate::handoff::{
    forget_prejoin, prejoin_token, remember_prejoin, room_module_url, Handoff, Joined,
};
use crate::i18n::{locale_from_browser, provide_i18n_context, t_string};
use crate::join::{JoinToken, Session};
use crate::pages::error::{ErrorPage, PageError};
use crate::pages::loading::LoadingPage;
use crate::pages::prejoin::PrejoinPage;
use crate::state::media::MediaChoices;
use crate::state::token::still_valid;
use crate::verify::take_token_from_location;

#[wasm_bindgen]
extern "C" {
    /// The room module's exports (`client/src/room_main.rs`).
    #[derive(Clone)]
    type RoomModule;

    /// wasm-bindgen's initialiser: fetches and instantiates the wasm.
    #[wasm_bindgen(method, catch, js_name = default)]
    fn init(this: &RoomModule) -> Result<Promise, JsValue>;

    /// Opens the session's cache behind the pre-join page (handoff JSON).
    #[wasm_bindgen(method, catch)]
    fn prepare(this: &RoomModule, handoff: &str) -> Result<(), JsValue>;

    /// Mounts the room app with the shell's handoff (JSON).
    #[wasm_bindgen(method, catch)]
    fn enter(this: &RoomModule, handoff: &str) -> Result<(), JsValue>;
}

/// The room module, loading or loaded; `Err` holds why not, for the log.
type Loading = Shared<LocalBoxFuture<'static, Result<RoomModule, String>>>;

thread_local! {
    /// The shell's mounted view, dropped (unmounted) as the room enters.
    static MOUNTED: RefCell<Option<Box<dyn std::any::Any>>> = const { RefCell::new(None) };
    /// Started once, by whichever comes first: the pre-join page or Join.
    static ROOM: RefCell<Option<Loading>> = const { RefCell::new(None) };
}

/// Which screen the shell shows.
#[derive(Clone)]
enum Stage {
    Checking,
    Error(PageError),
    Prejoin(Arc<Session>),
    Entering,
}

/// Mounts the shell on `<body>`.
pub fn start() {
    // Without the hook a panic shows up as an opaque "unreachable" trap.
    console_error_panic_hook::set_once();
    crate::perf::mark("start");
    let handle = leptos::mount::mount_to(document().body().expect("a <body>"), Shell);
    MOUNTED.with(|m| *m.borrow_mut() = Some(Box::new(handle)));
}

/// Starts loading the room module (once) and returns the shared load.
fn room() -> Loading {
    ROOM.with(|r| {
        r.borrow_mut()
            .get_or_insert_with(|| load_room().boxed_local().shared())
            .clone()
    })
}

async fn load_room() -> Result<RoomModule, String> {
    let url = room_module_url().ok_or("index.html names no room module")?;
    let why = |e: JsValue| format!("{e:?}");
    let module: RoomModule = JsFuture::from(crate::util::import_module(&url).map_err(why)?)
        .await
        .map_err(why)?
        .unchecked_into();
    JsFuture::from(module.init().map_err(why)?)
        .await
        .map_err(why)?;
    crate::perf::mark("room-loaded");
    Ok(module)
}

/// Hands over to the room module once it is there; `Err` if it could not
/// be loaded or started (then the shell stays, showing why).
async fn enter(handoff: Handoff) -> Result<(), String> {
    let module = room().await?;
    module
        .enter(&handoff.to_json())
        .map_err(|e| format!("{e:?}"))?;
    // The room has mounted its page on `<body>` in this same task, so
    // nothing was painted with both; the shell's goes now (dropped outside
    // the borrow, as unmounting runs cleanups).
    let shell = MOUNTED.with(|m| m.borrow_mut().take());
    drop(shell);
    Ok(())
}

/// A link's token to verify here, if the shell handles this start: a
/// valid one from the address bar, or the one of a pre-join page this
/// tab reloaded. `taken` is the address bar's, whatever it is.
fn token_for_prejoin(taken: Option<&JoinToken>) -> Option<JoinToken> {
    let now = js_sys::Date::now() / 1000.0;
    taken
        .cloned()
        .or_else(|| taken.is_none().then(prejoin_token).flatten())
        .filter(|t| still_valid(t, now))
}

#[component]
fn Shell() -> impl IntoView {
    let i18n = provide_i18n_context(locale_from_browser());
    // Read exactly once: it leaves the address bar right away. A new link
    // replaces whatever pre-join page this tab showed before.
    let taken = take_token_from_location();
    if taken.is_some() {
        forget_prejoin();
    }
    let stage = RwSignal::new(Stage::Checking);
    let fail_to_load = move |why: String| {
        leptos::logging::warn!("the room module did not load: {why}");
        stage.try_set(Stage::Error(PageError::Load));
    };
    // The room explains whatever the shell does not handle.
    let to_room_with = move |token: Option<&JoinToken>| Handoff {
        token: token.map(|t| t.expose().to_owned()),
        joined: None,
    };
    let go_to_room = move |handoff: Handoff| {
        stage.try_set(Stage::Entering);
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(why) = enter(handoff).await {
                fail_to_load(why);
            }
        });
    };

    // The token last verified: "Use this tab instead" asks again with it
    // (a refusal may have forgotten the pre-join token).
    let asked = StoredValue::new(None::<JoinToken>);
    // `true`: "Use this tab instead" (the user is in the meeting elsewhere).
    let verify = Action::new_local(move |(t, take_over): &(JoinToken, bool)| {
        let (t, take_over) = (t.clone(), *take_over);
        asked.set_value(Some(t.clone()));
        async move {
            let verified = if take_over {
                verify_token_taking_over(t.clone()).await
            } else {
                verify_token(t.clone()).await
            };
            match verified {
                Ok(s) => {
                    crate::perf::mark("verified");
                    remember_prejoin(&t);
                    stage.try_set(Stage::Prejoin(Arc::new(s)));
                }
                Err(e) => {
                    if !e.retryable() {
                        // Refused for good: a reload must not ask again.
                        forget_prejoin();
                    }
                    stage.try_set(Stage::Error((&e).into()));
                }
            }
        }
    });
    match token_for_prejoin(taken.as_ref()) {
        Some(t) => {
            verify.dispatch_local((t, false));
        }
        None => go_to_room(to_room_with(taken.as_ref())),
    }
    let retry = Callback::new(move |()| match stage.get_untracked() {
        // The room module failed to load: start the page over (the
        // pre-join token is kept for exactly this).
        Stage::Error(PageError::Load) => {
            let _ = window().location().reload();
        }
        _ => match token_for_prejoin(taken.as_ref()) {
            Some(t) => {
                stage.set(Stage::Checking);
                verify.dispatch_local((t, false));
            }
            // It expired while the error showed: the room says so, or
            // resumes this tab's session if there is one.
            None => go_to_room(to_room_with(taken.as_ref())),
        },
    });

    let take_over = Callback::new(move |()| {
        if let Some(t) = asked.get_value() {
            stage.set(Stage::Checking);
            verify.dispatch_local((t, true));
        }
    });

    move || match stage.get() {
        Stage::Checking => {
            view! { <LoadingPage message=t_string!(i18n, app.checking) /> }.into_any()
        }
        Stage::Entering => {
            view! { <LoadingPage message=t_string!(i18n, conn.connecting) /> }.into_any()
        }
        Stage::Error(error) => {
            view! { <ErrorPage error=error on_retry=retry on_take_over=take_over /> }.into_any()
        }
        Stage::Prejoin(session) => {
            let token = session.token.expose().to_owned();
            let join = session.join.clone();
            // A person takes longer than this to press Join: the room
            // module loads and opens the session's cache meanwhile.
            let early = Handoff {
                token: Some(token.clone()),
                joined: Some(Joined {
                    join: join.clone(),
                    choices: None,
                }),
            };
            leptos::task::spawn_local(async move {
                if let Ok(module) = room().await {
                    if let Err(e) = module.prepare(&early.to_json()) {
                        leptos::logging::warn!("the room could not prepare: {e:?}");
                    }
                }
            });
            let on_join = Callback::new(move |choices: Option<MediaChoices>| {
                go_to_room(Handoff {
                    token: Some(token.clone()),
                    joined: Some(Joined {
                        join: join.clone(),
                        choices,
                    }),
                });
            });
            view! { <PrejoinPage session=session on_join=on_join /> }.into_any()
        }
    }
}
