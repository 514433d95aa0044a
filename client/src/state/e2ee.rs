//! End-to-end encryption of the session's peer payloads.
//!
//! In an E2EE room every payload a participant sends another through NATS
//! is sealed with the room key ([`crate::crypto::RoomKey`]) into the shared
//! envelope, with the AAD `room_sid | sender | kind`. The sender in the AAD
//! always comes from the authenticated NATS subject, never from the
//! plaintext, so nobody in between can re-attribute or re-route a
//! ciphertext. The key is either typed by each participant (self-key rooms,
//! before connecting) or the room's server-generated secret, fetched over
//! the worker subject once admitted, and derived the same way.
//!
//! Until the key is there, sending waits (messages show as pending) and
//! received messages wait in order. A message that does not open is
//! dropped, the sender is marked, and a notice names them at most once per
//! [`NOTICE_EVERY_MS`].

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use leptos::prelude::*;
use quorum_shared::e2ee::{aad, Kind, PBKDF2_ITERATIONS};
use quorum_shared::events::NotificationType;
use quorum_shared::ids::UserId;
use quorum_shared::worker::WorkerRequest;

use crate::crypto::{CryptoError, RoomKey};
use crate::i18n::{td_string, Locale};
use crate::join::Session;
use crate::nats::{NatsClient, Ready};
use crate::state::toasts::Toast;

mod opener;
use opener::run_opener;

/// At most one "can't decrypt" notice per sender this often.
pub const NOTICE_EVERY_MS: u64 = 30_000;
/// How long to wait for the server's answer to a key request.
const KEY_TIMEOUT: Duration = Duration::from_secs(10);
/// Wait before asking again after a failed key request.
const KEY_RETRY: Duration = Duration::from_secs(5);

/// Where the room key stands, for the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStatus {
    /// Being fetched or derived.
    Pending,
    /// In use; the fingerprint participants compare aloud.
    Ready(String),
    /// Could not be obtained; the text says why.
    Failed(String),
}

/// A payload waiting to be opened.
struct Sealed {
    /// The AAD's sender field: a user id, or `from>to` for private chat.
    party: String,
    kind: Kind,
    payload: Vec<u8>,
    done: Box<dyn FnOnce(Option<Vec<u8>>)>,
}

/// What the opener does next, in order.
enum Job {
    Open(Sealed),
    Then(Box<dyn FnOnce()>),
}

/// The session's encryption, shared through context (E2EE rooms only).
#[derive(Clone, Copy)]
pub struct E2eeContext {
    room_sid: StoredValue<Arc<str>>,
    key: StoredValue<Option<RoomKey>, LocalStorage>,
    waiters: StoredValue<Vec<oneshot::Sender<RoomKey>>, LocalStorage>,
    status: RwSignal<KeyStatus>,
    /// Senders whose messages did not open (and have not opened since).
    mismatched: RwSignal<BTreeSet<String>>,
    /// Other senders whose messages opened.
    matched: RwSignal<BTreeSet<String>>,
    /// Our own user id: our messages always open, and say nothing.
    me: StoredValue<Arc<str>>,
    opener: StoredValue<mpsc::UnboundedSender<Job>, LocalStorage>,
}

impl E2eeContext {
    /// Where the key stands.
    pub fn status(&self) -> ReadSignal<KeyStatus> {
        self.status.read_only()
    }

    /// User ids whose messages could not be decrypted.
    pub fn mismatched(&self) -> ReadSignal<BTreeSet<String>> {
        self.mismatched.read_only()
    }

    /// Whether our key probably differs from the others': more of the
    /// people we heard from fail to decrypt than succeed.
    pub fn key_differs(&self) -> Signal<bool> {
        let (bad, good) = (self.mismatched, self.matched);
        Signal::derive(move || bad.with(BTreeSet::len) > good.with(BTreeSet::len))
    }

