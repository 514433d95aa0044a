//! The chat list: a window over the log that follows the newest messages,
//! or, while someone reads back, a bounded span that moves with them; past
//! the oldest message held, older ones are asked for from the room's
//! stream.

use std::sync::Arc;

use leptos::html::Ul;
use leptos::prelude::*;

use crate::components::chat_earlier::EarlierItem;
use crate::components::chat_follow::{total, Follow, TRIM_LAG};
pub use crate::components::chat_item::ChatItem;
use crate::components::chat_jump::JumpToNewest;
use crate::components::kept_rows::keep_rows;
use crate::components::list_scroll::{keep_in_view, scroll_to};
use crate::i18n::{t, t_string, use_i18n};
use crate::state::chat::{ChatLog, Delivery, EntryKey, UnsentAction};
use crate::state::chat_log::window;
use crate::state::earlier::{Earlier, EarlierContext};
use crate::state::grouping::{rows, Row};

/// Distance from the bottom (px) within which the list keeps following new
/// messages; further up, the user is reading history and is left alone.
const STICK_THRESHOLD_PX: i32 = 48;
/// Messages in the DOM while following the newest: a long meeting or a
/// flood never grows the page (about four nodes each).
pub const WINDOW: usize = 60;
/// Messages drawn while following the newest during a flood: each batch
/// replaces the whole window, so half as many halves the work, and the
/// newest still fill the view.
const FLOOD_WINDOW: usize = WINDOW / 2;
/// Messages added (and taken away at the other end) at a time as someone
/// scrolls back, or forward again.
const WINDOW_STEP: usize = 60;
/// Messages in the DOM at most while someone reads back: however far back
/// the meeting goes, the page holds this many.
pub const READ_SPAN: usize = 180;
/// A scroll this soon (ms) after the reader touched the list is theirs.
const READER_SCROLL_MS: f64 = 1000.0;
/// Within this distance from the top (px), older messages are added; from
/// the bottom, newer ones.
const MORE_THRESHOLD_PX: i32 = 200;

