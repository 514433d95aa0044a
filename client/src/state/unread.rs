//! Where the user stopped reading the chat: the newest message that came
//! while the tab was in view. Messages after it get a "New messages"
//! divider when the user comes back (to the tab, or after a reload, as the
//! position is kept in the session cache), and while the tab is hidden its
//! title counts them.

use leptos::prelude::*;
use send_wrapper::SendWrapper;

use crate::state::chat::{ChatContext, ChatLog, EntryKey};
use crate::state::persist::PersistContext;

/// The divider's position, shared through context.
#[derive(Clone, Copy)]
pub struct UnreadContext {
    /// The newest message read.
    last_read: StoredValue<Option<EntryKey>>,
    /// The divider goes after this message (if any follows it).
    divider: RwSignal<Option<EntryKey>>,
}

impl UnreadContext {
    /// The message the "New messages" divider follows.
    pub fn divider(&self) -> ReadSignal<Option<EntryKey>> {
        self.divider.read_only()
    }
}

/// How many of the messages after `last` are someone else's: what the
/// user has not read. All of them if `last` is unknown (trimmed away).
pub fn unread_after(log: &ChatLog, last: Option<&EntryKey>) -> usize {
    let Some(last) = last else {
        return 0;
    };
    let at = log.entries().position(|e| &e.key() == last);
    log.entries()
        .skip(at.map_or(0, |i| i + 1))
        .filter(|e| !e.mine)
        .count()
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
/// found: the divider starts there. `title` is the page's own title.
pub fn start_unread(
    chat: ChatContext,
    persist: Option<PersistContext>,
    restored: Option<EntryKey>,
    title: String,
) -> UnreadContext {
    let ctx = UnreadContext {
        last_read: StoredValue::new(restored.clone()),
        divider: RwSignal::new(restored),
    };
    let log = chat.log();
    let read_to_end = move || {
        let newest = log.with_untracked(|l| l.last().map(|e| e.key()));
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
        if hidden() {
            let n = log.with_untracked(|l| unread_after(l, ctx.last_read.get_value().as_ref()));
            if n > 0 {
                set_title(&format!("({n}) {base}"));
            }
        } else {
            read_to_end();
        }
    });
    let handle = window_event_listener_untyped("visibilitychange", move |_| {
        if hidden() {
            return;
        }
        // Back: the divider marks where the user left off.
        ctx.divider.try_set(ctx.last_read.get_value());
        read_to_end();
        set_title(&title);
    });
    let handle = SendWrapper::new(handle);
    on_cleanup(move || handle.take().remove());
    provide_context(ctx);
    ctx
}

/// The divider position, where a session provides it.
pub fn use_unread() -> Option<UnreadContext> {
    use_context::<UnreadContext>()
}
