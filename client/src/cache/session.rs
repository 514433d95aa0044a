//! One session's open database: typed reads and writes on its stores.
//!
//! Every write runs in one transaction together with the `lastAccessed`
//! update, so the two commit or fail together and cleanup never ages out
//! a database that was just written.

use std::cell::Cell;
use std::fmt;

use rexie::{Index, ObjectStore, Rexie, Transaction, TransactionMode, TransactionResult};
use wasm_bindgen::JsValue;

use super::cleanup::delete_named;
use super::error::CacheError;
use super::js::{chat_from_js, chat_to_js, js_to_json, js_to_u64, json_to_js, F_WRITE};
use super::{
    db_name, INDEX_CHAT_WRITE, KEY_TOKEN, LAST_ACCESSED, MAX_CHAT_RECORDS, SCHEMA_VERSION,
    STORE_CHAT, STORE_METADATA, STORE_NOTIFICATIONS, STORE_SESSION,
};
use crate::join::JoinToken;

/// Metadata key of the number of chat records written so far; each record
/// carries its write number to keep same-millisecond arrivals in order.
const CHAT_WRITES: &str = "chatWrites";
/// Deletes issued at once when pruning the chat store (see
/// [`SessionCache::put_chat`]).
const DELETE_SLICE: usize = 100;

/// Every store of the current schema.
const STORES: [&str; 4] = [
    STORE_METADATA,
    STORE_SESSION,
    STORE_CHAT,
    STORE_NOTIFICATIONS,
];

/// One chat message as it came off the wire, kept opaque: in an E2EE room
/// the payload is ciphertext and the app decrypts it again on restore, so
/// the cache never holds plaintext the server did not see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRecord {
    /// The sender's message id (the store's key: a copy replaces).
    pub id: String,
    /// Position in the room stream, if known (history tells it; live
    /// delivery does not).
    pub seq: Option<u64>,
    /// The NATS subject it arrived on, which names the sender.
    pub subject: String,
    /// The raw wire payload, stored as binary.
    pub payload: Vec<u8>,
    /// When it was received, unix ms; orders messages without a sequence.
    pub received_ms: u64,
}

/// What a handle knows of its chat store from its own writes, so a write
/// needs neither a read of the write counter nor a count of the records
/// (which walks every one of them). Only the tab in the meeting writes its
/// session's cache. Unknown (`None`) until the first write, and while a
/// write is in flight or after one failed: then the next write reads both.
#[derive(Debug, Clone, Copy, Default)]
struct ChatBook {
    /// The next record's write number.
    next_write: Option<u64>,
    /// At least as many records as the store holds (a copy that replaces
    /// one counts again, so this may run ahead; then it is counted afresh).
    at_most: Option<u32>,
}

/// An open session database. Dropping it closes the connection, so a
/// deletion elsewhere is not held up by a handle nobody uses.
pub struct SessionCache {
    /// `None` only once closed (in `delete` and `Drop`).
    db: Option<Rexie>,
    name: String,
    /// Unix ms for `lastAccessed`; injected so tests can move time.
    clock: Box<dyn Fn() -> u64>,
    chat_book: Cell<ChatBook>,
}

impl fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCache")
            .field("name", &self.name)
            .field("open", &self.db.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for SessionCache {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            db.close();
        }
    }
}

impl SessionCache {
    /// Opens (creating or upgrading) the database of the session of
    /// `user_id` in `room_sid`, and marks it accessed now.
    pub async fn open(room_sid: &str, user_id: &str) -> Result<Self, CacheError> {
        Self::open_with_clock(room_sid, user_id, || js_sys::Date::now() as u64).await
    }

    /// [`SessionCache::open`], with `clock` (unix ms) stamping every write.
    pub async fn open_with_clock(
        room_sid: &str,
        user_id: &str,
        clock: impl Fn() -> u64 + 'static,
    ) -> Result<Self, CacheError> {
        let name = db_name(room_sid, user_id);
        let db = open_schema(&name).await?;
        let cache = Self {
            db: Some(db),
            name,
            clock: Box::new(clock),
            chat_book: Cell::default(),
        };
        // Mark it in use at once: a database without `lastAccessed` is
        // fair game for another tab's cleanup.
        cache.touch().await?;
        Ok(cache)
    }

