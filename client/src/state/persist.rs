//! The session cache ([`crate::cache`]) wired to the app, so that a
//! refresh or a reopened tab never costs the meeting and leaving leaves
//! nothing behind:
//!
//! - at start, before anything else, stale sessions are deleted
//!   ([`cleanup_at_startup`], with the server's `cache_max_age_secs`);
//! - this tab remembers which session it is in (`sessionStorage`, which a
//!   refresh and a reopened tab keep), and a link whose token expired finds
//!   its session by room and user; the cached, renewed token rejoins;
//! - chat is kept as received on the wire (ciphertext in E2EE rooms) and
//!   restored before the room shows; the history sync then fetches only
//!   what came after the last catch-up;
//! - leaving, removal and the end of the session delete the database
//!   before the goodbye page shows ([`forget`]).
//!
//! Every failure is logged and the meeting goes on without the cache.

use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::cache::{self, ChatRecord, SessionCache, DB_PREFIX};
use crate::join::{JoinToken, Session};
use crate::state::chat::EntryKey;
use crate::state::notices::Notice;
use crate::state::token::token_payload;

/// `sessionStorage` key naming this tab's session database.
const POINTER_KEY: &str = "quorum.session";
/// The server's default, if `/api/config` can't be read.
const DEFAULT_MAX_AGE_SECS: u64 = 6 * 3600;
/// Session-store keys of ours, beside the module's token key.
const KEY_ROOM: &str = "room_id";
const KEY_CURSOR: &str = "cursor";

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

async fn max_age_secs() -> u64 {
    crate::api::fetch_config()
        .await
        .map_or(DEFAULT_MAX_AGE_SECS, |c| c.cache_max_age_secs)
}

/// Deletes our databases not used within the server's maximum age.
pub async fn cleanup_at_startup() {
    let max = max_age_secs().await;
    match cache::cleanup_stale(now_ms(), max.saturating_mul(1000)).await {
        Ok(r) if !r.deleted.is_empty() || !r.failed.is_empty() => web_sys::console::info_1(
            &format!("cache: deleted {:?}, failed {:?}", r.deleted, r.failed).into(),
        ),
        Ok(_) => {}
        Err(e) => web_sys::console::info_1(&format!("cache: no cleanup: {e}").into()),
    }
}

#[derive(Deserialize)]
struct Who {
    room_id: String,
    user_id: String,
}

/// A session of this tab (or this link's room and user) found in the
/// cache, with its newest token.
pub struct Found {
    /// The open database.
    pub cache: Rc<SessionCache>,
    /// The last token stored (renewed during the meeting).
    pub token: Option<JoinToken>,
}

/// Looks for the session to resume: this tab's, or else the newest one
/// for the room and user the link's token names. Never creates a database.
pub async fn find_session(url_token: Option<&JoinToken>) -> Option<Found> {
    let names = cache::database_names().await.ok()?;
    let pointer = session_storage().and_then(|s| s.get_item(POINTER_KEY).ok().flatten());
    let mut candidates: Vec<String> = pointer.into_iter().filter(|p| names.contains(p)).collect();
    let who = url_token.and_then(|t| token_payload::<Who>(t.expose()));
    if let Some(w) = &who {
        let suffix = format!(":{}", w.user_id);
        candidates.extend(
            names
                .iter()
                .filter(|n| n.starts_with(DB_PREFIX) && n.ends_with(&suffix))
                .cloned(),
        );
    }
    candidates.sort();
    candidates.dedup();
    let mut best: Option<(u64, SessionCache)> = None;
    for name in candidates {
        let Some((sid, user)) = name
            .strip_prefix(DB_PREFIX)
            .and_then(|r| r.rsplit_once(':'))
        else {
            continue;
        };
        let Ok(c) = SessionCache::open(sid, user).await else {
            continue;
        };
        if let Some(w) = &who {
            let room = c.get_session(KEY_ROOM).await.ok().flatten();
            if user != w.user_id || room.as_ref().and_then(|v| v.as_str()) != Some(&w.room_id) {
                continue;
            }
        }
        let at = c.last_accessed().await.ok().flatten().unwrap_or(0);
        if best.as_ref().is_none_or(|(b, _)| at > *b) {
            best = Some((at, c));
        }
    }
    let (_, cache) = best?;
    let token = cache.token().await.ok().flatten();
    Some(Found {
        cache: Rc::new(cache),
        token,
    })
}

/// What the cache holds for a verified session, loaded before the room
/// shows.
#[derive(Default)]
pub struct Stored {
    /// The open database; `None` without IndexedDB.
    pub cache: Option<Rc<SessionCache>>,
    /// Chat as received, oldest first.
    pub chat: Vec<ChatRecord>,
    /// The room stream's sequence of the last catch-up.
    pub cursor: Option<u64>,
    /// The notification centre's notifications.
    pub notices: Vec<Notice>,
    /// The user's display settings.
    pub display: DisplaySettings,
    /// The newest chat message read.
    pub last_read: Option<EntryKey>,
    /// Microphone and camera chosen before joining.
    pub media: Option<crate::state::media::MediaChoices>,
    /// Our chat messages not yet confirmed: waiting, or refused.
    pub unsent: Vec<SavedUnsent>,
    /// Why there is no cache, to tell the user.
    pub unavailable: Option<String>,
}

/// One of our chat messages the server has not confirmed, as the session
/// cache keeps it, so a reload loses neither a waiting message nor one
/// refused by a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedUnsent {
    /// The message's id.
    pub id: String,
    /// Where it goes: the public chat, or privately to someone.
    pub subject: String,
    /// Its wire bytes (ciphertext in an E2EE room, never the plaintext).
    pub wire: Vec<u8>,
    /// Refused ("Not sent"), rather than waiting to go out.
    pub failed: bool,
    /// A private one's recipient, by name as shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_name: Option<String>,
}

