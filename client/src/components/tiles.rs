//! The tiles of the room's media: each picture LiveKit plays (screen
//! shares first, the speaker outlined), and a tile with initials for
//! everyone present who sends none, each with marks for a muted
//! microphone, a raised hand and a poor connection. At most
//! [`MAX_TILES`] are shown.

use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::i18n::{t_string, use_i18n};
use crate::state::media::{use_media, MediaStatus, Tile, MAX_TILES};
use crate::state::participants::use_roster;
use quorum_shared::events::PresenceState;

/// What a tile shows besides the picture.
#[derive(Clone, Copy)]
struct TileMarks {
    speaking: Signal<bool>,
    muted: Signal<bool>,
    hand: Signal<bool>,
    poor: Signal<bool>,
}

/// One tile: the element LiveKit plays into, with the person's name, and
/// marks for a muted microphone, a raised hand and a poor connection.
#[component]
fn TileView(tile: Tile, marks: TileMarks) -> impl IntoView {
    let i18n = use_i18n();
    let holder = NodeRef::<leptos::html::Div>::new();
    let element = tile.element.clone();
    Effect::new(move || {
        if let Some(div) = holder.get() {
            let _ = div.append_child(&element);
        }
    });
    let audio = tile.source == "microphone" || tile.source == "screen_share_audio";
    let label = move |key: &str| match key {
        "muted" => t_string!(i18n, media.muted).to_string(),
        "hand" => t_string!(i18n, participants.hand_raised).to_string(),
        _ => t_string!(i18n, media.poor).to_string(),
    };
    view! {
        <li
            class="media-tile"
            class:audio-only=audio
            class:speaking=move || marks.speaking.get()
            data-user=tile.identity.clone()
            data-source=tile.source.clone()
        >
            <div class="media-tile-video" node_ref=holder></div>
            <span class="media-tile-name">
                {tile.name.clone()}
                <Show when=move || marks.muted.get()>
                    <Icon name=IconName::MicOff label=label("muted") />
                </Show>
                <Show when=move || marks.hand.get()>
                    <Icon name=IconName::Hand label=label("hand") />
                </Show>
                <Show when=move || marks.poor.get()>
                    <Icon name=IconName::Warning label=label("poor") />
                </Show>
            </span>
        </li>
    }
}

/// A tile for someone present who sends no picture: their initials.
#[component]
fn AvatarTile(id: String, name: String, marks: TileMarks) -> impl IntoView {
    let i18n = use_i18n();
    let initials: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    view! {
        <li
            class="media-tile media-tile-avatar"
            class:speaking=move || marks.speaking.get()
            data-user=id
            data-source="none"
        >
            <span class="media-tile-initials" aria-hidden="true">{initials}</span>
            <span class="media-tile-name">
                {name}
                <Show when=move || marks.muted.get()>
                    <Icon name=IconName::MicOff label=t_string!(i18n, media.muted).to_string() />
                </Show>
                <Show when=move || marks.hand.get()>
                    <Icon
                        name=IconName::Hand
                        label=t_string!(i18n, participants.hand_raised).to_string()
                    />
                </Show>
            </span>
        </li>
    }
}

/// `<ul id="media-tiles">`: what others send; screen shares first.
#[component]
pub fn MediaTiles() -> impl IntoView {
    let i18n = use_i18n();
    let Some(media) = use_media() else {
        return ().into_any();
    };
    let tiles = media.tiles();
    let (speakers, muted, quality) = (media.speakers(), media.muted(), media.quality());
    let roster = use_roster().roster();
    let ordered = move || {
        let mut list = tiles.get();
        list.sort_by_key(|t| t.source != "screen_share");
        list
    };
    let connected = Signal::derive(move || media.status().get() == MediaStatus::Connected);
    let marks_of = move |who: String| {
        let who = StoredValue::new(who);
        TileMarks {
            speaking: Signal::derive(move || who.with_value(|w| speakers.with(|s| s.contains(w)))),
            muted: Signal::derive(move || who.with_value(|w| muted.with(|m| m.contains(w)))),
            hand: Signal::derive(move || who.with_value(|w| roster.with(|r| r.hand_raised(w)))),
            poor: Signal::derive(move || {
                who.with_value(|w| {
                    quality.with(|q| matches!(q.get(w).map(String::as_str), Some("poor" | "lost")))
                })
            }),
        }
    };
    // Everyone present without a picture, up to the cap with the pictures.
    let without_picture = move || {
        let showing: std::collections::BTreeSet<String> = tiles.with(|t| {
            t.iter()
                .filter(|x| !x.is_audio())
                .map(|x| x.identity.clone())
                .collect()
        });
        let room = MAX_TILES.saturating_sub(showing.len());
        roster.with(|r| {
            r.listed()
                .filter(|p| p.state == PresenceState::Online && !showing.contains(&p.id))
                .take(room)
                .map(|p| (p.id.clone(), p.name.clone()))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <Show when=move || connected.get() || tiles.with(|t| !t.is_empty())>
            <ul id="media-tiles" class="media-tiles" aria-label=move || t_string!(i18n, media.tiles)>
                <For each=without_picture key=|(id, _)| id.clone() let:person>
                    {
                        let marks = marks_of(person.0.clone());
                        view! { <AvatarTile id=person.0 name=person.1 marks=marks /> }
                    }
                </For>
                <For each=ordered key=|t| t.sid.clone() let:tile>
                    {
                        let marks = marks_of(tile.identity.clone());
                        view! { <TileView tile=tile marks=marks /> }
                    }
                </For>
            </ul>
        </Show>
    }
    .into_any()
}