    /// The database name ([`db_name`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Marks the database accessed now, without writing anything else.
    pub async fn touch(&self) -> Result<(), CacheError> {
        let tx = self.write_tx(&[STORE_METADATA])?;
        self.commit(tx).await
    }

    /// When the database was last written, unix ms.
    pub async fn last_accessed(&self) -> Result<Option<u64>, CacheError> {
        let tx = self.read_tx(STORE_METADATA)?;
        let v = tx
            .store(STORE_METADATA)?
            .get(JsValue::from_str(LAST_ACCESSED))
            .await?;
        Ok(v.as_ref().and_then(js_to_u64))
    }

    /// Stores `value` under `key` in the session store, replacing any.
    pub async fn put_session(
        &self,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), CacheError> {
        self.put_json(STORE_SESSION, key, value).await
    }

    /// Stores `value` under `key` in `store`, replacing any.
    async fn put_json(
        &self,
        store: &str,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), CacheError> {
        let value = json_to_js(value)?;
        let tx = self.write_tx(&[store, STORE_METADATA])?;
        tx.store(store)?
            .put(&value, Some(&JsValue::from_str(key)))
            .await?;
        self.commit(tx).await
    }

    /// The session value under `key`, if any.
    pub async fn get_session(&self, key: &str) -> Result<Option<serde_json::Value>, CacheError> {
        let tx = self.read_tx(STORE_SESSION)?;
        let v = tx.store(STORE_SESSION)?.get(JsValue::from_str(key)).await?;
        v.as_ref().map(js_to_json).transpose()
    }

    /// Stores the current (renewed) join token, so a reload can rejoin
    /// after the link's own token has expired.
    pub async fn put_token(&self, token: &JoinToken) -> Result<(), CacheError> {
        let value = serde_json::Value::String(token.expose().to_string());
        self.put_session(KEY_TOKEN, &value).await
    }

    /// The stored join token, if any (a blank or non-string one is none).
    pub async fn token(&self) -> Result<Option<JoinToken>, CacheError> {
        let v = self.get_session(KEY_TOKEN).await?;
        Ok(v.as_ref()
            .and_then(serde_json::Value::as_str)
            .and_then(JoinToken::new))
    }

    /// Stores `records` (a copy of an id replaces it) in one transaction.
    /// Past [`MAX_CHAT_RECORDS`], the oldest written (records are written
    /// in the order received) are dropped down to half of that, in the
    /// same transaction: a long meeting neither fills the disk nor slows
    /// the restore (the app shows fewer anyway). Only their keys are read,
    /// from the write-number index, so pruning during a flood decodes
    /// nothing and never holds up the page.
    pub async fn put_chat(&self, records: &[ChatRecord]) -> Result<(), CacheError> {
        self.put_chat_and_session(records, &[]).await
    }

    /// [`Self::put_chat`], and the session values `session` (key, value)
    /// in the same transaction: they are written together or not at all.
    pub async fn put_chat_and_session(
        &self,
        records: &[ChatRecord],
        session: &[(&str, serde_json::Value)],
    ) -> Result<(), CacheError> {
        // Unknown while chat is in flight: a chat write started meanwhile
        // reads the store (and runs after this one, IndexedDB orders
        // them). A write of session values alone leaves it be.
        let book = (!records.is_empty()).then(|| self.chat_book.take());
        let mut stores = vec![STORE_METADATA];
        if !records.is_empty() {
            stores.push(STORE_CHAT);
        }
        if !session.is_empty() {
            stores.push(STORE_SESSION);
        }
        let tx = self.write_tx(&stores)?;
        let book = match book {
            Some(book) => Some(write_chat(&tx, records, book).await?),
            None => None,
        };
        if !session.is_empty() {
            let store = tx.store(STORE_SESSION)?;
            let puts = session
                .iter()
                .map(|(key, value)| Ok((json_to_js(value)?, JsValue::from_str(key))))
                .collect::<Result<Vec<_>, CacheError>>()?;
            // Issued back to back, awaited together.
            for done in
                futures::future::join_all(puts.iter().map(|(v, k)| store.put(v, Some(k)))).await
            {
                done?;
            }
        }
        self.commit(tx).await?;
        if let Some(book) = book {
            self.chat_book.set(book);
        }
        Ok(())
    }