    /// `sender`'s message opened: their key and ours agree (a sender who
    /// re-entered theirs loses the "different key?" mark).
    pub fn decrypted(&self, sender: &str) {
        let me = self.me.try_with_value(|m| m.as_ref() == sender);
        if me != Some(false) {
            return;
        }
        if self.matched.with_untracked(|m| !m.contains(sender)) {
            self.matched.try_update(|m| {
                m.insert(sender.to_owned());
            });
        }
        if self.mismatched.with_untracked(|m| m.contains(sender)) {
            self.mismatched.try_update(|m| {
                m.remove(sender);
            });
        }
    }

    /// Starts using `key`, typed again after ours seemed to differ: what
    /// we knew about who matches starts afresh.
    pub fn rekey(&self, key: RoomKey) {
        self.mismatched.try_set(BTreeSet::new());
        self.matched.try_set(BTreeSet::new());
        self.set_key(key);
    }

    /// Marks `user` as someone whose media could not be decrypted (as
    /// for chat: probably a different key).
    pub fn flag(&self, user: &str) {
        self.mismatched.try_update(|m| {
            if !m.contains(user) {
                m.insert(user.to_owned());
            }
        });
    }

    /// Starts using `key`: everything waiting for it proceeds.
    pub fn set_key(&self, key: RoomKey) {
        self.status.try_set(KeyStatus::Ready(key.fingerprint()));
        self.key.try_set_value(Some(key.clone()));
        for w in self
            .waiters
            .try_update_value(std::mem::take)
            .unwrap_or_default()
        {
            let _ = w.send(key.clone());
        }
    }

    /// The key, once there; `None` if the session ended first.
    pub async fn key(&self) -> Option<RoomKey> {
        if let Some(k) = self.key.try_get_value().flatten() {
            return Some(k);
        }
        let (tx, rx) = oneshot::channel();
        self.waiters.try_update_value(|w| w.push(tx))?;
        rx.await.ok()
    }

    fn aad(&self, party: &str, kind: Kind) -> Vec<u8> {
        let sid = self.room_sid.get_value();
        aad(&sid, party, kind)
    }

    /// Seals `plaintext` as our own payload of `kind` (`party`: our user
    /// id, or [`quorum_shared::e2ee::dm_party`] for private chat), waiting
    /// for the key if need be.
    pub async fn seal(
        &self,
        party: &str,
        kind: Kind,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let key = self
            .key()
            .await
            .ok_or_else(|| CryptoError::Failed("session over".into()))?;
        key.seal(plaintext, &self.aad(party, kind)).await
    }

    /// Opens `payload` from `party` (taken from the NATS subject) and
    /// hands the plaintext to `done`, or `None` if it does not open. Calls
    /// complete in the order made, so chat keeps its order.
    pub fn open(
        &self,
        party: String,
        kind: Kind,
        payload: Vec<u8>,
        done: impl FnOnce(Option<Vec<u8>>) + 'static,
    ) {
        let item = Sealed {
            party,
            kind,
            payload,
            done: Box::new(done),
        };
        self.opener.with_value(|tx| {
            let _ = tx.unbounded_send(Job::Open(item));
        });
    }

    /// Runs `f` once everything queued so far was opened (and handed on).
    pub fn after_pending(&self, f: impl FnOnce() + 'static) {
        self.opener.with_value(|tx| {
            let _ = tx.unbounded_send(Job::Then(Box::new(f)));
        });
    }

    /// Records that `sender`'s message did not open, and returns the
    /// notice that says so by name, in `locale`. Its id repeats within
    /// [`NOTICE_EVERY_MS`], so showing it through the notification
    /// centre, which shows a known id once, says it at most that often.
    pub fn undecryptable(&self, sender: &UserId, name: &str, now_ms: u64, locale: Locale) -> Toast {
        if self
            .mismatched
            .with_untracked(|m| !m.contains(sender.as_str()))
        {
            self.mismatched.try_update(|m| {
                m.insert(sender.to_string());
            });
        }
        if self.matched.with_untracked(|m| m.contains(sender.as_str())) {
            self.matched.try_update(|m| {
                m.remove(sender.as_str());
            });
        }
        Toast {
            id: format!("e2ee-{sender}-{}", now_ms / NOTICE_EVERY_MS),
            text: td_string!(locale, e2ee.undecryptable, name),
            kind: NotificationType::Warning,
            with_sound: false,
        }
    }
}

