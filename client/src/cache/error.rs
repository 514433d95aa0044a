//! Browser storage failures, sorted into the few kinds the app treats
//! differently: no storage at all, a full disk, a deletion held up by
//! another tab, and everything else.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::DomException;

/// Why the session cache could not do something. None of these is fatal:
/// the app shows a small notice and continues without the cache.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// No usable IndexedDB: private browsing, storage disabled or blocked
    /// by the browser's settings, or a context without storage.
    #[error("browser storage is unavailable: {0}")]
    Unavailable(String),
    /// The origin's storage quota is used up.
    #[error("browser storage is full")]
    Quota,
    /// Deleting the named database is waiting for a connection elsewhere
    /// (another tab) to close. The deletion stays queued in the browser
    /// and happens once that connection goes.
    #[error("deleting {0} is held up by another tab")]
    Blocked(String),
    /// Anything else: a failed request or transaction, a database closed
    /// under us (deleted by another tab), or a record we cannot read.
    #[error("browser storage failed: {0}")]
    Failed(String),
}

impl CacheError {
    /// Maps a failure to open a database. Failing to open means there is
    /// no storage to use, unless the disk is full or the database was
    /// written by a newer app (which is worth telling apart in a report).
    pub(crate) fn opening(e: rexie::Error) -> Self {
        match Self::from(e) {
            Self::Failed(m) if m.starts_with("VersionError") => {
                Self::Failed(format!("stored by a newer version of the app ({m})"))
            }
            Self::Failed(m) => Self::Unavailable(m),
            other => other,
        }
    }

    /// Maps an exception thrown by a JS call we make ourselves.
    pub(crate) fn from_js(v: JsValue) -> Self {
        match v.dyn_ref::<DomException>() {
            Some(d) => Self::from_dom(d),
            None => Self::Failed(js_text(&v)),
        }
    }

    fn from_dom(d: &DomException) -> Self {
        match d.name().as_str() {
            "QuotaExceededError" => Self::Quota,
            // Thrown on touching `indexedDB` where storage is denied.
            "SecurityError" => Self::Unavailable(format!("SecurityError: {}", d.message())),
            name => Self::Failed(format!("{name}: {}", d.message())),
        }
    }

    /// A transaction that ended in `abort` rather than `complete`. rexie
    /// does not hand over the transaction's error, so a full disk cannot
    /// be told from other causes here; it is the usual one for our writes.
    pub(crate) fn aborted() -> Self {
        Self::Failed("transaction aborted (storage full?)".into())
    }

    /// Used on a handle that was already closed.
    pub(crate) fn closed() -> Self {
        Self::Failed("database is closed".into())
    }
}

impl From<rexie::Error> for CacheError {
    fn from(e: rexie::Error) -> Self {
        use idb::Error as E;
        match e {
            rexie::Error::IdbError(inner) => match inner {
                E::IndexedDbNotFound(v) => {
                    Self::Unavailable(format!("no indexedDB here ({})", js_text(&v)))
                }
                // `indexedDB.open` itself threw (e.g. SecurityError).
                E::IndexedDbOpenFailed(v) => Self::Unavailable(js_text(&v)),
                E::DomException(d) => Self::from_dom(&d),
                other => Self::Failed(other.to_string()),
            },
            rexie::Error::TransactionAbortFailed | rexie::Error::TransactioncommitFailed => {
                Self::aborted()
            }
            // rexie's enum is non-exhaustive.
            other => Self::Failed(other.to_string()),
        }
    }
}

/// A readable line for a thrown JS value, for messages and logs.
pub(crate) fn js_text(v: &JsValue) -> String {
    if let Some(s) = v.as_string() {
        s
    } else if let Some(d) = v.dyn_ref::<DomException>() {
        format!("{}: {}", d.name(), d.message())
    } else if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        String::from(e.to_string())
    } else {
        format!("{v:?}")
    }
}
