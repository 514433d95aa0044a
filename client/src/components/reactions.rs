//! Reactions: a bar of six (icons, never emoji: a stock browser may have
//! no emoji font), and the room's newest reactions shown briefly with
//! who sent them, and counted. In an E2EE room a reaction is sealed like
//! chat (kind `reaction` in the AAD), so the server relays what it can't
//! read; the sender always comes from the server.

use base64::Engine;
use leptos::html::Ul;
use leptos::prelude::*;
use quorum_shared::e2ee::Kind;
use quorum_shared::events::NotificationType;
use quorum_shared::moderation::REACTIONS;
use quorum_shared::worker::WorkerRequest;

use crate::components::icons::{Icon, IconName};
use crate::components::kept_rows::keep_rows;
use crate::i18n::{t_string, td_string, use_i18n, Locale};
use crate::state::e2ee::use_e2ee;
use crate::state::moderation::{use_moderation, ReactionEvent};
use crate::state::participants::use_roster;
use crate::state::session::use_session;
use crate::state::toasts::{use_toasts, Toast};
use crate::util::random_id;

/// How long a reaction stays on screen (ms).
const SHOWN_MS: u64 = 4000;

/// What a reaction's name means, for people, in `locale`.
pub fn reaction_label(name: &str, locale: Locale) -> &'static str {
    match name {
        "thumbs_up" => td_string!(locale, reactions.thumbs_up),
        "clap" => td_string!(locale, reactions.clap),
        "laugh" => td_string!(locale, reactions.laugh),
        "party" => td_string!(locale, reactions.party),
        "heart" => td_string!(locale, reactions.heart),
        "raised_hand" => td_string!(locale, reactions.raised_hand),
        _ => td_string!(locale, reactions.other),
    }
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// `<div id="reaction-bar">`: one button per reaction.
#[component]
pub fn ReactionBar() -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let moderation = use_moderation();
    let toasts = use_toasts();
    let session = use_session();
    let e2ee = use_e2ee();
    let me = session.join.user_id.to_string();
    let my_locks = moderation.my_locks();
    let is_admin = moderation.is_admin();
    let locked = move || !is_admin.get() && my_locks.with(|l| l.lock_reactions == Some(true));
    let send = move |name: &'static str| {
        let me = me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let payload = match e2ee {
                Some(e) => match e.seal(&me, Kind::Reaction, name.as_bytes()).await {
                    Ok(sealed) => B64.encode(sealed),
                    Err(_) => return,
                },
                None => name.to_string(),
            };
            if let Err(e) = moderation.send(WorkerRequest::React { payload }).await {
                toasts.show(Toast {
                    id: random_id(),
                    text: e.message(locale),
                    kind: NotificationType::Warning,
                    with_sound: false,
                });
            }
        });
    };
    let buttons = REACTIONS.map(|name| {
        let send = send.clone();
        view! {
            <button
                type="button"
                class="btn btn-icon reaction-button"
                id=format!("react-{name}")
                aria-label=move || t_string!(i18n, reactions.react, what = reaction_label(name, locale))
                disabled=locked
                on:click=move |_| send(name)
            >
                {IconName::reaction(name).map(|i| view! { <Icon name=i /> })}
            </button>
        }
    });
    view! {
        <div
            id="reaction-bar"
            class="reaction-bar"
            role="group"
            aria-label=move || t_string!(i18n, reactions.bar)
        >
            {buttons}
        </div>
    }
}

/// One reaction as shown: who, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    key: String,
    name: String,
    who: String,
}

/// `<div id="reactions">`: the newest reactions (a few seconds each) and
/// how many of each this session, announced politely.
#[component]
pub fn ReactionFeed() -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let moderation = use_moderation();
    let roster = use_roster().roster();
    let e2ee = use_e2ee();
    let shown = RwSignal::new(Vec::<Shown>::new());
    let counts = RwSignal::new(std::collections::BTreeMap::<String, u32>::new());
    let seen = StoredValue::new(0u64);
    let reactions = moderation.reactions();

    // Each new reaction: opened if sealed, then shown and counted.
    Effect::new(move || {
        let last = seen.get_value();
        let fresh: Vec<ReactionEvent> =
            reactions.with(|all| all.iter().filter(|r| r.seq > last).cloned().collect());
        if let Some(r) = fresh.last() {
            seen.set_value(r.seq);
        }
        for r in fresh {
            let who = roster
                .with_untracked(|ro| ro.get(&r.user_id).map(|p| p.name.clone()))
                .unwrap_or_else(|| r.user_id.clone());
            let sender = r.user_id.clone();
            let show = move |name: String| {
                if IconName::reaction(&name).is_none() {
                    return;
                }
                let key = format!("{}-{}-{}", sender, r.sent_at_ms, random_id());
                counts.update(|c| *c.entry(name.clone()).or_default() += 1);
                shown.update(|s| {
                    s.push(Shown {
                        key: key.clone(),
                        name,
                        who,
                    });
                    if s.len() > 8 {
                        s.remove(0);
                    }
                });
                let _ = set_timeout_with_handle(
                    move || {
                        shown
                            .try_update(|s| s.retain(|x| x.key != key))
                            .unwrap_or(())
                    },
                    std::time::Duration::from_millis(SHOWN_MS),
                );
            };
            match e2ee {
                None => show(r.payload.clone()),
                Some(e) => {
                    let Ok(sealed) = B64.decode(r.payload.as_bytes()) else {
                        continue;
                    };
                    e.open(r.user_id.clone(), Kind::Reaction, sealed, move |plain| {
                        if let Some(name) = plain.and_then(|p| String::from_utf8(p).ok()) {
                            show(name);
                        }
                    });
                }
            }
        }
    });

    // A wave of reactions adds several and drops as many of the oldest in
    // one update: those that stay are never moved (see `kept_rows`), or
    // this live region would read them out again.
    let feed = NodeRef::<Ul>::new();
    keep_rows(
        feed,
        move || shown.get(),
        |s| s.key.clone(),
        move |s| {
            view! {
                <li class="reaction" data-reaction=s.name.clone()>
                    {IconName::reaction(&s.name).map(|i| view! { <Icon name=i /> })}
                    <span class="reaction-text">
                        {format!("{}: {}", s.who, reaction_label(&s.name, locale))}
                    </span>
                </li>
            }
            .into_any()
        },
    );
    view! {
        <div id="reactions" class="reactions" role="status" aria-live="polite">
            <ul class="reaction-feed" node_ref=feed></ul>
            <p class="reaction-counts visually-hidden">
                {move || counts.with(|c| {
                    c.iter()
                        .map(|(k, n)| format!("{} {n}", reaction_label(k, locale)))
                        .collect::<Vec<_>>()
                        .join(", ")
                })}
            </p>
            <ul class="reaction-tally" aria-label=move || t_string!(i18n, reactions.tally)>
                {move || counts.get().into_iter().map(|(k, n)| view! {
                    <li data-reaction=k.clone()>
                        {IconName::reaction(&k).map(|i| view! { <Icon name=i /> })}
                        <span class="count">{n}</span>
                    </li>
                }).collect_view()}
            </ul>
        </div>
    }
}
