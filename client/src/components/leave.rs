//! The Leave button, the same in the room and the waiting room.

use leptos::prelude::*;

use quorum_shared::worker::WorkerRequest;

use crate::components::dialog::ConfirmDialog;
use crate::components::icons::{Icon, IconName};
use crate::components::participant_menu::run_action;
use crate::i18n::{t, t_string, use_i18n};
use crate::state::goodbye::Goodbye;
use crate::state::moderation::use_moderation_opt;
use crate::state::session::use_session_end;
use crate::state::toasts::use_toasts_opt;

/// `<button id="leave">`: ends our session for good (the session cache is
/// deleted, then the goodbye page shows). A door and "Leave"; on a phone
/// the room's header shows the door alone, and the word stays the name.
///
/// It asks first: a moderator whether to leave or end the meeting for
/// everyone, anyone else whether to leave (a click too many is cheaper
/// than a meeting left by accident).
#[component]
pub fn LeaveButton() -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let end = use_session_end();
    let moderation = use_moderation_opt();
    let toasts = use_toasts_opt();
    let asking = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let is_admin = move || moderation.is_some_and(|m| m.is_admin().get());
    let on_click = move |_| {
        if is_admin() {
            asking.set(true);
        } else {
            confirming.set(true);
        }
    };
    let end_for_all = Callback::new(move |_| {
        if let (Some(m), Some(t)) = (moderation, toasts) {
            run_action(m, t, WorkerRequest::EndRoom, locale);
        }
    });
    view! {
        <button id="leave" type="button" class="btn btn-danger" on:click=on_click>
            <Icon name=IconName::Leave />
            <span class="btn-label">{t!(i18n, leave.leave)}</span>
        </button>
        <ConfirmDialog
            open=asking
            id="leave-dialog"
            title=Signal::derive(move || t_string!(i18n, leave.title).to_string())
            body=Signal::derive(move || t_string!(i18n, leave.body).to_string())
            confirm_label=Signal::derive(move || t_string!(i18n, leave.end_for_everyone).to_string())
            on_confirm=end_for_all
            secondary_label=Signal::derive(move || t_string!(i18n, leave.leave).to_string())
            on_secondary=Callback::new(move |_| end.end(Goodbye::left()))
        />
        <ConfirmDialog
            open=confirming
            id="leave-confirm"
            title=Signal::derive(move || t_string!(i18n, leave.confirm_title).to_string())
            body=Signal::derive(move || t_string!(i18n, leave.confirm_body).to_string())
            confirm_label=Signal::derive(move || t_string!(i18n, leave.leave).to_string())
            on_confirm=Callback::new(move |_| end.end(Goodbye::left()))
        />
    }
}
