//! The moderator's menu for one participant (WAI-ARIA menu button): a
//! button that opens a menu of what a moderator may do to that person.
//! Arrow keys, Home and End move between items, Escape closes and returns
//! to the button, Tab leaves. Every action is the server's to allow; a
//! refusal (say, someone who just left) shows as a toast.

use leptos::html::Ul;
use leptos::prelude::*;
use quorum_shared::events::NotificationType;
use quorum_shared::ids::UserId;
use quorum_shared::worker::WorkerRequest;
use wasm_bindgen::JsCast;

use crate::components::dialog::ConfirmDialog;
use crate::components::icons::{Icon, IconName};
// Re-exported: it lived here before it had a module of its own.
pub use crate::components::locks::LockKind;
use crate::i18n::{t, t_string, td_string, use_i18n, Locale};
use crate::state::moderation::{use_moderation, ModerationContext};
use crate::state::toasts::{use_toasts, Toast, ToastContext};
use crate::util::random_id;

/// Sends a moderator's request; a refusal becomes a toast in `locale`.
pub fn run_action(
    moderation: ModerationContext,
    toasts: ToastContext,
    req: WorkerRequest,
    locale: Locale,
) {
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = moderation.send(req).await {
            toasts.show(Toast {
                id: random_id(),
                text: e.message(locale),
                kind: NotificationType::Error,
                with_sound: false,
            });
        }
    });
}

