//! Notifications shown as toasts: the pure queue (de-duplication by id,
//! a cap on how many are up at once) and the context that shows them and
//! plays their sound.

use std::collections::{HashSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use quorum_shared::events::NotificationType;
use send_wrapper::SendWrapper;

use crate::sound::Beeper;

/// Toasts up at once; a new one pushes out the oldest.
pub const MAX_TOASTS: usize = 4;

/// How long a toast stays up unless hovered or focused.
pub const TOAST_TTL: Duration = Duration::from_secs(6);

/// Ids remembered for de-duplication; the oldest are forgotten first.
const SEEN_CAP: usize = 256;

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    /// Unique id, for de-duplication.
    pub id: String,
    /// The text.
    pub text: String,
    /// Its kind, which sets its colour.
    pub kind: NotificationType,
    /// Play a sound when it appears.
    pub with_sound: bool,
}

impl Toast {
    /// The `class` attribute: `toast toast-{info|success|warning|error}`.
    pub fn class(&self) -> &'static str {
        match self.kind {
            NotificationType::Info => "toast toast-info",
            NotificationType::Success => "toast toast-success",
            NotificationType::Warning => "toast toast-warning",
            NotificationType::Error => "toast toast-error",
        }
    }
}

/// The toasts that are up, oldest first.
#[derive(Debug, Clone, Default)]
pub struct ToastQueue {
    shown: VecDeque<Arc<Toast>>,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
}

impl ToastQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows `toast` unless its id was seen recently (a replay or the same
    /// event on two subjects). Returns whether it was added.
    pub fn push(&mut self, toast: Toast) -> bool {
        if !self.seen.insert(toast.id.clone()) {
            return false;
        }
        self.seen_order.push_back(toast.id.clone());
        if self.seen_order.len() > SEEN_CAP {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if self.shown.len() == MAX_TOASTS {
            self.shown.pop_front();
        }
        self.shown.push_back(Arc::new(toast));
        true
    }

    /// Takes the toast `id` down. Returns whether it was up.
    pub fn dismiss(&mut self, id: &str) -> bool {
        let before = self.shown.len();
        self.shown.retain(|t| t.id != id);
        self.shown.len() != before
    }

    /// The toasts that are up, oldest first.
    pub fn toasts(&self) -> impl ExactSizeIterator<Item = &Arc<Toast>> {
        self.shown.iter()
    }

    /// Number of toasts up.
    pub fn len(&self) -> usize {
        self.shown.len()
    }

    /// Whether no toast is up.
    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }
}

/// The toasts, shared through context.
#[derive(Clone, Copy)]
pub struct ToastContext {
    queue: RwSignal<ToastQueue>,
    /// Whether toasts that ask for a sound get one.
    sound: RwSignal<bool>,
    beeper: StoredValue<Rc<Beeper>, LocalStorage>,
}

impl ToastContext {
    /// The toasts that are up.
    pub fn queue(&self) -> ReadSignal<ToastQueue> {
        self.queue.read_only()
    }

    /// Shows `toast` (and beeps if it asks to) unless it is a duplicate.
    pub fn show(&self, toast: Toast) {
        let with_sound = toast.with_sound;
        let mut added = false;
        self.queue.maybe_update(|q| {
            added = q.push(toast);
            added
        });
        if added && with_sound && self.sound.get_untracked() {
            self.beeper.try_with_value(|b| b.beep());
        }
    }

    /// Takes the toast `id` down.
    pub fn dismiss(&self, id: &str) {
        self.queue.maybe_update(|q| q.dismiss(id));
    }

    /// Whether notifications beep.
    pub fn sound(&self) -> ReadSignal<bool> {
        self.sound.read_only()
    }

    /// Turns the beep on or off.
    pub fn set_sound(&self, on: bool) {
        self.sound.try_set(on);
    }
}

/// Provides an empty toast queue; its audio is released on cleanup.
pub fn provide_toasts_context() -> ToastContext {
    let beeper = Rc::new(Beeper::new());
    let guard = SendWrapper::new(beeper.clone());
    on_cleanup(move || guard.close());
    let ctx = ToastContext {
        queue: RwSignal::new(ToastQueue::new()),
        sound: RwSignal::new(true),
        beeper: StoredValue::new_local(beeper),
    };
    provide_context(ctx);
    ctx
}

/// The toasts provided by [`provide_toasts_context`].
pub fn use_toasts() -> ToastContext {
    expect_context::<ToastContext>()
}

/// The toasts, where a page provides them (the waiting room does not).
pub fn use_toasts_opt() -> Option<ToastContext> {
    use_context::<ToastContext>()
}