/// Provides encryption for an E2EE session (`None` otherwise), with
/// `key` already derived in a self-key room.
pub fn provide_e2ee_context(session: &Session, key: Option<RoomKey>) -> Option<E2eeContext> {
    if !session.join.e2ee {
        return None;
    }
    let (tx, rx) = mpsc::unbounded();
    let ctx = E2eeContext {
        room_sid: StoredValue::new(Arc::from(session.join.room_sid.as_str())),
        key: StoredValue::new_local(None),
        waiters: StoredValue::new_local(Vec::new()),
        status: RwSignal::new(KeyStatus::Pending),
        mismatched: RwSignal::new(BTreeSet::new()),
        matched: RwSignal::new(BTreeSet::new()),
        me: StoredValue::new(Arc::from(session.join.user_id.as_str())),
        opener: StoredValue::new_local(tx),
    };
    if let Some(k) = key {
        ctx.set_key(k);
    }
    wasm_bindgen_futures::spawn_local(run_opener(ctx, rx));
    provide_context(ctx);
    Some(ctx)
}

/// The session's encryption, in an E2EE room.
pub fn use_e2ee() -> Option<E2eeContext> {
    use_context::<E2eeContext>()
}

/// In a room with a server-generated key: once admitted, asks the server
/// for the room secret over our own worker subject (the answer comes on
/// our own inbox) and derives the key from it exactly as from a typed one.
pub fn fetch_room_key(nats: NatsClient, session: &Session, ctx: E2eeContext) {
    if session.join.e2ee_self_key {
        return;
    }
    let fetch = KeyFetch {
        nats,
        ctx,
        worker: StoredValue::new(session.join.subjects.worker.clone()),
        sid: StoredValue::new(session.join.room_sid.clone()),
        busy: StoredValue::new(false),
    };
    nats.on_ready(move |ready: Ready| {
        if !ready.waiting {
            fetch.start();
        }
    });
}

#[derive(Clone, Copy)]
struct KeyFetch {
    nats: NatsClient,
    ctx: E2eeContext,
    worker: StoredValue<String>,
    sid: StoredValue<String>,
    busy: StoredValue<bool>,
}

impl KeyFetch {
    /// Asks unless the key is there or a request is under way; retries
    /// until it succeeds or the session ends.
    fn start(self) {
        let have = self.ctx.key.try_with_value(Option::is_some).unwrap_or(true);
        if have || self.busy.try_get_value().unwrap_or(true) {
            return;
        }
        self.busy.set_value(true);
        wasm_bindgen_futures::spawn_local(async move {
            let (Some(worker), Some(sid)) = (self.worker.try_get_value(), self.sid.try_get_value())
            else {
                return;
            };
            let result = request_key(self.nats, &worker, &sid).await;
            self.busy.try_set_value(false);
            match result {
                Ok(key) => self.ctx.set_key(key),
                Err(why) => {
                    web_sys::console::warn_1(&format!("e2ee: no room key yet: {why}").into());
                    self.ctx.status.try_set(KeyStatus::Failed(why));
                    let _ = set_timeout_with_handle(move || self.start(), KEY_RETRY);
                }
            }
        });
    }
}

async fn request_key(nats: NatsClient, worker: &str, sid: &str) -> Result<RoomKey, String> {
    let reply = crate::worker::call_with(nats, worker, &WorkerRequest::RoomKey, KEY_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let secret = reply.key.ok_or_else(|| "no key in the reply".to_string())?;
    RoomKey::derive(&secret, sid, PBKDF2_ITERATIONS)
        .await
        .map_err(|e| e.to_string())
}
