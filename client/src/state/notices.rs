//! The notification centre: every notification the server sent this
//! session (room broadcasts, notes to us alone), kept after its toast goes,
//! with what is unread, and kept in the session cache so a reload restores
//! it. Local notices (errors, "offline") are toasts only. Also whether
//! notifications beep, a display setting kept with the session.

use std::collections::VecDeque;
use std::sync::Arc;

use leptos::prelude::*;
use quorum_shared::events::NotificationType;
use serde::{Deserialize, Serialize};

use crate::state::persist::{DisplaySettings, PersistContext};
use crate::state::toasts::{Toast, ToastContext};

/// Notifications kept; the oldest go first.
pub const MAX_NOTICES: usize = 100;

/// One notification, as kept (and cached: this is its JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The server's id, which de-duplicates replays.
    pub id: String,
    /// The text.
    pub text: String,
    /// Its kind.
    pub kind: NotificationType,
    /// When it arrived, ms since the epoch.
    pub at_ms: u64,
    /// Whether the panel has been opened since.
    #[serde(default)]
    pub read: bool,
}

impl Notice {
    /// The notice for a server notification's `toast`, arrived at `at_ms`.
    pub fn of(toast: &Toast, at_ms: u64) -> Self {
        Self {
            id: toast.id.clone(),
            text: toast.text.clone(),
            kind: toast.kind,
            at_ms,
            read: false,
        }
    }
}

/// The kept notifications, oldest first. Pure.
#[derive(Debug, Clone, Default)]
pub struct NoticeLog {
    items: VecDeque<Arc<Notice>>,
}

impl NoticeLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps `notice` unless its id is known. Returns whether it was new,
    /// and the id pushed out to make room, if any.
    pub fn add(&mut self, notice: Notice) -> (bool, Option<String>) {
        if self.items.iter().any(|n| n.id == notice.id) {
            return (false, None);
        }
        // Restored notices arrive in key order, not time order.
        let at = self.items.partition_point(|n| n.at_ms <= notice.at_ms);
        self.items.insert(at, Arc::new(notice));
        let dropped = (self.items.len() > MAX_NOTICES)
            .then(|| self.items.pop_front())
            .flatten()
            .map(|n| n.id.clone());
        (true, dropped)
    }

    /// Marks everything read; returns the notices that changed.
    pub fn mark_all_read(&mut self) -> Vec<Notice> {
        let mut changed = Vec::new();
        for n in self.items.iter_mut().filter(|n| !n.read) {
            let n = Arc::make_mut(n);
            n.read = true;
            changed.push(n.clone());
        }
        changed
    }

    /// Forgets everything; returns the ids forgotten.
    pub fn clear(&mut self) -> Vec<String> {
        self.items.drain(..).map(|n| n.id.clone()).collect()
    }

    /// How many are unread.
    pub fn unread(&self) -> usize {
        self.items.iter().filter(|n| !n.read).count()
    }

    /// Newest first, as the panel lists them.
    pub fn newest_first(&self) -> impl Iterator<Item = &Arc<Notice>> {
        self.items.iter().rev()
    }

    /// Number kept.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The notification centre, shared through context.
#[derive(Clone, Copy)]
pub struct NoticesContext {
    log: RwSignal<NoticeLog>,
    toasts: ToastContext,
    persist: Option<PersistContext>,
}

impl NoticesContext {
    /// The kept notifications.
    pub fn log(&self) -> ReadSignal<NoticeLog> {
        self.log.read_only()
    }

    /// Keeps a server notification that arrived now. Returns false if it
    /// was known already (a replay), so it is not shown again.
    pub fn record(&self, toast: &Toast, at_ms: u64) -> bool {
        let notice = Notice::of(toast, at_ms);
        let mut added = (false, None);
        self.log.maybe_update(|l| {
            added = l.add(notice.clone());
            added.0
        });
        let (new, dropped) = added;
        if let Some(p) = self.persist {
            if new {
                p.save_notice(&notice);
            }
            if let Some(id) = dropped {
                p.delete_notices(vec![id]);
            }
        }
        new
    }

    /// Puts back what the session cache kept, without showing it again.
    pub fn restore(&self, notices: Vec<Notice>) {
        self.log.update(|l| {
            for n in notices {
                l.add(n);
            }
        });
    }

    /// The panel was opened: everything is read.
    pub fn mark_all_read(&self) {
        let mut changed = Vec::new();
        self.log.maybe_update(|l| {
            changed = l.mark_all_read();
            !changed.is_empty()
        });
        if let Some(p) = self.persist {
            for n in &changed {
                p.save_notice(n);
            }
        }
    }

    /// Whether notifications beep.
    pub fn sound(&self) -> ReadSignal<bool> {
        self.toasts.sound()
    }

    /// Turns the beep on or off, for the rest of the session (kept across
    /// a reload).
    pub fn set_sound(&self, on: bool) {
        self.toasts.set_sound(on);
        if let Some(p) = self.persist {
            p.save_display(DisplaySettings { sound: on });
        }
    }

    /// Forgets every notification, here and in the cache.
    pub fn clear(&self) {
        let mut ids = Vec::new();
        self.log.maybe_update(|l| {
            ids = l.clear();
            !ids.is_empty()
        });
        if let Some(p) = self.persist {
            p.delete_notices(ids);
        }
    }
}

/// Provides an empty notification centre that pops up through `toasts`
/// and writes through `persist`.
pub fn provide_notices_context(
    toasts: ToastContext,
    persist: Option<PersistContext>,
) -> NoticesContext {
    let ctx = NoticesContext {
        log: RwSignal::new(NoticeLog::new()),
        toasts,
        persist,
    };
    provide_context(ctx);
    ctx
}

/// The notification centre provided by [`provide_notices_context`].
pub fn use_notices() -> NoticesContext {
    expect_context::<NoticesContext>()
}
