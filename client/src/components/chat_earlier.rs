//! The top of the chat list while the oldest held message is drawn: how
//! to get older ones, their progress, or that the chat starts here.

use leptos::prelude::*;

use crate::i18n::{t, use_i18n};
use crate::state::earlier::{Earlier, EarlierContext};

/// `li.chat-earlier`: what there is to say about older messages.
#[component]
pub fn EarlierItem(
    earlier: EarlierContext,
    load: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = earlier.state();
    move || {
        let inner = match state.get() {
            Earlier::Idle => view! {
                <button type="button" on:click=move |_| load()>
                    {t!(i18n, chat.earlier)}
                </button>
            }
            .into_any(),
            Earlier::Loading => view! { <span>{t!(i18n, chat.earlier_loading)}</span> }.into_any(),
            Earlier::Failed => view! {
                <span>{t!(i18n, chat.earlier_failed)}</span>
                " "
                <button type="button" on:click=move |_| load()>
                    {t!(i18n, chat.earlier_retry)}
                </button>
            }
            .into_any(),
            Earlier::Start => view! { <span>{t!(i18n, chat.earlier_start)}</span> }.into_any(),
            Earlier::Full => view! { <span>{t!(i18n, chat.earlier_full)}</span> }.into_any(),
        };
        view! { <li class="chat-earlier">{inner}</li> }
    }
}
