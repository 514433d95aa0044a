//! Room history in SQLite: one row per room session.
//!
//! Live state is in NATS KV (see `rooms/`); SQLite only keeps what outlives
//! a session. Calls run on the blocking pool so they never stall the runtime.
//!
//! The database file is created 0600 before SQLite opens it, and it and its
//! `-wal`/`-shm` files are made 0600 if an older version left them open.

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
    /// The database file could not be created or its mode set.
    #[error("database file: {0}")]
    Io(#[from] std::io::Error),
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
    /// Peak participants online at once.
    pub joined_participants: i64,
    /// The session's webhook target.
    pub webhook_url: String,
    /// Id of the analytics file, if written.
    pub analytics_file_id: Option<String>,
}

/// Which page of history to read.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    /// Only these rooms (empty = all).
    pub room_ids: Vec<String>,
    /// Offset.
    pub from: u32,
    /// Page size.
    pub limit: u32,
    /// Newest first.
    pub descending: bool,
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
    ended INTEGER,
    joined_participants INTEGER NOT NULL DEFAULT 0,
    webhook_url TEXT NOT NULL DEFAULT '',
    analytics_file_id TEXT
);
CREATE INDEX IF NOT EXISTS room_sessions_room ON room_sessions(room_id);
";

const COLUMNS: &str =
    "room_id, sid, title, created, ended, joined_participants, webhook_url, analytics_file_id";

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<RoomRecord> {
    Ok(RoomRecord {
        room_id: r.get(0)?,
        sid: r.get(1)?,
        title: r.get(2)?,
        created: r.get(3)?,
        ended: r.get(4)?,
        joined_participants: r.get(5)?,
        webhook_url: r.get(6)?,
        analytics_file_id: r.get(7)?,
    })
}

impl Store {
    /// Opens (creating if needed) the database at `path`, readable and
    /// writable by its owner only.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        create_private(path)?;
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        // SQLite gives its side files the database file's mode; an older
        // version's may still be open to others.
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            let side = std::path::PathBuf::from(side);
            if side.is_file() {
                crate::secrets::restrict(&side, crate::secrets::FILE_MODE);
            }
        }
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
                "INSERT OR IGNORE INTO room_sessions
                 (room_id, sid, title, created, ended, joined_participants, webhook_url, analytics_file_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    rec.room_id,
                    rec.sid,
                    rec.title,
                    rec.created,
                    rec.ended,
                    rec.joined_participants,
                    rec.webhook_url,
                    rec.analytics_file_id
                ],
            )
            .map(drop)
        })
        .await
    }

    /// Marks a session ended with its peak participant count and analytics
    /// file (first end wins).
    pub async fn end_session(
        &self,
        sid: String,
        ended: i64,
        peak: i64,
        analytics_file_id: Option<String>,
    ) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute(
                "UPDATE room_sessions SET ended = ?2, joined_participants = ?3, analytics_file_id = ?4
                 WHERE sid = ?1 AND ended IS NULL",
                params![sid, ended, peak, analytics_file_id],
            )
            .map(drop)
        })
        .await
    }

    /// Removes the row of a session whose creation did not complete.
    pub async fn delete_session(&self, sid: String) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute(
                "DELETE FROM room_sessions WHERE sid = ?1 AND ended IS NULL",
                [sid],
            )
            .map(drop)
        })
        .await
    }

    /// Whether any session of `room_id` was ever recorded.
    pub async fn room_known(&self, room_id: String) -> Result<bool, StoreError> {
        self.with(move |c| {
            c.query_row(
                "SELECT EXISTS(SELECT 1 FROM room_sessions WHERE room_id = ?1)",
                [room_id],
                |r| r.get(0),
            )
        })
        .await
    }

    /// One page of history and the total number of matching rows.
    pub async fn history(&self, q: HistoryQuery) -> Result<(i64, Vec<RoomRecord>), StoreError> {
        self.with(move |c| page(c, None, &q)).await
    }

    /// The session with this id, if any.
    pub async fn session(&self, sid: String) -> Result<Option<RoomRecord>, StoreError> {
        self.with(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM room_sessions WHERE sid = ?1"
            ))?;
            let mut rows = st.query_map([sid], row_to_record)?;
            rows.next().transpose()
        })
        .await
    }

    /// One page of the sessions that have an analytics file, and how many
    /// there are in all.
    pub async fn analytics_history(
        &self,
        q: HistoryQuery,
    ) -> Result<(i64, Vec<RoomRecord>), StoreError> {
        self.with(move |c| page(c, Some("analytics_file_id IS NOT NULL"), &q))
            .await
    }

    /// The session whose analytics file is `file_id`, if any.
    pub async fn session_by_analytics_file(
        &self,
        file_id: String,
    ) -> Result<Option<RoomRecord>, StoreError> {
        self.with(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM room_sessions WHERE analytics_file_id = ?1"
            ))?;
            let mut rows = st.query_map([file_id], row_to_record)?;
            rows.next().transpose()
        })
        .await
    }

    /// Forgets the analytics file `file_id` (its session row stays);
    /// whether a row named it.
    pub async fn clear_analytics_file(&self, file_id: String) -> Result<bool, StoreError> {
        self.with(move |c| {
            c.execute(
                "UPDATE room_sessions SET analytics_file_id = NULL WHERE analytics_file_id = ?1",
                [file_id],
            )
            .map(|n| n > 0)
        })
        .await
    }

    /// A trivial query, for `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.with(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
    }
}

