//! Listing, ageing out and deleting session databases.
//!
//! Cleanup runs at startup: a session left behind (tab closed, browser
//! crashed) would otherwise keep its token and chat on disk for ever.

use std::time::Duration;

use futures::future::{select, Either};
use js_sys::{Array, Function, Promise, Reflect};
use rexie::{Rexie, TransactionMode};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::error::CacheError;
use super::js::js_to_u64;
use super::{db_name, is_ours, LAST_ACCESSED, STORE_METADATA};
use crate::util::Sleep;

/// How long a deletion may wait for connections elsewhere (other tabs) to
/// close before [`CacheError::Blocked`] is returned. Ours close as soon as
/// asked, so only a stuck tab makes it wait.
pub const DELETE_TIMEOUT: Duration = Duration::from_secs(5);

/// What [`cleanup_stale`] did with each of our databases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupReport {
    /// Written recently enough: left alone.
    pub kept: Vec<String>,
    /// Stale or without `lastAccessed`: deleted.
    pub deleted: Vec<String>,
    /// Could not be read or deleted, and why; left for the next run.
    pub failed: Vec<(String, CacheError)>,
}

/// The names of all IndexedDB databases of this origin, ours and others,
/// from `indexedDB.databases()`.
///
/// [`CacheError::Unavailable`] without IndexedDB or where the browser
/// lacks `databases()` (Firefox before 126).
pub async fn database_names() -> Result<Vec<String>, CacheError> {
    let factory = indexed_db()?;
    // web-sys does not bind `databases()`, so it is called by name.
    let databases = Reflect::get(&factory, &JsValue::from_str("databases"))
        .map_err(CacheError::from_js)?
        .dyn_into::<Function>()
        .map_err(|_| CacheError::Unavailable("indexedDB.databases() is not supported".into()))?;
    let promise = databases
        .call0(&factory)
        .map_err(CacheError::from_js)?
        .dyn_into::<Promise>()
        .map_err(|_| CacheError::Failed("indexedDB.databases() returned no promise".into()))?;
    let list = JsFuture::from(promise).await.map_err(CacheError::from_js)?;
    let list = list
        .dyn_into::<Array>()
        .map_err(|_| CacheError::Failed("indexedDB.databases() returned no array".into()))?;
    Ok(list
        .iter()
        .filter_map(|info| Reflect::get(&info, &JsValue::from_str("name")).ok())
        .filter_map(|name| name.as_string())
        .collect())
}

/// Deletes every database of ours (named with [`super::DB_PREFIX`]) whose
/// `lastAccessed` is missing or older than `now_ms - max_age_ms`. Other
/// databases are not opened. `now_ms` is passed in so tests can move time.
///
/// Fails only if the databases cannot be listed; a database that cannot
/// be read or deleted goes into [`CleanupReport::failed`].
pub async fn cleanup_stale(now_ms: u64, max_age_ms: u64) -> Result<CleanupReport, CacheError> {
    let cutoff = now_ms.saturating_sub(max_age_ms);
    let mut report = CleanupReport::default();
    for name in database_names().await?.into_iter().filter(|n| is_ours(n)) {
        let outcome = match last_accessed_of(&name).await {
            Ok(Some(t)) if t >= cutoff => {
                report.kept.push(name);
                continue;
            }
            Ok(_) => delete_named(&name).await,
            // Unreadable is not proof of stale: keep it for the next run.
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => report.deleted.push(name),
            Err(e) => report.failed.push((name, e)),
        }
    }
    Ok(report)
}

/// Deletes the database of the session of `user_id` in `room_sid` (on
/// leaving), waiting until it is gone or [`DELETE_TIMEOUT`] passes.
/// Handles open in this page close themselves when asked.
pub async fn delete_session(room_sid: &str, user_id: &str) -> Result<(), CacheError> {
    delete_named(&db_name(room_sid, user_id)).await
}

/// Deletes database `name`. Connections opened through rexie close on the
/// `versionchange` event a deletion sends, so only a connection in
/// another tab that ignores it holds things up; then we stop waiting (the
/// deletion stays queued) rather than hang the caller.
pub(crate) async fn delete_named(name: &str) -> Result<(), CacheError> {
    let delete = Box::pin(Rexie::delete(name));
    match select(delete, Sleep::new(DELETE_TIMEOUT)).await {
        Either::Left((result, _)) => result.map_err(CacheError::from),
        Either::Right(((), _)) => Err(CacheError::Blocked(name.to_string())),
    }
}

/// `lastAccessed` of database `name`, opened without a version so that
/// nothing in it is created, upgraded or removed.
async fn last_accessed_of(name: &str) -> Result<Option<u64>, CacheError> {
    let db = Rexie::builder(name)
        .build()
        .await
        .map_err(CacheError::opening)?;
    let result = read_last_accessed(&db).await;
    // Closed before any deletion, which it would otherwise hold up.
    db.close();
    result
}

async fn read_last_accessed(db: &Rexie) -> Result<Option<u64>, CacheError> {
    if !db.store_names().iter().any(|s| s == STORE_METADATA) {
        return Ok(None);
    }
    let tx = db.transaction(&[STORE_METADATA], TransactionMode::ReadOnly)?;
    let v = tx
        .store(STORE_METADATA)?
        .get(JsValue::from_str(LAST_ACCESSED))
        .await?;
    Ok(v.as_ref().and_then(js_to_u64))
}

/// The global `indexedDB`, which is missing or throws where storage is
/// denied.
fn indexed_db() -> Result<JsValue, CacheError> {
    let factory = Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
        .map_err(|e| CacheError::Unavailable(super::error::js_text(&e)))?;
    if factory.is_undefined() || factory.is_null() {
        return Err(CacheError::Unavailable("no indexedDB here".into()));
    }
    Ok(factory)
}