/// `<ul id="chat-list" aria-live="polite">`, following new messages while
/// scrolled to the bottom (and always after sending), with a "New
/// messages" divider (`li.chat-divider`) before the message `divider`
/// names. `aria-busy` while `busy` (catching up after a connect), so
/// screen readers don't read out a whole history as it is merged. With
/// `earlier`, the top of the log shows `li.chat-earlier`: a button that
/// loads older messages (as does scrolling to the top), their progress, an
/// error with Try again, or the start of the chat.
#[component]
pub fn ChatList(
    #[prop(into)] log: Signal<ChatLog>,
    #[prop(into, default = Signal::stored(None))] divider: Signal<Option<EntryKey>>,
    #[prop(into, default = Signal::stored(false))] busy: Signal<bool>,
    /// How far the message with a key got, if it is ours.
    #[prop(optional, into)]
    delivery_of: Option<Callback<EntryKey, Signal<Delivery>>>,
    /// Retries or discards one of ours that was not sent.
    #[prop(optional, into)]
    on_unsent: Option<Callback<(EntryKey, UnsentAction)>>,
    /// Whether a retry could go out now (not while chat is locked).
    #[prop(into, default = Signal::stored(true))]
    can_retry: Signal<bool>,
    /// A flood is on: while following, only the newest [`FLOOD_WINDOW`]
    /// are drawn.
    #[prop(into, default = Signal::stored(false))]
    flood: Signal<bool>,
    /// Where older messages come from, if anywhere.
    #[prop(default = None)]
    earlier: Option<EarlierContext>,
) -> impl IntoView {
    // -- signals -- //
    let i18n = use_i18n();
    let list_ref = NodeRef::<Ul>::new();
    let stick = StoredValue::new(true);
    // The first message shown, by its key, while someone reads back;
    // `None` while following the newest [`WINDOW`]. A key, not a
    // position: older messages added above must not move the reader.
    let start = RwSignal::new(None::<EntryKey>);
    // (len, skip, take) of the window over `l` from `at`.
    let span_of = |l: &ChatLog, at: Option<&EntryKey>| {
        let from = at.map(|k| l.position(k).unwrap_or(0));
        let (skip, take) = window(l.len(), from, WINDOW, READ_SPAN);
        (l.len(), skip, take)
    };
    // When the reader last touched the list (wheel, key, pointer, touch):
    // only a scroll soon after is theirs. Ours, and the browser's when the
    // list's content changes under it, must not count as reading back.
    // One touch, one step: moving the window or loading a page takes the
    // touch, so the scroll events that follow are not the reader's until
    // they touch the list again. (A time of the move compared with the
    // touch's failed within one millisecond: the scroll that widened the
    // window to the oldest held brought a page as well.)
    let touched_ms = StoredValue::new(f64::NEG_INFINITY);
    let touch = move || touched_ms.set_value(js_sys::Date::now());
    let untouch = move || touched_ms.set_value(f64::NEG_INFINITY);
    // Where we last scrolled the list to (see `scroll_to`): a scroll event
    // that finds it there is ours.
    let ours = StoredValue::new(None::<i32>);
    // How many messages the session had taken in when the reader left the
    // newest (`None` while following): what came since is "new".
    let away = RwSignal::new(None::<u64>);
    // The session's count when the window last slid while following:
    // messages since then (up to [`TRIM_LAG`]) are drawn on top of it
    // until it slides again, at a frame.
    let trimmed = RwSignal::new(log.with_untracked(total));
    let extra = Memo::new(move |_| {
        let lag = log.with(total).saturating_sub(trimmed.get());
        if start.with(Option::is_none) && lag <= TRIM_LAG {
            lag as usize
        } else {
            0
        }
    });
    let new_since = Memo::new(move |_| {
        let from = away.get()?;
        let n = log.with(total).saturating_sub(from);
        (n > 0).then_some(n)
    });

    // -- effects -- //
    Follow {
        log,
        stick,
        start,
        trimmed,
        list_ref,
        ours,
    }
    .watch();

    // Between a window move and the frame that puts the reader's view back
    // (`keep_in_view`), the list's scroll position is stale: still at the
    // top it was scrolled to. Only the reader moves the window again until
    // then: a message arriving in between took a second step, anchored on
    // the first step's messages, and the reader's view jumped by a window.
    let moving = StoredValue::new(false);
    // Moves the window to start at entry `i`, keeping the reader's view.
    let start_at = move |i: usize| {
        untouch();
        moving.set_value(true);
        let key = log.with_untracked(|l| l.key_at(i));
        keep_in_view(list_ref, ours, move || start.set(key));
        // After `keep_in_view`'s own frame callback, in the same frame.
        request_animation_frame(move || {
            // Gone with the list: nothing to clear.
            let _ = moving.try_set_value(false);
        });
    };
    // Older messages, while the window reaches the oldest held: pinned
    // there first, so what arrives goes above rather than pushing the
    // newest out.
    let load_earlier = move || {
        let Some(e) = earlier else {
            return;
        };
        // Reading back now, even in a list too short to scroll.
        stick.set_value(false);
        // The scrolls that follow until the page is in (in an E2EE room it
        // lands as it decrypts, after the load itself is done) are not the
        // reader asking for another.
        untouch();
        if start.get_untracked().is_none() {
            start.set(log.with_untracked(|l| l.key_at(0)));
        }
        e.load();
    };
    // The button goes as its page comes in: keyboard users go on in the
    // list (arrow keys, Home) rather than lose focus to the page.
    let load_from_button = move || {
        if let Some(ul) = list_ref.get_untracked() {
            let _ = ul.focus();
        }
        load_earlier();
    };
    let on_scroll = move |_| {
        let Some(ul) = list_ref.get_untracked() else {
            return;
        };
        let top = ul.scroll_top();
        let from_bottom = ul.scroll_height() - top - ul.client_height();
        // Ours only if the reader hasn't moved it since (their scroll in the
        // same frame would leave it elsewhere).
        let ours = ours.write_value().take() == Some(top);
        let touched = touched_ms.get_value();
        let by_reader = !ours && js_sys::Date::now() - touched < READER_SCROLL_MS;
        // The reader's own scroll sets the position anew; any other before
        // the frame of a move would read the old one.
        if moving.get_value() && !by_reader {
            return;
        }
        let at = start.get_untracked();
        let (len, skip, take) = log.with_untracked(|l| span_of(l, at.as_ref()));
        // Only a window that reaches the newest can follow it.
        let at_end = skip + take == len;
        let following =
            at_end && (from_bottom <= STICK_THRESHOLD_PX || (stick.get_value() && !by_reader));
        stick.set_value(following);
        // Every scroll of a flood follows: wake nothing that is unchanged.
        if following && away.get_untracked().is_some() {
            away.set(None);
        } else if !following && away.get_untracked().is_none() {
            away.set(Some(log.with_untracked(total)));
        }
        if following {
            // Back at the newest: only the window again.
            if at.is_some() {
                start.set(None);
            }
        } else if top < MORE_THRESHOLD_PX && skip > 0 {
            // Near the top: older messages above (and fewer below).
            start_at(skip.saturating_sub(WINDOW_STEP));
        } else if top < MORE_THRESHOLD_PX && by_reader {
            // At the oldest held: older ones from the room's stream.
            load_earlier();
        } else if from_bottom < MORE_THRESHOLD_PX && !at_end {
            // Near the bottom of a window short of the newest: newer below.
            start_at((skip + WINDOW_STEP).min(len.saturating_sub(WINDOW)));
        } else if at.is_none() {
            // Reading back: new messages add below and take nothing away.
            start.set(log.with_untracked(|l| l.key_at(skip)));
        }
    };
    // Older messages that came in above a reader at the top: shown, with
    // what was in view kept in place (no scroll event would bring them).
    Effect::new(move || {
        log.track();
        let Some(at) = start.get_untracked() else {
            return;
        };
        let near_top = !moving.get_value()
            && list_ref
                .get_untracked()
                .is_some_and(|ul| ul.scroll_top() < MORE_THRESHOLD_PX);
        let skip = log.with_untracked(|l| span_of(l, Some(&at)).1);
        if near_top && skip > 0 {
            start_at(skip.saturating_sub(WINDOW_STEP));
        }
    });
    // Back to the newest, from the "new messages" button.
    let jump = move |_| {
        away.set(None);
        stick.set_value(true);
        start.set(None);
        request_animation_frame(move || {
            if let Some(ul) = list_ref.try_get_untracked().flatten() {
                scroll_to(&ul, ul.scroll_height(), ours);
                let _ = ul.focus();
            }
        });
    };
    // The window reaches the oldest message held.
    let at_oldest = Memo::new(move |_| {
        let at = start.get();
        log.with(|l| !l.is_empty() && span_of(l, at.as_ref()).1 == 0)
    });

    // The rows drawn: the window over the log, with the "New messages"
    // divider; a row that stays is never moved (see `kept_rows`).
    keep_rows(
        list_ref,
        move || {
            let start = start.get();
            let extra = extra.get();
            divider.with(|d| {
                log.with(|l| {
                    let (_, skip, take) = span_of(l, start.as_ref());
                    // The newest just in, drawn above the window until it
                    // slides (see `TRIM_LAG`).
                    let extra = skip.min(extra);
                    let (mut skip, mut take) = (skip - extra, take + extra);
                    if start.is_none() && flood.get() && take > FLOOD_WINDOW {
                        skip += take - FLOOD_WINDOW;
                        take = FLOOD_WINDOW;
                    }
                    // From the one before the window, which the first
                    // drawn may continue.
                    let mut from = l.entries().skip(skip.saturating_sub(1));
                    let before = if skip > 0 { from.next() } else { None };
                    rows(before, from.take(take), d.as_ref())
                        .into_iter()
                        .map(|r| r.map(Arc::clone))
                        .collect::<Vec<_>>()
                })
            })
        },
        // Whether a message continues the one before it is part of its
        // key: one whose predecessor changed (older messages came in above
        // it, or the divider did) is drawn afresh. The first drawn shows
        // its header by the stylesheet, so the window slides without
        // redrawing.
        |row| match row {
            Row::Divider => None,
            Row::Message(e, cont) => Some((e.key(), *cont)),
        },
        move |row| {
            let Row::Message(e, cont) = row else {
                return view! {
                    <li class="chat-divider">
                        <span>{t!(i18n, chat.new_messages)}</span>
                    </li>
                }
                .into_any();
            };
            let key = e.key();
            // Only ours change how far they got.
            let delivery = match delivery_of {
                _ if !e.mine => Signal::stored(Delivery::Sent),
                Some(p) => p.run(key),
                // Standalone (tests): straight from the log.
                None => Signal::derive(move || {
                    if log.with(|l| l.is_pending(&key)) {
                        Delivery::Sending
                    } else {
                        Delivery::Sent
                    }
                }),
            };
            view! {
                <ChatItem
                    entry=e
                    continued=cont
                    delivery=delivery
                    on_unsent=on_unsent
                    can_retry=can_retry
                />
            }
            .into_any()
        },
    );

    view! {
        <div class="chat-body">
            <Show when=move || log.with(ChatLog::is_empty)>
                <p class="chat-empty">{t!(i18n, chat.empty)}</p>
            </Show>
            // Focusable so keyboard users can scroll the history. A list
            // that is a live region, not `role="log"`: that role would
            // take away the list its items need.
            <ul
                id="chat-list"
                class="chat-list"
                node_ref=list_ref
                aria-live="polite"
                aria-relevant="additions"
                aria-label=move || t_string!(i18n, chat.messages)
                aria-busy=move || {
                    let loading = earlier.is_some_and(|e| e.state().get() == Earlier::Loading);
                    (busy.get() || loading).to_string()
                }
                // How many messages the session has taken in, and how many
                // of ours wait for the server: most are never drawn, so
                // benches read these rather than count items.
                data-total=move || log.with(|l| total(l).to_string())
                // How many of them can be scrolled back to.
                data-kept=move || log.with(|l| l.len().to_string())
                data-pending=move || log.with(|l| l.pending().len().to_string())
                tabindex="0"
                on:scroll=on_scroll
                on:wheel=move |_| touch()
                on:keydown=move |_| touch()
                on:pointerdown=move |_| touch()
                on:touchmove=move |_| touch()
            >
                {move || {
                    let e = earlier?;
                    at_oldest.get().then(|| view! { <EarlierItem earlier=e load=load_from_button /> })
                }}
            </ul>
            <JumpToNewest new_since=new_since jump=jump />
        </div>
    }
}