    /// Every chat record: those with a stream sequence first, by sequence
    /// (the order history gives), then the rest by when they were received
    /// (and written, within one millisecond). Fed in this order, the chat
    /// log places each where it had it.
    pub async fn all_chat(&self) -> Result<Vec<ChatRecord>, CacheError> {
        let tx = self.read_tx(STORE_CHAT)?;
        let values = tx.store(STORE_CHAT)?.get_all(None, None).await?;
        // A record of another shape (a future version's) is skipped: one
        // bad record should not cost the whole restore.
        let mut rows: Vec<_> = values.iter().filter_map(|v| chat_from_js(v).ok()).collect();
        rows.sort_by_key(|(r, n)| (r.seq.is_none(), r.seq, r.received_ms, *n));
        Ok(rows.into_iter().map(|(r, _)| r).collect())
    }

    /// The number of chat records stored.
    pub async fn chat_count(&self) -> Result<u32, CacheError> {
        let tx = self.read_tx(STORE_CHAT)?;
        Ok(tx.store(STORE_CHAT)?.count(None).await?)
    }

    /// Stores notification `value` under `id`, replacing any.
    pub async fn put_notification(
        &self,
        id: &str,
        value: &serde_json::Value,
    ) -> Result<(), CacheError> {
        self.put_json(STORE_NOTIFICATIONS, id, value).await
    }

    /// Removes the notification `id` (dismissed), if stored.
    pub async fn delete_notification(&self, id: &str) -> Result<(), CacheError> {
        let tx = self.write_tx(&[STORE_NOTIFICATIONS, STORE_METADATA])?;
        tx.store(STORE_NOTIFICATIONS)?
            .delete(JsValue::from_str(id))
            .await?;
        self.commit(tx).await
    }

    /// Every stored notification as `(id, value)`, in id order.
    pub async fn notifications(&self) -> Result<Vec<(String, serde_json::Value)>, CacheError> {
        let tx = self.read_tx(STORE_NOTIFICATIONS)?;
        let pairs = tx
            .store(STORE_NOTIFICATIONS)?
            .scan(None, None, None, None)
            .await?;
        pairs
            .iter()
            .filter_map(|(k, v)| Some((k.as_string()?, v)))
            .map(|(k, v)| Ok((k, js_to_json(v)?)))
            .collect()
    }

    /// Closes the connection and deletes the database (leaving the room),
    /// waiting until it is gone or [`super::DELETE_TIMEOUT`] passes.
    pub async fn delete(mut self) -> Result<(), CacheError> {
        // Our own open handle would hold up the deletion.
        if let Some(db) = self.db.take() {
            db.close();
        }
        delete_named(&self.name).await
    }

    /// Closes the connection (as dropping does).
    pub fn close(self) {}

    fn db(&self) -> Result<&Rexie, CacheError> {
        self.db.as_ref().ok_or_else(CacheError::closed)
    }

    fn read_tx(&self, store: &str) -> Result<Transaction, CacheError> {
        Ok(self
            .db()?
            .transaction(&[store], TransactionMode::ReadOnly)?)
    }

    /// A read-write transaction; `stores` must include the metadata store,
    /// which [`Self::commit`] writes.
    fn write_tx(&self, stores: &[&str]) -> Result<Transaction, CacheError> {
        Ok(self.db()?.transaction(stores, TransactionMode::ReadWrite)?)
    }

    /// Stamps `lastAccessed` in `tx` and waits for the transaction to
    /// commit.
    async fn commit(&self, tx: Transaction) -> Result<(), CacheError> {
        let now = JsValue::from_f64((self.clock)() as f64);
        tx.store(STORE_METADATA)?
            .put(&now, Some(&JsValue::from_str(LAST_ACCESSED)))
            .await?;
        match tx.done().await? {
            TransactionResult::Committed => Ok(()),
            TransactionResult::Aborted => Err(CacheError::aborted()),
        }
    }
}

