//! The room's media controls: a banner when audio and video are
//! unavailable (and why), and the bar of our own microphone, camera and
//! screen share with the device menu. The tiles are in `tiles.rs`. Shown
//! only where the server has media.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::devices::device_options;
use crate::components::icons::{Icon, IconName};
use crate::i18n::{t, t_string, td_string, use_i18n};
use crate::state::media::{use_media, MediaContext, MediaStatus};
use crate::state::toasts::{use_toasts, Toast};
use crate::util::random_id;
use quorum_shared::events::NotificationType;

/// `<div id="media-banner" role="status">`: why there is no audio or
/// video now, and when the next attempt is.
#[component]
pub fn MediaBanner() -> impl IntoView {
    let i18n = use_i18n();
    let Some(media) = use_media() else {
        return ().into_any();
    };
    let status = media.status();
    let text = move || match status.get() {
        MediaStatus::Unavailable { why, retry_secs } => Some(
            t_string!(
                i18n,
                media.unavailable,
                why = why.as_str(),
                secs = retry_secs
            )
            .to_string(),
        ),
        MediaStatus::Reconnecting => Some(t_string!(i18n, media.reconnecting).to_string()),
        _ => None,
    };
    view! {
        <div id="media-banner" class="media-banner" role="status">
            {move || {
                text()
                    .map(|t| {
                        view! {
                            <p class="media-banner-text" data-state=state_key(&status.get())>
                                <Icon name=IconName::Warning />
                                {t}
                            </p>
                        }
                    })
            }}
        </div>
    }
    .into_any()
}

/// `<section id="media-unsupported">`: in an E2EE room, a browser that
/// can't encrypt media gets none, and this says so in place of the
/// video, with what to do; the rest of the meeting goes on beside it.
#[component]
pub fn MediaUnsupported() -> impl IntoView {
    let i18n = use_i18n();
    let Some(media) = use_media() else {
        return ().into_any();
    };
    let shown = move || media.status().with(|s| *s == MediaStatus::Unsupported);
    view! {
        <Show when=shown>
            <section
                id="media-unsupported"
                class="media-unsupported"
                role="alert"
                aria-labelledby="media-unsupported-title"
            >
                <Icon name=IconName::Lock />
                <h2 id="media-unsupported-title">{t!(i18n, media.unsupported_title)}</h2>
                <p>{t!(i18n, media.unsupported)}</p>
            </section>
        </Show>
    }
    .into_any()
}

/// The status as the page's `data-media` names it.
pub fn state_key(s: &MediaStatus) -> &'static str {
    match s {
        MediaStatus::Asking => "asking",
        MediaStatus::Off => "off",
        MediaStatus::Starting => "starting",
        MediaStatus::Connected => "connected",
        MediaStatus::Reconnecting => "reconnecting",
        MediaStatus::Unavailable { .. } => "unavailable",
        MediaStatus::Unsupported => "unsupported",
    }
}

/// One toggle of the media bar: `microphone`, `camera` or `screen_share`.
#[component]
fn Toggle(media: MediaContext, source: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    // Its state, icons (on, off) and keyboard shortcut.
    let (on, icon_on, icon_off, keys) = match source {
        "microphone" => (
            media.microphone(),
            IconName::Mic,
            IconName::MicOff,
            Some("Control+D"),
        ),
        "camera" => (
            media.camera(),
            IconName::Camera,
            IconName::Camera,
            Some("Control+E"),
        ),
        _ => (media.screen(), IconName::Screen, IconName::Screen, None),
    };
    let label = move || match source {
        "microphone" => t_string!(i18n, media.microphone).to_string(),
        "camera" => t_string!(i18n, media.camera).to_string(),
        _ => t_string!(i18n, media.screen).to_string(),
    };
    let toasts = use_toasts();
    let connected = Signal::derive(move || media.status().get() == MediaStatus::Connected);
    let busy = RwSignal::new(false);
    let click = move |_| {
        let want = !on.get_untracked();
        busy.set(true);
        let locale = i18n.get_locale_untracked();
        spawn_local(async move {
            if let Err(e) = media.set(source, want).await {
                toasts.show(Toast {
                    id: random_id(),
                    text: td_string!(locale, media.failed, why = e.0.as_str()).to_string(),
                    kind: NotificationType::Error,
                    with_sound: false,
                });
            }
            busy.try_set(false);
        });
    };
    view! {
        <button
            id=format!("media-{source}")
            class="btn btn-icon media-toggle"
            class:on=move || on.get()
            aria-pressed=move || if on.get() { "true" } else { "false" }
            aria-label=label
            aria-keyshortcuts=keys
            title=label
            disabled=move || !connected.get() || busy.get()
            on:click=click
        >
            {move || {
                let name = if on.get() { icon_on } else { icon_off };
                view! { <Icon name=name /> }
            }}
        </button>
    }
}

