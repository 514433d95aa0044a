//! The page before the room: which meeting this is, its welcome message,
//! who you will be, whether you will wait to be let in, and a Join button.
//! Nothing connects until Join (so nobody shows as present while still
//! reading this). Where the server has media, the microphone and camera
//! are picked and previewed here (`components/devices.rs`).

use leptos::prelude::*;

use crate::api::fetch_config;
use crate::components::devices::DevicePicker;
use crate::components::icons::{Icon, IconName};
use crate::i18n::{t, use_i18n};
use crate::join::Session;
use crate::state::media::MediaChoices;

/// `<main id="prejoin-page">`; `on_join` runs on Join, with the
/// microphone and camera chosen where the server has media.
#[component]
pub fn PrejoinPage(
    session: std::sync::Arc<Session>,
    on_join: Callback<Option<MediaChoices>>,
) -> impl IntoView {
    let i18n = use_i18n();
    crate::perf::mark("prejoin");
    let join = &session.join;
    let (title, name) = (join.room_title.clone(), join.name.clone());
    let welcome = join.welcome_message.clone();
    let waiting = join.waiting_room;
    let moderator = join.is_admin;
    let join_button = NodeRef::<leptos::html::Button>::new();
    // Devices only where there is media to use them for.
    let media = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        if fetch_config().await.is_some_and(|c| c.media) {
            media.try_set(true);
        }
    });
    let choices = RwSignal::new(MediaChoices::default());
    // The main action takes the focus, so Enter joins.
    Effect::new(move || {
        if let Some(b) = join_button.get() {
            let _ = b.focus();
        }
    });
    view! {
        <main id="prejoin-page" class="page page-center">
            <div class="card prejoin-card">
                <h1 id="prejoin-title" class="prejoin-title">{title}</h1>
                {welcome.map(|w| view! { <p id="welcome-message" class="welcome-message">{w}</p> })}
                <dl class="prejoin-facts">
                    <dt>{t!(i18n, prejoin.you_join_as)}</dt>
                    <dd id="prejoin-name">
                        <Icon name=IconName::User />
                        {name}
                        {moderator
                            .then(|| {
                                view! {
                                    <span class="badge badge-moderator">
                                        {t!(i18n, prejoin.moderator)}
                                    </span>
                                }
                            })}
                    </dd>
                </dl>
                {waiting
                    .then(|| {
                        view! {
                            <p id="prejoin-waiting" class="notice">
                                {t!(i18n, prejoin.waiting)}
                            </p>
                        }
                    })}
                <Show when=move || media.get()>
                    <DevicePicker choices=choices />
                </Show>
                <button
                    id="join-button"
                    type="button"
                    class="btn btn-primary btn-large"
                    node_ref=join_button
                    on:click=move |_| {
                        crate::perf::mark("join");
                        on_join.run(media.get_untracked().then(|| choices.get_untracked()))
                    }
                >
                    {t!(i18n, prejoin.join)}
                </button>
            </div>
        </main>
    }
}
