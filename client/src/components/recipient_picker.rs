//! The composer's "Send to": everyone, or one person privately. In a big
//! room it offers a bounded number of people, with a search field to
//! find the others (`quorum-client-core`'s `recipients::offer`): a
//! `<select>` of everybody in a room of a thousand drew a thousand
//! options, each watching the choice, and was no way to find anyone.

use leptos::html::Select;
use leptos::prelude::*;
use quorum_client_core::recipients::{offer, Offer};

use crate::components::kept_rows::keep_rows;
use crate::components::participants::SEARCH_FROM;
use crate::i18n::{t, t_string, use_i18n};
use crate::state::participants::use_roster_opt;

/// People offered at most at a time; the search finds the others.
pub const OFFERED_AT_ONCE: usize = 50;

/// `<select id="chat-to">`: everyone, or one of `offered` (id, name)
/// privately (not selectable while our private chat is locked); past
/// [`SEARCH_FROM`] people, `<input id="chat-to-find">` above it narrows
/// the options to those whose name contains what is typed, at most
/// [`OFFERED_AT_ONCE`], the chosen one always among them. Absent where
/// there is no participant list (widget tests).
#[component]
pub fn RecipientPicker(
    to: RwSignal<String>,
    offered: Memo<Vec<(String, String)>>,
    private_locked: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    use_roster_opt().map(|_| {
        let query = RwSignal::new(String::new());
        let big = Memo::new(move |_| offered.with(Vec::len) > SEARCH_FROM);
        let shown = Memo::new(move |_| {
            let q = if big.get() { query.get() } else { String::new() };
            let chosen = to.get();
            offered.with(|o| offer(o, &q, &chosen, OFFERED_AT_ONCE))
        });
        let select = NodeRef::<Select>::new();
        // Options that stay are never moved (see `kept_rows`): the browser
        // could drop the choice of a moved one.
        keep_rows(
            select,
            move || {
                shown.with(|Offer { shown, more, .. }| {
                    let listed = shown.iter().map(|(id, name)| (Some(id.clone()), name.clone()));
                    // Those not offered, counted in a last option that can't
                    // be chosen.
                    let more = (*more > 0).then(|| (None, more.to_string()));
                    listed.chain(more).collect::<Vec<_>>()
                })
            },
            Clone::clone,
            move |(id, text)| match id {
                Some(id) => {
                    let selected = id.clone();
                    view! {
                        <option
                            value=id
                            selected=move || to.get() == selected
                            disabled=move || private_locked.get()
                        >
                            {t!(i18n, chat.privately_to, name = text)}
                        </option>
                    }
                    .into_any()
                }
                None => view! {
                    <option value="" disabled=true>
                        {t!(i18n, chat.more_recipients, count = text)}
                    </option>
                }
                .into_any(),
            },
        );
        view! {
            <Show when=move || big.get()>
                <label for="chat-to-find" class="visually-hidden">{t!(i18n, chat.find_recipient)}</label>
                <input
                    id="chat-to-find"
                    class="chat-to chat-to-find"
                    type="search"
                    aria-controls="chat-to"
                    placeholder=move || t_string!(i18n, chat.find_recipient)
                    prop:value=move || query.get()
                    on:input:target=move |ev| query.set(ev.target().value())
                />
            </Show>
            <label for="chat-to" class="visually-hidden">{t!(i18n, chat.send_to)}</label>
            <select
                id="chat-to"
                class="chat-to"
                node_ref=select
                prop:value=move || to.get()
                on:change:target=move |ev| to.set(ev.target().value())
            >
                <option value="">{t!(i18n, chat.everyone)}</option>
            </select>
        }
    })
}