/// `<div id="media-bar">`: our microphone, camera and screen share, each
/// a toggle button with its state (`aria-pressed`). Shown once the server
/// has media.
#[component]
pub fn MediaBar() -> impl IntoView {
    let i18n = use_i18n();
    let Some(media) = use_media() else {
        return ().into_any();
    };
    let status = media.status();
    let shown = move || {
        status.with(|s| {
            !matches!(
                s,
                MediaStatus::Off | MediaStatus::Asking | MediaStatus::Unsupported
            )
        })
    };
    // Ctrl+D and Ctrl+E (⌘ on a Mac) toggle the microphone and the camera,
    // as in other meeting apps: the same as clicking the button.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if !(ev.ctrl_key() || ev.meta_key()) || ev.alt_key() || ev.shift_key() {
            return;
        }
        let id = match ev.key().to_ascii_lowercase().as_str() {
            "d" => "media-microphone",
            "e" => "media-camera",
            _ => return,
        };
        let button = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
        if let Some(b) = button {
            ev.prevent_default();
            b.click();
        }
    });
    on_cleanup(move || keys.remove());
    view! {
        <Show when=shown>
            <div
                id="media-bar"
                class="media-bar"
                role="toolbar"
                aria-label=move || t_string!(i18n, media.bar)
                data-state=move || state_key(&status.get())
            >
                <Toggle media=media source="microphone" />
                <Toggle media=media source="camera" />
                <Toggle media=media source="screen_share" />
                <DeviceMenu media=media />
                <MyQuality media=media />
            </div>
        </Show>
    }
    .into_any()
}

/// `<button id="media-devices">` and its panel: which microphone and
/// camera to use, switched live. Escape closes it and returns the focus.
#[component]
fn DeviceMenu(media: MediaContext) -> impl IntoView {
    let i18n = use_i18n();
    let toasts = use_toasts();
    let open = RwSignal::new(false);
    let mics = RwSignal::new(Vec::<(String, String)>::new());
    let cams = RwSignal::new(Vec::<(String, String)>::new());
    let button = NodeRef::<leptos::html::Button>::new();
    let connected = Signal::derive(move || media.status().get() == MediaStatus::Connected);
    let toggle = move |_| {
        let now = !open.get_untracked();
        open.set(now);
        if now {
            spawn_local(async move {
                mics.try_set(media.devices("audioinput").await);
                cams.try_set(media.devices("videoinput").await);
            });
        }
    };
    let close = move || {
        open.set(false);
        if let Some(b) = button.get_untracked() {
            let _ = b.focus();
        }
    };
    let switch = move |kind: &'static str| {
        move |ev: leptos::ev::Event| {
            let id = event_target_value(&ev);
            let locale = i18n.get_locale_untracked();
            spawn_local(async move {
                if let Err(e) = media.switch_device(kind, id).await {
                    toasts.show(Toast {
                        id: random_id(),
                        text: td_string!(locale, media.failed, why = e.0.as_str()).to_string(),
                        kind: NotificationType::Error,
                        with_sound: false,
                    });
                }
            });
        }
    };
    let options = move |kind: &'static str, list: RwSignal<Vec<(String, String)>>| {
        move || device_options(kind, media.chosen(kind), list.get())
    };
    view! {
        <button
            id="media-devices"
            class="btn btn-icon"
            aria-haspopup="true"
            aria-expanded=move || if open.get() { "true" } else { "false" }
            aria-controls="media-devices-panel"
            aria-label=move || t_string!(i18n, media.devices)
            title=move || t_string!(i18n, media.devices)
            disabled=move || !connected.get()
            node_ref=button
            on:click=toggle
        >
            <Icon name=IconName::Sliders />
        </button>
        <div
            id="media-devices-panel"
            class="media-devices-panel"
            hidden=move || !open.get()
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    close();
                }
            }
        >
            <label for="media-microphone-select">{t!(i18n, devices.microphone)}</label>
            <select id="media-microphone-select" on:change=switch("audioinput")>
                {options("audioinput", mics)}
            </select>
            <label for="media-camera-select">{t!(i18n, devices.camera)}</label>
            <select id="media-camera-select" on:change=switch("videoinput")>
                {options("videoinput", cams)}
            </select>
        </div>
    }
}

/// Our own connection, when LiveKit says it is poor.
#[component]
fn MyQuality(media: MediaContext) -> impl IntoView {
    let i18n = use_i18n();
    let quality = media.my_quality();
    let poor = move || matches!(quality.get().as_deref(), Some("poor" | "lost"));
    view! {
        <span id="media-quality" class="media-quality" role="status">
            <Show when=poor>
                <Icon name=IconName::Warning />
                <span>{t!(i18n, media.my_poor)}</span>
            </Show>
        </span>
    }
}
