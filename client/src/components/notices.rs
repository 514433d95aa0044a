//! The notification centre in the room header: a bell with the unread
//! count that opens a panel listing this session's notifications, newest
//! first. Opening it marks them read; Escape or the bell closes it. The
//! panel also turns the notification beep on or off.

use std::sync::Arc;

use leptos::ev::KeyboardEvent;
use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::i18n::{t, t_string, use_i18n};
use crate::state::notices::{use_notices, Notice, NoticeLog};
use crate::util::{format_hhmm, iso_time};

/// The session's notification centre, from context.
#[component]
pub fn Notices() -> impl IntoView {
    let notices = use_notices();
    view! {
        <NoticeCentre
            log=notices.log()
            sound=notices.sound()
            on_open=Callback::new(move |()| notices.mark_all_read())
            on_clear=Callback::new(move |()| notices.clear())
            on_sound=Callback::new(move |on| notices.set_sound(on))
        />
    }
}

/// `<div id="notices">`: the bell `#notices-toggle` (with `#notices-unread`
/// while something is unread) and the panel `#notices-panel`.
#[component]
pub fn NoticeCentre(
    #[prop(into)] log: Signal<NoticeLog>,
    /// Whether notifications beep.
    #[prop(into)]
    sound: Signal<bool>,
    /// The panel was opened.
    on_open: Callback<()>,
    /// "Clear all" was pressed.
    on_clear: Callback<()>,
    /// The "Sound" box was changed.
    on_sound: Callback<bool>,
) -> impl IntoView {
    // -- signals -- //
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let unread = Signal::derive(move || log.with(NoticeLog::unread));
    let toggle_ref = NodeRef::<leptos::html::Button>::new();

    // -- actions -- //
    let close = move || {
        open.set(false);
        if let Some(b) = toggle_ref.get_untracked() {
            let _ = b.focus();
        }
    };
    let toggle = move |_| open.update(|o| *o = !*o);
    let on_key = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" && open.get_untracked() {
            ev.prevent_default();
            close();
        }
    };
    // A press anywhere outside the bell and its panel closes it (the
    // focus stays where the press put it).
    let outside = window_event_listener(leptos::ev::pointerdown, move |ev| {
        if !open.get_untracked() {
            return;
        }
        let inside = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_some_and(|el| el.closest("#notices").ok().flatten().is_some());
        if !inside {
            open.set(false);
        }
    });
    on_cleanup(move || outside.remove());
    // Opening reads everything, and what arrives while it is open is read
    // at once.
    Effect::new(move |_| {
        if open.get() && unread.get() > 0 {
            on_open.run(());
        }
    });
    let label = move || match unread.get() {
        0 => t_string!(i18n, notices.title).to_string(),
        1 => t_string!(i18n, notices.unread_one).to_string(),
        n => t_string!(i18n, notices.unread_many, count = n),
    };

    view! {
        <div id="notices" class="notices" on:keydown=on_key>
            <button
                id="notices-toggle"
                type="button"
                class="btn notices-toggle"
                aria-controls="notices-panel"
                aria-expanded=move || open.get().to_string()
                aria-label=label
                title=move || t_string!(i18n, notices.title)
                node_ref=toggle_ref
                on:click=toggle
            >
                <span class="bell">
                    <Icon name=IconName::Bell />
                </span>
                <Show when=move || { unread.get() > 0 }>
                    <span id="notices-unread" class="notices-unread" aria-hidden="true">
                        {move || unread.get()}
                    </span>
                </Show>
            </button>
            // Always in the page (hidden while closed), so the bell's
            // aria-controls always points at it.
            <section
                id="notices-panel"
                class="notices-panel"
                aria-label=move || t_string!(i18n, notices.title)
                hidden=move || !open.get()
            >
                    <header class="notices-head">
                        <h2>{t!(i18n, notices.title)}</h2>
                        <label class="notices-sound">
                            <input
                                id="notices-sound"
                                type="checkbox"
                                prop:checked=move || sound.get()
                                on:change=move |ev| on_sound.run(event_target_checked(&ev))
                            />
                            " "
                            {t!(i18n, notices.sound)}
                        </label>
                        <button
                            id="notices-clear"
                            type="button"
                            class="btn btn-small"
                            disabled=move || log.with(NoticeLog::is_empty)
                            on:click=move |_| {
                                on_clear.run(());
                                // The button disables itself: keep the
                                // focus somewhere useful.
                                if let Some(b) = toggle_ref.get_untracked() {
                                    let _ = b.focus();
                                }
                            }
                        >
                            {t!(i18n, notices.clear_all)}
                        </button>
                    </header>
                    <Show
                        when=move || !log.with(NoticeLog::is_empty)
                        fallback=move || view! { <p class="notices-empty">{t!(i18n, notices.empty)}</p> }
                    >
                        <ul id="notices-list" class="notices-list">
                            <For
                                each=move || log.with(|l| l.newest_first().cloned().collect::<Vec<_>>())
                                key=|n| (n.id.clone(), n.read)
                                children=|n| view! { <NoticeItem notice=n /> }
                            />
                        </ul>
                    </Show>
            </section>
        </div>
    }
}

/// One `<li class="notice notice-{kind}">`, marked `unread` until seen.
#[component]
fn NoticeItem(notice: Arc<Notice>) -> impl IntoView {
    let kind = format!("{:?}", notice.kind).to_lowercase();
    view! {
        <li class=format!("notice notice-{kind}") class:unread=!notice.read data-id=notice.id.clone()>
            <time class="time" datetime=iso_time(notice.at_ms)>{format_hhmm(notice.at_ms)}</time>
            " "
            <span class="text">{notice.text.clone()}</span>
        </li>
    }
}
