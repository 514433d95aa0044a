//! The meeting's time left, in the header, when it has a `room_duration`:
//! a countdown, and a notice at 10 minutes and at 1 minute (each once; one
//! joining later than that hears only what still applies).

use std::time::Duration;

use leptos::prelude::*;
use quorum_shared::events::NotificationType;

pub use quorum_client_core::countdown::{format_left, warning_due};

use crate::i18n::{t_string, td_string, use_i18n};
use crate::state::notices::use_notices;
use crate::state::session::use_session;
use crate::state::toasts::{use_toasts, Toast};

/// `<span id="countdown" role="timer">` while the meeting has an end.
#[component]
pub fn Countdown() -> impl IntoView {
    let i18n = use_i18n();
    let ends_at = use_session().join.ends_at?;
    let (toasts, notices) = (use_toasts(), use_notices());
    let now = || (js_sys::Date::now() / 1000.0) as i64;
    let left = RwSignal::new(ends_at - now());
    let given = StoredValue::new(None::<u32>);
    let warn = move |left: i64| {
        let Some(minutes) = warning_due(left, given.get_value()) else {
            return;
        };
        given.set_value(Some(minutes));
        let locale = i18n.get_locale_untracked();
        let text = if minutes == 1 {
            td_string!(locale, countdown.one_minute).to_string()
        } else {
            td_string!(locale, countdown.minutes_left, minutes)
        };
        let toast = Toast {
            id: format!("countdown-{minutes}"),
            text,
            kind: NotificationType::Warning,
            with_sound: true,
        };
        if notices.record(&toast, js_sys::Date::now() as u64) {
            toasts.show(toast);
        }
    };
    warn(left.get_untracked());
    // One timer for the one countdown, gone with the header.
    let tick = set_interval_with_handle(
        move || {
            let l = ends_at - now();
            left.try_set(l);
            warn(l);
        },
        Duration::from_secs(1),
    )
    .ok();
    on_cleanup(move || {
        if let Some(t) = tick {
            t.clear();
        }
    });
    Some(view! {
        <span
            id="countdown"
            class="badge countdown"
            class:soon=move || left.get() <= 600
            role="timer"
            aria-label=move || t_string!(i18n, countdown.label)
            data-left=move || left.get().max(0).to_string()
        >
            {move || format_left(left.get())}
        </span>
    })
}
