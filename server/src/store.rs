//! Room history in SQLite: one row per room session.
//!
//! Live state is in NATS KV (see `rooms/`); SQLite only keeps what outlives
//! a session. Calls run on the blocking pool so they never stall the runtime.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection};

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The blocking task died.
    #[error("database task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// A previous panic poisoned the connection lock.
    #[error("database lock poisoned")]
    Poisoned,
}

/// One row of room history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    /// The room id.
    pub room_id: String,
    /// The session id (UUIDv4).
    pub sid: String,
    /// Title at creation.
    pub title: String,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds, once ended.
    pub ended: Option<i64>,
}

/// Handle to the history database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS room_sessions (
    id INTEGER PRIMARY KEY,
    room_id TEXT NOT NULL,
    sid TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    created INTEGER NOT NULL,
    ended INTEGER
);
CREATE INDEX IF NOT EXISTS room_sessions_room ON room_sessions(room_id);
";

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let guard = conn.lock().map_err(|_| StoreError::Poisoned)?;
            Ok(f(&guard)?)
        })
        .await?
    }

    /// Records a new room session. A repeated `sid` is ignored.
    pub async fn insert_session(&self, rec: RoomRecord) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO room_sessions (room_id, sid, title, created, ended)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![rec.room_id, rec.sid, rec.title, rec.created, rec.ended],
            )
            .map(drop)
        })
        .await
    }

    /// Marks a session ended (first end wins).
    pub async fn end_session(&self, sid: String, ended: i64) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute(
                "UPDATE room_sessions SET ended = ?2 WHERE sid = ?1 AND ended IS NULL",
                params![sid, ended],
            )
            .map(drop)
        })
        .await
    }

    /// The session with this id, if any.
    pub async fn session(&self, sid: String) -> Result<Option<RoomRecord>, StoreError> {
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT room_id, sid, title, created, ended FROM room_sessions WHERE sid = ?1",
            )?;
            let mut rows = st.query_map([sid], |r| {
                Ok(RoomRecord {
                    room_id: r.get(0)?,
                    sid: r.get(1)?,
                    title: r.get(2)?,
                    created: r.get(3)?,
                    ended: r.get(4)?,
                })
            })?;
            rows.next().transpose()
        })
        .await
    }

    /// A trivial query, for `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.with(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_and_ends_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("q.db")).unwrap();
        let rec = RoomRecord {
            room_id: "r".into(),
            sid: "s1".into(),
            title: "T".into(),
            created: 10,
            ended: None,
        };
        s.insert_session(rec.clone()).await.unwrap();
        s.insert_session(rec.clone()).await.unwrap();
        s.end_session("s1".into(), 20).await.unwrap();
        s.end_session("s1".into(), 30).await.unwrap();
        let got = s.session("s1".into()).await.unwrap().unwrap();
        assert_eq!(got.ended, Some(20));
        s.ping().await.unwrap();
    }
}
