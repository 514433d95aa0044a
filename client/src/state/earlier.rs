//! Older chat on demand: a late joiner gets the last
//! [`CHAT_HISTORY`](crate::state::history::CHAT_HISTORY) messages, and
//! whoever scrolls past the oldest one held asks the room's stream for the
//! ones before it, a page at a time, so the whole meeting's chat can be
//! read. What comes back joins the log like history (by stream sequence)
//! and is not written to the session cache: the cache keeps the newest.

use std::sync::Arc;

use leptos::prelude::*;

use crate::state::chat::ChatContext;
use crate::state::history::{HistoryError, Source, Stored};

/// Messages asked for per page.
pub const EARLIER_PAGE: u64 = 100;

/// Where loading older chat stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Earlier {
    /// Older messages may exist; none asked for.
    Idle,
    /// A page is on its way.
    Loading,
    /// The last request failed; it can be tried again.
    Failed,
    /// Nothing older is left.
    Start,
    /// The page holds all it can; older messages would not be kept.
    Full,
}

/// Loads older chat for the list; see the module docs.
#[derive(Clone, Copy)]
pub struct EarlierContext {
    state: RwSignal<Earlier>,
    chat: ChatContext,
    source: StoredValue<Arc<Source>>,
    /// The oldest sequence a load handed on: the next one starts below it
    /// even if those messages never joined the log (e.g. they did not
    /// decrypt), so loading always moves on.
    floor: StoredValue<Option<u64>>,
}

impl EarlierContext {
    /// Where loading stands.
    pub fn state(&self) -> ReadSignal<Earlier> {
        self.state.read_only()
    }

    /// Asks for the page before the oldest message held, unless a request
    /// is under way, nothing older is left, or the first catch-up is not
    /// done (until then the oldest is not known).
    pub fn load(&self) {
        let state = self.state.get_untracked();
        if matches!(state, Earlier::Loading | Earlier::Start | Earlier::Full)
            || !self.chat.caught_up().get_untracked()
        {
            return;
        }
        let (full, oldest) = self
            .chat
            .log()
            .with_untracked(|l| (l.is_full(), l.oldest_seq()));
        if full {
            // What is older than all it holds would be dropped at once.
            return self.state.set(Earlier::Full);
        }
        let before = match (oldest, self.floor.get_value()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(s) => s,
                // No chat from the stream at all: nothing older.
                None => return self.state.set(Earlier::Start),
            },
        };
        self.state.set(Earlier::Loading);
        let (this, nats, source) = (*self, self.chat.nats(), self.source.get_value());
        wasm_bindgen_futures::spawn_local(async move {
            let chat = this.chat;
            let mut on = |s: Stored| chat.restore_wire(&s.subject, &s.payload, Some(s.seq));
            let result = source.earlier(&nats, before, EARLIER_PAGE, &mut on).await;
            if let Ok(Some(oldest)) = result {
                this.floor.try_set_value(Some(oldest));
            }
            // Done once the page is in the log (opened first in an E2EE
            // room), so the next load starts below it.
            let finish = move || {
                chat.flush_incoming();
                this.done(result.map(|o| o.is_none()));
            };
            match chat.crypt() {
                Some(c) => c.e2ee.after_pending(finish),
                None => finish(),
            }
        });
    }

    /// The room's first load brought its whole chat: nothing older to
    /// offer.
    pub fn none_older(&self) {
        self.state.try_set(Earlier::Start);
    }

    fn done(&self, result: Result<bool, HistoryError>) {
        let next = match result {
            Ok(true) => Earlier::Start,
            Ok(false) => Earlier::Idle,
            Err(e) => {
                let text = format!("chat: could not load earlier messages: {e}");
                web_sys::console::warn_1(&text.into());
                Earlier::Failed
            }
        };
        self.state.try_set(next);
    }
}

/// Makes older chat loadable for the room's chat list.
pub fn provide_earlier_context(chat: ChatContext) -> EarlierContext {
    let source = Source::of(&chat.session().join);
    let ctx = EarlierContext {
        state: RwSignal::new(Earlier::Idle),
        chat,
        source: StoredValue::new(Arc::new(source)),
        floor: StoredValue::new(None),
    };
    provide_context(ctx);
    ctx
}

/// The context of [`provide_earlier_context`], if the room has one.
pub fn use_earlier() -> Option<EarlierContext> {
    use_context::<EarlierContext>()
}
