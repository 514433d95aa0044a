//! A modal confirmation dialog (WAI-ARIA dialog pattern): it takes the
//! focus when it opens, keeps Tab and Shift+Tab inside, closes on Escape,
//! and gives the focus back to what had it before.

use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::i18n::{t_string, use_i18n};

/// Focusable elements inside `root`, in order.
fn focusables(root: &web_sys::Element) -> Vec<web_sys::HtmlElement> {
    const SELECTOR: &str = "button:not([disabled]), [href], input:not([disabled]), \
        select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
    let Ok(list) = root.query_selector_all(SELECTOR) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

fn active_element() -> Option<web_sys::HtmlElement> {
    web_sys::window()?
        .document()?
        .active_element()?
        .dyn_into::<web_sys::HtmlElement>()
        .ok()
}

/// `<div role="dialog" aria-modal="true">` shown while `open`: a title,
/// a sentence, a confirm button (`confirm_id`) and Cancel. Confirm runs
/// `on_confirm` and closes; Cancel, Escape and a click outside close.
#[component]
pub fn ConfirmDialog(
    /// Shown while true; the dialog sets it false when it closes.
    open: RwSignal<bool>,
    /// Element id of the dialog (its title is `{id}-title`).
    #[prop(into)]
    id: String,
    /// The question.
    #[prop(into)]
    title: Signal<String>,
    /// What it means.
    #[prop(into)]
    body: Signal<String>,
    /// The confirm button's label.
    #[prop(into)]
    confirm_label: Signal<String>,
    /// The Cancel button's label ("Cancel" in the app's language if not set).
    #[prop(optional, into)]
    cancel_label: Option<Signal<String>>,
    /// Runs on confirm.
    on_confirm: Callback<()>,
    /// A second, milder choice (e.g. "Leave" beside "End for everyone").
    #[prop(optional, into)]
    secondary_label: Option<Signal<String>>,
    /// Runs on the second choice.
    #[prop(optional)]
    on_secondary: Option<Callback<()>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let cancel_label = cancel_label
        .unwrap_or_else(|| Signal::derive(move || t_string!(i18n, dialog.cancel).to_string()));
    let root = NodeRef::<Div>::new();
    let opener = StoredValue::new_local(None::<web_sys::HtmlElement>);
    let title_id = format!("{id}-title");
    let body_id = format!("{id}-body");
    let confirm_id = format!("{id}-confirm");
    let id_for_secondary = id.clone();

    // -- effects -- //
    // On opening: remember who had the focus, then move it inside.
    Effect::new(move || {
        if open.get() {
            opener.set_value(active_element());
            request_animation_frame(move || {
                // The dialog may be gone by then (its choice ended the
                // session).
                if let Some(el) = root.try_get_untracked().flatten() {
                    if let Some(first) = focusables(&el).into_iter().last() {
                        // The safe choice first: Cancel (last in order).
                        let _ = first.focus();
                    }
                }
            });
        }
    });

    // Also after a choice that ended the session and took the dialog away.
    let close = move || {
        open.try_set(false);
        if let Some(Some(el)) = opener.try_get_value() {
            let _ = el.focus();
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            close();
            return;
        }
        if ev.key() != "Tab" {
            return;
        }
        let Some(el) = root.get_untracked() else {
            return;
        };
        let items = focusables(&el);
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            return;
        };
        let active = active_element();
        let at = |x: &web_sys::HtmlElement| active.as_ref().is_some_and(|a| a == x);
        if ev.shift_key() && at(first) {
            ev.prevent_default();
            let _ = last.focus();
        } else if !ev.shift_key() && at(last) {
            ev.prevent_default();
            let _ = first.focus();
        }
    };

    view! {
        <Show when=move || open.get()>
            <div class="dialog-backdrop" on:click=move |_| close()>
                <div
                    id=id.clone()
                    class="dialog"
                    role="dialog"
                    aria-modal="true"
                    aria-labelledby=title_id.clone()
                    aria-describedby=body_id.clone()
                    node_ref=root
                    on:keydown=on_keydown
                    on:click=|ev| ev.stop_propagation()
                >
                    <h2 id=title_id.clone() class="dialog-title">{move || title.get()}</h2>
                    <p id=body_id.clone() class="dialog-body">{move || body.get()}</p>
                    <div class="dialog-actions">
                        <button
                            id=confirm_id.clone()
                            type="button"
                            class="btn btn-danger"
                            on:click=move |_| {
                                on_confirm.run(());
                                close();
                            }
                        >
                            {move || confirm_label.get()}
                        </button>
                        {secondary_label
                            .zip(on_secondary)
                            .map(|(label, run)| {
                                view! {
                                    <button
                                        id=format!("{}-secondary", id_for_secondary)
                                        type="button"
                                        class="btn btn-primary"
                                        on:click=move |_| {
                                            close();
                                            run.run(());
                                        }
                                    >
                                        {move || label.get()}
                                    </button>
                                }
                            })}
                        <button type="button" class="btn dialog-cancel" on:click=move |_| close()>
                            {move || cancel_label.get()}
                        </button>
                    </div>
                </div>
            </div>
        </Show>
    }
}
