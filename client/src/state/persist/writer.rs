//! The session cache's writer: chat, the history cursor and the read
//! position go in batches; notifications, settings and the token at once.

use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;

use super::{DisplaySettings, KEY_CURSOR};
use crate::cache::{self, CacheError, ChatRecord, SessionCache};
use crate::join::JoinToken;
use crate::state::chat::EntryKey;
use crate::state::notices::Notice;

/// Chat is written in batches this often.
const FLUSH_EVERY: Duration = Duration::from_millis(300);
/// Records per transaction. A flood queues thousands per batch; turning
/// them all into JS objects in one go would be one long task, so they go
/// in slices, each in its own transaction and task (in a flood bench, a
/// slice of 200 took up to 30 ms, in a task of 51 ms).
const WRITE_SLICE: usize = 100;

/// Writes to the session's database, shared through context.
#[derive(Clone, Copy)]
pub struct PersistContext {
    cache: StoredValue<Option<Rc<SessionCache>>, LocalStorage>,
    queue: StoredValue<Vec<ChatRecord>, LocalStorage>,
    /// A history cursor to write after the queued chat.
    cursor: StoredValue<Option<u64>>,
    /// A last-read position to write with the next batch.
    last_read: StoredValue<Option<EntryKey>>,
    timer: StoredValue<Option<TimeoutHandle>>,
    /// Reads our unconfirmed chat (see [`Self::track_unsent`]).
    unsent: StoredValue<Option<UnsentSource>, LocalStorage>,
    /// It changed since it was last written.
    unsent_dirty: StoredValue<bool>,
}

/// Reads what to keep of our unconfirmed chat, when it is written.
type UnsentSource = Rc<dyn Fn() -> Option<Vec<super::SavedUnsent>>>;

impl PersistContext {
    /// Keeps a received chat message (its wire bytes) soon.
    pub fn record_chat(&self, record: ChatRecord) {
        if self.cache.with_value(Option::is_none) {
            return;
        }
        self.queue.update_value(|q| q.push(record));
        self.schedule();
    }

    /// Keeps the room stream's sequence of the last catch-up, written after
    /// the chat recorded before it: a reload must never find a cursor past
    /// messages that are not in the cache.
    pub fn save_cursor(&self, seq: u64) {
        if self.cache.with_value(Option::is_none) {
            return;
        }
        self.cursor.set_value(Some(seq));
        self.schedule();
    }

    /// Keeps the newest chat message read, with the next batch (it changes
    /// with every message while the tab is in view).
    pub fn save_last_read(&self, key: EntryKey) {
        if self.cache.with_value(Option::is_none) {
            return;
        }
        self.last_read.set_value(Some(key));
        self.schedule();
    }

    /// Keeps our unconfirmed chat as `read` gives it, whenever
    /// [`Self::unsent_changed`] says so. Read only when written: a burst of
    /// sends and echoes costs one write per batch, not one per message.
    pub fn track_unsent(&self, read: impl Fn() -> Option<Vec<super::SavedUnsent>> + 'static) {
        self.unsent.set_value(Some(Rc::new(read)));
    }

    /// Our unconfirmed chat changed: written with the next batch, or at
    /// once if `now` (a message refused, retried or discarded: the user
    /// may reload any moment to see whether it is still there).
    pub fn unsent_changed(&self, now: bool) {
        if self.cache.with_value(Option::is_none) {
            return;
        }
        self.unsent_dirty.set_value(true);
        if now {
            self.write_unsent();
        } else {
            self.schedule();
        }
    }

    fn write_unsent(&self) {
        if !self
            .unsent_dirty
            .try_update_value(std::mem::take)
            .unwrap_or(false)
        {
            return;
        }
        let read = self.unsent.try_with_value(Clone::clone).flatten();
        let Some(Ok(value)) = read.and_then(|r| r()).map(serde_json::to_value) else {
            return;
        };
        self.write_now("unsent chat", move |c| async move {
            c.put_session(cache::KEY_UNSENT, &value).await
        });
    }

    fn schedule(&self) {
        if self.timer.with_value(Option::is_none) {
            let this = *self;
            let handle = set_timeout_with_handle(move || this.flush(), FLUSH_EVERY).ok();
            self.timer.set_value(handle);
        }
    }