/// Puts `records` in `tx`'s chat store, numbered from the write counter,
/// and prunes past [`MAX_CHAT_RECORDS`] (see [`SessionCache::put_chat`]);
/// returns what the handle knows once `tx` commits.
async fn write_chat(
    tx: &Transaction,
    records: &[ChatRecord],
    book: ChatBook,
) -> Result<ChatBook, CacheError> {
    let meta = tx.store(STORE_METADATA)?;
    let counter = JsValue::from_str(CHAT_WRITES);
    let first = match book.next_write {
        Some(n) => n,
        None => meta
            .get(counter.clone())
            .await?
            .as_ref()
            .and_then(js_to_u64)
            .unwrap_or(0),
    };
    let values = records
        .iter()
        .zip(first..)
        .map(|(r, n)| chat_to_js(r, n).map(|v| (v, None)))
        .collect::<Result<Vec<_>, _>>()?;
    // Issued back to back; only the last request is awaited.
    let chat = tx.store(STORE_CHAT)?;
    chat.put_all(values.into_iter()).await?;
    let next = first + records.len() as u64;
    meta.put(&JsValue::from_f64(next as f64), Some(&counter))
        .await?;
    let added = u32::try_from(records.len()).unwrap_or(u32::MAX);
    let mut at_most = book.at_most.map(|n| n.saturating_add(added));
    if at_most.is_none_or(|n| n > MAX_CHAT_RECORDS) {
        let count = chat.count(None).await?;
        let mut kept = count;
        if count > MAX_CHAT_RECORDS {
            let drop = count - MAX_CHAT_RECORDS / 2;
            let oldest = chat
                .index(INDEX_CHAT_WRITE)?
                .get_all_keys(None, Some(drop))
                .await?;
            // Issued back to back, a slice at a time: the next slice goes
            // out as the last of one completes (in the same transaction).
            // A thousand issued at once were one task of 69 ms in a burst.
            for slice in oldest.chunks(DELETE_SLICE) {
                let deletes = slice.iter().map(|key| chat.delete(key.clone()));
                for done in futures::future::join_all(deletes).await {
                    done?;
                }
            }
            kept = count.saturating_sub(u32::try_from(oldest.len()).unwrap_or(u32::MAX));
        }
        at_most = Some(kept);
    }
    Ok(ChatBook {
        next_write: Some(next),
        at_most,
    })
}

/// Opens `name` at [`SCHEMA_VERSION`]; the upgrade creates missing stores.
async fn build(name: &str) -> Result<Rexie, CacheError> {
    // The chat store keys records by their `id` field; the others take
    // their key with each write.
    Rexie::builder(name)
        .version(SCHEMA_VERSION)
        .add_object_store(ObjectStore::new(STORE_METADATA))
        .add_object_store(ObjectStore::new(STORE_SESSION))
        .add_object_store(
            ObjectStore::new(STORE_CHAT)
                .key_path("id")
                .add_index(Index::new(INDEX_CHAT_WRITE, F_WRITE)),
        )
        .add_object_store(ObjectStore::new(STORE_NOTIFICATIONS))
        .build()
        .await
        .map_err(CacheError::opening)
}

fn has_all_stores(db: &Rexie) -> bool {
    let names = db.store_names();
    STORES.iter().all(|s| names.iter().any(|n| n == s))
}

/// [`build`], starting over once if the database is at our version but
/// lacks stores. That happens when cleanup's version-less open recreated
/// it empty just as it was deleted; such a database holds nothing.
async fn open_schema(name: &str) -> Result<Rexie, CacheError> {
    let db = build(name).await?;
    if has_all_stores(&db) {
        return Ok(db);
    }
    db.close();
    delete_named(name).await?;
    let db = build(name).await?;
    if has_all_stores(&db) {
        Ok(db)
    } else {
        db.close();
        Err(CacheError::Failed(format!("{name}: stores missing")))
    }
}