fn menu_items(menu: &web_sys::Element) -> Vec<web_sys::HtmlElement> {
    let Ok(list) = menu.query_selector_all("[role^=menuitem]") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

/// The menu button and its menu for participant `user` (moderators only;
/// not shown for ourselves).
#[component]
pub fn ParticipantMenu(
    /// Who.
    user: UserId,
    /// Their name (for labels).
    #[prop(into)]
    name: String,
    /// They are a moderator.
    is_admin: bool,
    /// Their hand is up.
    hand: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let moderation = use_moderation();
    let toasts = use_toasts();
    let id = format!("menu-{user}");
    let button_id = format!("menu-button-{user}");
    let open = RwSignal::new(false);
    let menu_ref = NodeRef::<Ul>::new();
    let button_ref = NodeRef::<leptos::html::Button>::new();
    let confirm_remove = RwSignal::new(false);
    let confirm_block = RwSignal::new(false);
    let user_key = user.to_string();
    let person = Memo::new(move |_| moderation.person(&user_key));

    // -- actions -- //
    let close = move |refocus: bool| {
        open.set(false);
        if refocus {
            if let Some(b) = button_ref.get_untracked() {
                let _ = b.focus();
            }
        }
    };
    let focus_item = move |index: isize| {
        let Some(menu) = menu_ref.get_untracked() else {
            return;
        };
        let items = menu_items(&menu);
        if items.is_empty() {
            return;
        }
        let n = items.len() as isize;
        let i = index.rem_euclid(n) as usize;
        let _ = items[i].focus();
    };
    let current = move || -> isize {
        let Some(menu) = menu_ref.get_untracked() else {
            return -1;
        };
        let active = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element());
        menu_items(&menu)
            .iter()
            .position(|e| {
                active
                    .as_ref()
                    .is_some_and(|a| a == e.unchecked_ref::<web_sys::Element>())
            })
            .map_or(-1, |p| p as isize)
    };
    let on_menu_keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "ArrowDown" => {
            ev.prevent_default();
            focus_item(current() + 1);
        }
        "ArrowUp" => {
            ev.prevent_default();
            focus_item(current() - 1);
        }
        "Home" => {
            ev.prevent_default();
            focus_item(0);
        }
        "End" => {
            ev.prevent_default();
            focus_item(-1);
        }
        "Escape" => {
            ev.prevent_default();
            close(true);
        }
        "Tab" => close(false),
        _ => {}
    };
    let open_menu = move |first: bool| {
        open.set(true);
        request_animation_frame(move || focus_item(if first { 0 } else { -1 }));
    };
    let on_button_keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "ArrowDown" | "Enter" | " " => {
            ev.prevent_default();
            open_menu(true);
        }
        "ArrowUp" => {
            ev.prevent_default();
            open_menu(false);
        }
        _ => {}
    };
    // Focus leaving the whole menu closes it.
    let on_focusout = move |ev: leptos::ev::FocusEvent| {
        let inside = ev
            .related_target()
            .and_then(|t| t.dyn_into::<web_sys::Node>().ok())
            .zip(menu_ref.get_untracked())
            .is_some_and(|(t, menu)| menu.contains(Some(&t)));
        if !inside {
            open.set(false);
        }
    };

    let act = move |req: WorkerRequest| {
        close(true);
        run_action(moderation, toasts, req, locale);
    };
    let u = user.clone();
    let lock_items = LockKind::ALL.map(|kind| {
        let u = u.clone();
        let on = Memo::new(move |_| person.get().is_some_and(|p| kind.is_on(&p.locks)));
        view! {
            <li role="none">
                <button
                    type="button"
                    role="menuitemcheckbox"
                    class="menu-item"
                    id=format!("lock-{}-{}", kind.key(), u)
                    aria-checked=move || on.get().to_string()
                    tabindex="-1"
                    on:click={
                        let u = u.clone();
                        move |_| act(WorkerRequest::SetLocks {
                            user_id: u.clone(),
                            locks: kind.set(!on.get_untracked()),
                        })
                    }
                >
                    <Icon name=IconName::Lock />
                    {kind.action(locale)}
                </button>
            </li>
        }
    });
    let muted = Memo::new(move |_| person.get().is_some_and(|p| p.muted));
    let (u_hand, u_mic, u_role, u_rm, u_block) =
        (u.clone(), u.clone(), u.clone(), u.clone(), u.clone());
    let label = {
        let name = name.clone();
        move || t_string!(i18n, menu.actions_for, name = name.as_str())
    };

    view! {
        <div class="participant-menu">
            <button
                id=button_id.clone()
                type="button"
                class="btn btn-icon menu-button"
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                aria-controls=id.clone()
                aria-label=label
                node_ref=button_ref
                on:click=move |_| if open.get_untracked() { close(true) } else { open_menu(true) }
                on:keydown=on_button_keydown
            >
                <Icon name=IconName::More />
            </button>
            <ul
                id=id.clone()
                class="menu"
                role="menu"
                aria-labelledby=button_id.clone()
                hidden=move || !open.get()
                node_ref=menu_ref
                on:keydown=on_menu_keydown
                on:focusout=on_focusout
            >
                {hand
                    .then(|| {
                        let u = u_hand.clone();
                        view! {
                            <li role="none">
                                <button type="button" role="menuitem" class="menu-item" tabindex="-1"
                                    on:click=move |_| act(WorkerRequest::LowerHand { user_id: u.clone() })>
                                    <Icon name=IconName::Hand />
                                    {t!(i18n, participants.lower_hand)}
                                </button>
                            </li>
                        }
                    })}
                {(!is_admin).then_some(lock_items)}
                <li role="none">
                    <button type="button" role="menuitem" class="menu-item" tabindex="-1"
                        id=format!("mic-{u_mic}")
                        on:click={
                            let u = u_mic.clone();
                            move |_| {
                                let user_id = u.clone();
                                act(if muted.get_untracked() {
                                    WorkerRequest::AskToUnmute { user_id }
                                } else {
                                    WorkerRequest::Mute { user_id }
                                })
                            }
                        }>
                        <Icon name=IconName::MicOff />
                        {move || {
                            if muted.get() { t_string!(i18n, menu.ask_unmute) } else { t_string!(i18n, menu.mute) }
                        }}
                    </button>
                </li>
                <li role="none">
                    <button type="button" role="menuitem" class="menu-item" tabindex="-1"
                        id=format!("role-{u_role}")
                        on:click={
                            let u = u_role.clone();
                            move |_| act(if is_admin {
                                WorkerRequest::Demote { user_id: u.clone() }
                            } else {
                                WorkerRequest::Promote { user_id: u.clone() }
                            })
                        }>
                        <Icon name=IconName::Crown />
                        {move || {
                            if is_admin {
                                t_string!(i18n, menu.remove_moderator)
                            } else {
                                t_string!(i18n, menu.make_moderator)
                            }
                        }}
                    </button>
                </li>
                <li role="none">
                    <button type="button" role="menuitem" class="menu-item danger" tabindex="-1"
                        id=format!("remove-{u_rm}")
                        on:click=move |_| { close(false); confirm_remove.set(true); }>
                        <Icon name=IconName::Leave />
                        {t!(i18n, menu.remove)}
                    </button>
                </li>
                <li role="none">
                    <button type="button" role="menuitem" class="menu-item danger" tabindex="-1"
                        id=format!("block-{u_block}")
                        on:click=move |_| { close(false); confirm_block.set(true); }>
                        <Icon name=IconName::XCircle />
                        {t!(i18n, menu.remove_block)}
                    </button>
                </li>
            </ul>
            <ConfirmDialog
                open=confirm_remove
                id=format!("confirm-remove-{user}")
                title=Signal::stored(td_string!(locale, menu.remove_title, name = name.as_str()))
                body=Signal::stored(td_string!(locale, menu.remove_body).to_string())
                confirm_label=Signal::stored(td_string!(locale, menu.remove_confirm).to_string())
                on_confirm=Callback::new({
                    let user_id = user.clone();
                    move |_| run_action(moderation, toasts, WorkerRequest::Remove { user_id: user_id.clone(), block: false }, locale)
                })
            />
            <ConfirmDialog
                open=confirm_block
                id=format!("confirm-block-{user}")
                title=Signal::stored(td_string!(locale, menu.block_title, name = name.as_str()))
                body=Signal::stored(td_string!(locale, menu.block_body).to_string())
                confirm_label=Signal::stored(td_string!(locale, menu.block_confirm).to_string())
                on_confirm=Callback::new({
                    let user_id = user.clone();
                    move |_| run_action(moderation, toasts, WorkerRequest::Remove { user_id: user_id.clone(), block: true }, locale)
                })
            />
        </div>
    }
}