    fn flush(self) {
        self.timer.try_set_value(None);
        let batch = self
            .queue
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        let cursor = self.cursor.try_update_value(Option::take).flatten();
        self.write_unsent();
        let last_read = self.last_read.try_update_value(Option::take).flatten();
        let Some(Some(c)) = self.cache.try_get_value() else {
            return;
        };
        let last_read = last_read.and_then(|k| serde_json::to_value(k).ok());
        if batch.is_empty() && cursor.is_none() && last_read.is_none() {
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            // The cursor and the read position go in one transaction with
            // the last slice of chat: the cursor never lands without the
            // chat before it, and a message costs one transaction.
            let mut session = Vec::new();
            if let Some(seq) = cursor {
                session.push((KEY_CURSOR, serde_json::Value::from(seq)));
            }
            if let Some(v) = last_read.clone() {
                session.push((cache::KEY_LAST_READ, v));
            }
            let mut slices: Vec<&[ChatRecord]> = batch.chunks(WRITE_SLICE).collect();
            if slices.is_empty() {
                // Only the positions: a transaction of their own.
                slices.push(&[]);
            }
            let last = slices.len() - 1;
            let mut written = Ok(());
            for (i, slice) in slices.into_iter().enumerate() {
                let with = if i == last { &session[..] } else { &[] };
                written = c.put_chat_and_session(slice, with).await;
                if written.is_err() {
                    break;
                }
            }
            let Err(e) = written else {
                return;
            };
            if batch.is_empty() {
                let text = format!("cache: history cursor and read position not saved: {e}");
                return web_sys::console::warn_1(&text.into());
            }
            web_sys::console::warn_1(&format!("cache: chat not saved: {e}").into());
            // Without the chat, the cursor must not move; where the reader
            // is still counts.
            if let Some(v) = last_read {
                if let Err(e) = c.put_session(cache::KEY_LAST_READ, &v).await {
                    let text = format!("cache: read position not saved: {e}");
                    web_sys::console::warn_1(&text.into());
                }
            }
        });
    }

    /// Keeps (or updates) a notification of the notification centre.
    pub fn save_notice(&self, notice: &Notice) {
        let Ok(value) = serde_json::to_value(notice) else {
            return;
        };
        let id = notice.id.clone();
        self.write_now("notification", move |c| async move {
            c.put_notification(&id, &value).await
        });
    }

    /// Forgets notifications `ids`.
    pub fn delete_notices(&self, ids: Vec<String>) {
        self.write_now("notification deletion", move |c| async move {
            for id in ids {
                c.delete_notification(&id).await?;
            }
            Ok(())
        });
    }

    /// Keeps the display settings.
    pub fn save_display(&self, display: DisplaySettings) {
        let Ok(value) = serde_json::to_value(display) else {
            return;
        };
        self.write_now("settings", move |c| async move {
            c.put_session(cache::KEY_DISPLAY, &value).await
        });
    }

    /// Keeps the microphone and camera chosen before joining.
    pub fn save_media(&self, choices: &crate::state::media::MediaChoices) {
        let Ok(value) = serde_json::to_value(choices) else {
            return;
        };
        self.write_now("media", move |c| async move {
            c.put_session(cache::KEY_MEDIA, &value).await
        });
    }

    /// Keeps the newest token.
    pub fn save_token(&self, token: JoinToken) {
        self.write_now("token", move |c| async move { c.put_token(&token).await });
    }

    /// Runs `write` on the open cache in the background (nothing without
    /// one); a failure is logged, and the meeting goes on.
    fn write_now<F, Fut>(&self, what: &'static str, write: F)
    where
        F: FnOnce(Rc<SessionCache>) -> Fut + 'static,
        Fut: Future<Output = Result<(), CacheError>> + 'static,
    {
        let Some(Some(c)) = self.cache.try_get_value() else {
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = write(c).await {
                web_sys::console::warn_1(&format!("cache: {what} not saved: {e}").into());
            }
        });
    }
}

/// Provides the session's cache writer (a no-op without a cache).
pub fn provide_persist_context(cache: Option<Rc<SessionCache>>) -> PersistContext {
    let ctx = PersistContext {
        cache: StoredValue::new_local(cache),
        queue: StoredValue::new_local(Vec::new()),
        cursor: StoredValue::new(None),
        last_read: StoredValue::new(None),
        timer: StoredValue::new(None),
        unsent: StoredValue::new_local(None),
        unsent_dirty: StoredValue::new(false),
    };
    on_cleanup(move || {
        // Whatever is still queued goes out before the handle is dropped.
        if let Some(Some(t)) = ctx.timer.try_update_value(Option::take) {
            t.clear();
        }
        ctx.flush();
    });
    provide_context(ctx);
    ctx
}

/// The session's cache writer, if any.
pub fn use_persist() -> Option<PersistContext> {
    use_context::<PersistContext>()
}
