//! The toast region: notifications that dismiss themselves after a while
//! (paused while hovered or focused) or with their close button.

use std::sync::Arc;
use std::time::Duration;

use leptos::html::Div;
use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::components::kept_rows::keep_rows;
use crate::i18n::{t_string, use_i18n};
use crate::state::toasts::{use_toasts, Toast, ToastQueue, TOAST_TTL};
use quorum_shared::events::NotificationType;

/// The session's toasts, from context.
#[component]
pub fn Toasts() -> impl IntoView {
    let toasts = use_toasts();
    let on_dismiss = Callback::new(move |id: String| toasts.dismiss(&id));
    view! { <ToastRegion toasts=toasts.queue() on_dismiss=on_dismiss /> }
}

/// `<div id="toasts" aria-live="polite">`, present even when empty so that
/// screen readers announce what appears in it.
#[component]
pub fn ToastRegion(
    #[prop(into)] toasts: Signal<ToastQueue>,
    /// Called with a toast's id when it times out or is closed.
    on_dismiss: Callback<String>,
    /// How long each toast stays up.
    #[prop(default = TOAST_TTL)]
    ttl: Duration,
) -> impl IntoView {
    let region = NodeRef::<Div>::new();
    // Toasts that stay are never moved as others come and go (see
    // `kept_rows`): a moved one would be read out again, and would lose
    // the focus on its close button.
    keep_rows(
        region,
        move || toasts.with(|q| q.toasts().cloned().collect::<Vec<_>>()),
        |t| t.id.clone(),
        move |t| view! { <ToastItem toast=t ttl=ttl on_dismiss=on_dismiss /> }.into_any(),
    );
    view! {
        // A live region needs no name, and a plain <div> may not have one.
        <div id="toasts" class="toasts" aria-live="polite" node_ref=region></div>
    }
}

/// The icon for a kind of notification: its kind is never told by colour
/// alone.
fn kind_icon(kind: NotificationType) -> impl IntoView {
    let name = match kind {
        NotificationType::Info => IconName::Bell,
        NotificationType::Success => IconName::Check,
        NotificationType::Warning => IconName::Warning,
        NotificationType::Error => IconName::XCircle,
    };
    view! { <Icon name=name /> }
}

/// The word for a kind of notification, in the app's language.
fn kind_word(kind: NotificationType) -> impl IntoView {
    let i18n = use_i18n();
    move || match kind {
        NotificationType::Info => t_string!(i18n, notices.kind_info),
        NotificationType::Success => t_string!(i18n, notices.kind_success),
        NotificationType::Warning => t_string!(i18n, notices.kind_warning),
        NotificationType::Error => t_string!(i18n, notices.kind_error),
    }
}

/// One `<div class="toast toast-{kind}">` with its own timer, cleared when
/// it goes away.
#[component]
fn ToastItem(toast: Arc<Toast>, ttl: Duration, on_dismiss: Callback<String>) -> impl IntoView {
    // -- signals -- //
    let i18n = use_i18n();
    let id = StoredValue::new(toast.id.clone());
    let timer = StoredValue::new(None::<TimeoutHandle>);
    // Hovered, focused: either one holds the toast up.
    let held = StoredValue::new((false, false));

    // -- actions -- //
    let disarm = move || {
        if let Some(h) = timer.try_get_value().flatten() {
            h.clear();
        }
        timer.try_set_value(None);
    };
    let arm = move || {
        disarm();
        let handle = set_timeout_with_handle(
            move || {
                timer.try_set_value(None);
                if let Some(id) = id.try_get_value() {
                    on_dismiss.run(id);
                }
            },
            ttl,
        );
        timer.try_set_value(handle.ok());
    };
    let hold = move |hover: Option<bool>, focus: Option<bool>| {
        let (h, f) = held.get_value();
        let now = (hover.unwrap_or(h), focus.unwrap_or(f));
        held.set_value(now);
        if now == (false, false) {
            arm();
        } else {
            disarm();
        }
    };
    arm();
    on_cleanup(disarm);

    view! {
        <div
            class=toast.class()
            data-id=toast.id.clone()
            on:mouseenter=move |_| hold(Some(true), None)
            on:mouseleave=move |_| hold(Some(false), None)
            on:focusin=move |_| hold(None, Some(true))
            on:focusout=move |_| hold(None, Some(false))
        >
            <p class="toast-text">
                <span class="toast-kind">{kind_icon(toast.kind)} {kind_word(toast.kind)}</span>
                " "
                {toast.text.clone()}
            </p>
            <button
                type="button"
                class="toast-close"
                aria-label=move || t_string!(i18n, notices.dismiss)
                on:click=move |_| on_dismiss.run(id.get_value())
            >
                <Icon name=IconName::Close />
            </button>
        </div>
    }
}
