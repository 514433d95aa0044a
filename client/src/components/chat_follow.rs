//! Following the newest messages: at a frame, the chat list's window
//! slides over what came and the list scrolls to the end, after the
//! browser laid out the new items, not before.

use leptos::html::Ul;
use leptos::prelude::*;

use crate::components::list_scroll::scroll_to;
use crate::state::chat::{ChatLog, EntryKey, FRAME_BATCH};

/// New messages, at most, drawn on top of the newest
/// [`super::chat_list::WINDOW`] before the window slides: a message is
/// drawn first and what it pushes out is taken apart at a frame, once this
/// many are over or at the first frame that brings none. Sliding at every
/// frame of a burst laid the list out twice a frame: items were taken
/// apart after the scroll event had read its geometry. As many as a frame
/// takes in itself ([`FRAME_BATCH`]): an update that both adds and takes
/// away moves the items it keeps, so only more at once (a flood, which
/// replaces most of the window anyway) slides it in the same update. At
/// most 72 messages drawn, under 300 nodes.
pub(crate) const TRIM_LAG: u64 = FRAME_BATCH as u64;

/// Messages the session has taken in, the dropped ones included.
pub(crate) fn total(l: &ChatLog) -> u64 {
    l.dropped() + l.len() as u64
}

/// What following the newest works on, all owned by the list.
#[derive(Clone, Copy)]
pub(crate) struct Follow {
    pub log: Signal<ChatLog>,
    /// Whether the list follows the newest (scrolled to the end).
    pub stick: StoredValue<bool>,
    /// The first message shown while someone reads back.
    pub start: RwSignal<Option<EntryKey>>,
    /// The session's count when the window last slid.
    pub trimmed: RwSignal<u64>,
    pub list_ref: NodeRef<Ul>,
    /// Where we last scrolled the list to.
    pub ours: StoredValue<Option<i32>>,
}

impl Follow {
    /// Watches the log: whatever comes is drawn at once; at the next frame
    /// the window slides (see [`TRIM_LAG`]) and, while following or after
    /// we sent, the list scrolls to the end.
    pub(crate) fn watch(self) {
        let frame = StoredValue::new(None::<AnimationFrameRequestHandle>);
        // Whether the next frame brings the newest into view.
        let scroll_due = StoredValue::new(false);
        let Follow {
            log,
            stick,
            start,
            trimmed,
            ..
        } = self;
        Effect::new(move |prev: Option<Option<EntryKey>>| {
            let (last, now) = log.with(|l| {
                let _ = l.revision(); // re-run for every new message
                (l.last().map(|e| (e.key(), e.mine)), total(l))
            });
            let key = last.as_ref().map(|(k, _)| k.clone());
            // One of ours newly at the end, not merely the newest while
            // older pages or confirmations come in.
            let sent = last.is_some_and(|(_, mine)| mine) && prev.as_ref() != Some(&key);
            let scroll = sent || stick.get_value();
            if sent && start.get_untracked().is_some() {
                // Sending takes a reader back to the newest.
                start.set(None);
            }
            scroll_due.update_value(|d| *d |= scroll);
            let slide = now > trimmed.get_untracked();
            if !(scroll || slide) || frame.get_value().is_some() {
                return key;
            }
            let handle = request_animation_frame_with_handle(move || {
                frame.try_set_value(None);
                self.at_frame(scroll_due.try_update_value(std::mem::take) == Some(true));
            });
            frame.set_value(handle.ok());
            key
        });
        on_cleanup(move || {
            if let Some(h) = frame.try_get_value().flatten() {
                h.cancel();
            }
        });
    }

    /// A frame after messages came: slides the window over them, then
    /// scrolls to the end if `scroll`.
    fn at_frame(self, scroll: bool) {
        let Follow {
            log,
            trimmed,
            list_ref,
            ours,
            ..
        } = self;
        let (Some(t), Some(done)) = (log.try_with_untracked(total), trimmed.try_get_untracked())
        else {
            return;
        };
        // Fewer than at the last slide: one of ours was discarded.
        if t >= done + TRIM_LAG || t < done {
            trimmed.set(t);
        } else if t > done {
            // The burst may go on: slide at the next frame if nothing came
            // by then (anything new brings a frame of its own).
            request_animation_frame(move || {
                let quiet = log.try_with_untracked(total) == Some(t);
                if quiet && trimmed.try_get_untracked().is_some_and(|d| d < t) {
                    trimmed.try_set(t);
                }
            });
        }
        if scroll {
            // Queued after the list's update for the slide: the scroll
            // measures the list as it will be drawn.
            queue_microtask(move || {
                if let Some(ul) = list_ref.try_get_untracked().flatten() {
                    scroll_to(&ul, ul.scroll_height(), ours);
                }
            });
        }
    }
}
