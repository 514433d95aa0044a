//! Where the user stopped reading the chat: the newest message that came
//! while the tab was in view. When the user comes back (to the tab, or
//! after a reload, as the position is kept in the session cache) a "New
//! messages" divider goes before the first message from someone else they
//! missed, and stays there; while the tab is hidden its title counts them.

use leptos::prelude::*;
use quorum_client_core::news::{is_news, newest_news, news_after};
use send_wrapper::SendWrapper;

use crate::state::chat::{now_ms, ChatContext, ChatLog, EntryKey};
use crate::state::persist::PersistContext;

/// The divider's position, shared through context.
#[derive(Clone, Copy)]
pub struct UnreadContext {
    /// The newest message read.
    last_read: StoredValue<Option<EntryKey>>,
    /// The first message missed: the divider goes before it.
    divider: RwSignal<Option<EntryKey>>,
    /// After a reload: the messages sent before it and after this position
    /// were missed, and may still be arriving (the history catch-up).
    missed: StoredValue<Option<(EntryKey, u64)>>,
}

impl UnreadContext {
    /// The first missed message, which the "New messages" divider precedes.
    pub fn divider(&self) -> ReadSignal<Option<EntryKey>> {
        self.divider.read_only()
    }
}

/// The messages after `last` that are news (someone else's, see
/// [`is_news`]), oldest first: what the user has not read. All of them if
/// `last` is unknown (nothing read yet, or trimmed away).
fn missed<'a>(log: &'a ChatLog, last: Option<&EntryKey>) -> impl Iterator<Item = EntryKey> + 'a {
    let at = last.and_then(|k| log.position(k));
    log.entries()
        .skip(at.map_or(0, |i| i + 1))
        .filter(|e| is_news(e))
        .map(|e| e.key())
}

/// How many messages after `last` are news (see [`missed`]).
pub fn unread_after(log: &ChatLog, last: Option<&EntryKey>) -> usize {
    news_after(log, last)
}

/// The first message after `last` from someone else, sent no later than
/// `before_ms`.
pub fn first_missed(log: &ChatLog, last: &EntryKey, before_ms: u64) -> Option<EntryKey> {
    let at = log.position(last)?;
    log.entries()
        .skip(at + 1)
        .find(|e| is_news(e) && e.shown_at_ms <= before_ms)
        .map(|e| e.key())
}

fn hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

fn set_title(text: &str) {
    if let Some(d) = web_sys::window().and_then(|w| w.document()) {
        d.set_title(text);
    }
}

/// Follows `chat`: what arrives while the tab is in view is read (and the
/// position kept through `persist`). `restored` is the position a reload
/// found. `title` is the page's own title, put back on cleanup.
pub fn start_unread(
    chat: ChatContext,
    persist: Option<PersistContext>,
    restored: Option<EntryKey>,
    title: String,
) -> UnreadContext {
    let ctx = UnreadContext {
        last_read: StoredValue::new(restored.clone()),
        divider: RwSignal::new(None),
        missed: StoredValue::new(restored.map(|k| (k, now_ms()))),
    };
    let log = chat.log();
    let read_to_end = move || {
        // The newest news, not just the newest entry: our own message may
        // be discarded, and a presence line rewritten, leaving the mark
        // pointing nowhere (and everything counted as unread).
        let newest = log.with_untracked(newest_news);
        if newest.is_some() && ctx.last_read.get_value() != newest {
            ctx.last_read.set_value(newest.clone());
            if let (Some(p), Some(k)) = (persist, newest) {
                p.save_last_read(k);
            }
        }
    };
    let base = title.clone();
    Effect::new(move || {
        log.with(|l| l.revision());
        if let Some((after, before_ms)) = ctx.missed.get_value() {
            let first = log.with_untracked(|l| first_missed(l, &after, before_ms));
            if first.is_some() {
                ctx.missed.set_value(None);
                ctx.divider.set(first);
            }
        }
        if hidden() {
            let n = log.with_untracked(|l| unread_after(l, ctx.last_read.get_value().as_ref()));
            if n > 0 {
                set_title(&format!("({n}) {base}"));
            }
        } else {
            read_to_end();
        }
    });
    let restore = title.clone();
    let handle = window_event_listener_untyped("visibilitychange", move |_| {
        if hidden() {
            return;
        }
        // Back: the divider marks the first message missed, if any.
        let last = ctx.last_read.get_value();
        let first = log.with_untracked(|l| missed(l, last.as_ref()).next());
        ctx.missed.set_value(None);
        ctx.divider.try_set(first);
        read_to_end();
        set_title(&title);
    });
    let handle = SendWrapper::new(handle);
    on_cleanup(move || {
        handle.take().remove();
        set_title(&restore);
    });
    provide_context(ctx);
    ctx
}

/// The divider position, where a session provides it.
pub fn use_unread() -> Option<UnreadContext> {
    use_context::<UnreadContext>()
}