/// What the user chose about how the meeting looks and sounds, kept for
/// the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplaySettings {
    /// Notifications beep.
    pub sound: bool,
}

impl Default for DisplaySettings {
    fn default() -> Self {
        Self { sound: true }
    }
}

/// Opens (or reuses `found`) the database of `session`, marks it as this
/// tab's, stores who it is and the token, and loads what it holds.
pub async fn open_for(session: &Session, found: Option<Rc<SessionCache>>) -> Stored {
    let join = &session.join;
    let name = cache::db_name(&join.room_sid, join.user_id.as_str());
    let opened = match found.filter(|c| c.name() == name) {
        Some(c) => Ok(c),
        None => SessionCache::open(&join.room_sid, join.user_id.as_str())
            .await
            .map(Rc::new),
    };
    let c = match opened {
        Ok(c) => c,
        Err(e) => {
            web_sys::console::warn_1(&format!("cache: unavailable: {e}").into());
            return Stored {
                unavailable: Some(e.to_string()),
                ..Stored::default()
            };
        }
    };
    if let Some(s) = session_storage() {
        let _ = s.set_item(POINTER_KEY, &name);
    }
    let room = serde_json::Value::from(join.room_id.as_str());
    let saved = async {
        c.put_session(KEY_ROOM, &room).await?;
        c.put_token(&session.token).await
    };
    if let Err(e) = saved.await {
        web_sys::console::warn_1(&format!("cache: not saved: {e}").into());
    }
    let chat = c.all_chat().await.unwrap_or_default();
    let cursor = session_value(&c, KEY_CURSOR).await;
    // One that no longer parses is skipped, not fatal.
    let notices = c
        .notifications()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_value(v).ok())
        .collect();
    let display = session_value(&c, cache::KEY_DISPLAY)
        .await
        .unwrap_or_default();
    let last_read = session_value(&c, cache::KEY_LAST_READ).await;
    let media = session_value(&c, cache::KEY_MEDIA).await;
    let unsent = session_value(&c, cache::KEY_UNSENT)
        .await
        .unwrap_or_default();
    Stored {
        cache: Some(c),
        chat,
        cursor,
        notices,
        display,
        last_read,
        media,
        unsent,
        unavailable: None,
    }
}

/// The session value under `key`, if there is one that still parses (one
/// that does not is skipped: a bad value must not cost the restore).
async fn session_value<T: serde::de::DeserializeOwned>(c: &SessionCache, key: &str) -> Option<T> {
    let v = c.get_session(key).await.ok().flatten()?;
    serde_json::from_value(v).ok()
}

/// Forgets this tab's pointer to the session's database, which stays:
/// the meeting went on in another tab of this user, which uses it.
pub fn forget_pointer() {
    if let Some(s) = session_storage() {
        let _ = s.remove_item(POINTER_KEY);
    }
}

/// Deletes the session's database and this tab's pointer to it: the
/// meeting is over for this user.
pub async fn forget(room_sid: &str, user_id: &str) {
    forget_pointer();
    if let Err(e) = cache::delete_session(room_sid, user_id).await {
        web_sys::console::warn_1(&format!("cache: not deleted: {e}").into());
    }
}

/// The cache key of a chat message: its id under the subject it came on,
/// so nobody can overwrite someone else's cached message by reusing its id.
pub fn chat_key(subject: &str, id: &str) -> String {
    format!("{subject} {id}")
}

/// Deletes a session found at start whose meeting can't be resumed (the
/// room ended, or the user was removed meanwhile).
pub async fn forget_found(cache: Option<Rc<SessionCache>>) {
    let Some(c) = cache.and_then(|c| Rc::try_unwrap(c).ok()) else {
        return;
    };
    if let Some(s) = session_storage() {
        let _ = s.remove_item(POINTER_KEY);
    }
    if let Err(e) = c.delete().await {
        web_sys::console::warn_1(&format!("cache: not deleted: {e}").into());
    }
}

mod writer;
pub use writer::{provide_persist_context, use_persist, PersistContext};

thread_local! {
    /// The cache opened behind the shell's pre-join page, for its token.
    static PREPARED: std::cell::RefCell<Option<(JoinToken, Prepared)>> =
        const { std::cell::RefCell::new(None) };
}

/// The cache being opened for a session not yet joined.
pub type Prepared = futures::channel::oneshot::Receiver<Stored>;

/// Starts the startup cache work for `session` while its pre-join page
/// shows (a person takes longer than that to press Join): stale sessions
/// go, then its cache is found or created and read.
pub fn prepare(session: Session) {
    let (tx, rx) = futures::channel::oneshot::channel();
    PREPARED.with(|p| *p.borrow_mut() = Some((session.token.clone(), rx)));
    wasm_bindgen_futures::spawn_local(async move {
        cleanup_at_startup().await;
        crate::perf::mark("cache-cleaned");
        let found = find_session(Some(&session.token)).await;
        crate::perf::mark("cache-found");
        let _ = tx.send(open_for(&session, found.map(|f| f.cache)).await);
    });
}

/// The cache [`prepare`]d for `token`, if any; taken once.
pub fn take_prepared(token: &JoinToken) -> Option<Prepared> {
    PREPARED.with(|p| {
        let mut p = p.borrow_mut();
        if p.as_ref().is_some_and(|(t, _)| t == token) {
            p.take().map(|(_, rx)| rx)
        } else {
            None
        }
    })
}
