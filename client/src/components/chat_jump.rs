//! The way back down the chat list while someone reads back: how many
//! messages came since, on a button that goes to the newest.

use leptos::prelude::*;

use crate::i18n::{t_string, use_i18n};

/// `button#chat-jump`, while `new_since` counts messages that came since
/// the reader left the newest; `jump` takes them back there.
#[component]
pub fn JumpToNewest(
    new_since: Memo<Option<u64>>,
    jump: impl Fn(leptos::ev::MouseEvent) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        new_since.get().map(|n| {
            let text = if n == 1 {
                t_string!(i18n, chat.jump_one).to_string()
            } else {
                t_string!(i18n, chat.jump_many, count = n)
            };
            view! {
                <button id="chat-jump" type="button" class="chat-jump" on:click=jump>
                    "↓ "
                    {text}
                </button>
            }
        })
    }
}