/// Creates `path` empty with mode 0600 if absent (so SQLite, which keeps
/// an existing file's mode, never creates it world-readable), or makes an
/// existing one 0600.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(crate::secrets::FILE_MODE);
    }
    opts.open(path)?;
    crate::secrets::restrict(path, crate::secrets::FILE_MODE);
    Ok(())
}

/// One page of sessions matching `condition` (a fixed SQL condition, never
/// input) and `q`'s room filter, and how many match in all.
fn page(
    c: &rusqlite::Connection,
    condition: Option<&str>,
    q: &HistoryQuery,
) -> rusqlite::Result<(i64, Vec<RoomRecord>)> {
    // Placeholders for the room filter; values are bound, never spliced.
    let mut parts: Vec<String> = condition.map(str::to_owned).into_iter().collect();
    if !q.room_ids.is_empty() {
        let marks = vec!["?"; q.room_ids.len()].join(",");
        parts.push(format!("room_id IN ({marks})"));
    }
    let filter = if parts.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", parts.join(" AND "))
    };
    let order = if q.descending { "DESC" } else { "ASC" };
    let total: i64 = c.query_row(
        &format!("SELECT COUNT(*) FROM room_sessions {filter}"),
        rusqlite::params_from_iter(q.room_ids.iter()),
        |r| r.get(0),
    )?;
    let sql = format!(
        "SELECT {COLUMNS} FROM room_sessions {filter} ORDER BY id {order} LIMIT {} OFFSET {}",
        q.limit, q.from
    );
    let mut st = c.prepare(&sql)?;
    let rows = st
        .query_map(rusqlite::params_from_iter(q.room_ids.iter()), row_to_record)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((total, rows))
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
            joined_participants: 0,
            webhook_url: String::new(),
            analytics_file_id: None,
        };
        s.insert_session(rec.clone()).await.unwrap();
        s.insert_session(rec.clone()).await.unwrap();
        s.insert_session(RoomRecord {
            room_id: "other".into(),
            sid: "s2".into(),
            ..rec.clone()
        })
        .await
        .unwrap();
        s.end_session("s1".into(), 20, 3, Some("a1".into()))
            .await
            .unwrap();
        s.end_session("s1".into(), 30, 9, None).await.unwrap();
        let got = s.session("s1".into()).await.unwrap().unwrap();
        assert_eq!((got.ended, got.joined_participants), (Some(20), 3));
        assert_eq!(got.analytics_file_id.as_deref(), Some("a1"));
        assert!(s.room_known("r".into()).await.unwrap());
        assert!(!s.room_known("x".into()).await.unwrap());
        let q = |ids: Vec<&str>, descending| HistoryQuery {
            room_ids: ids.into_iter().map(String::from).collect(),
            from: 0,
            limit: 10,
            descending,
        };
        let (total, rows) = s.history(q(vec![], true)).await.unwrap();
        assert_eq!((total, rows[0].sid.as_str()), (2, "s2"));
        let (total, rows) = s.history(q(vec!["r"], false)).await.unwrap();
        assert_eq!((total, rows.len(), rows[0].sid.as_str()), (1, 1, "s1"));
        s.ping().await.unwrap();

        // Only sessions with an analytics file are listed as analytics.
        let (total, rows) = s.analytics_history(q(vec![], true)).await.unwrap();
        assert_eq!((total, rows.len(), rows[0].sid.as_str()), (1, 1, "s1"));
        let (total, _) = s.analytics_history(q(vec!["other"], true)).await.unwrap();
        assert_eq!(total, 0);
        let got = s.session_by_analytics_file("a1".into()).await.unwrap();
        assert_eq!(got.map(|r| r.sid), Some("s1".into()));
        assert!(s.clear_analytics_file("a1".into()).await.unwrap());
        assert!(!s.clear_analytics_file("a1".into()).await.unwrap());
        assert_eq!(
            s.session_by_analytics_file("a1".into()).await.unwrap(),
            None
        );
        assert_eq!(s.analytics_history(q(vec![], true)).await.unwrap().0, 0);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("q.db");
        let s = Store::open(&db).unwrap();
        s.ping().await.unwrap();
        for name in ["q.db", "q.db-wal", "q.db-shm"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
}
