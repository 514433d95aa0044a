//! An in-memory view of the room, participant and connection buckets, kept
//! in step by one KV watch per bucket (three JetStream consumers per
//! instance, however many rooms there are), plus the due times of every
//! timer derived from it. Reads that decide nothing durable (listing rooms,
//! counting who is online, finding moderators) come from here; every write
//! still goes to KV by compare-and-set, and the writer applies what it
//! stored at once, so an instance reads its own writes.
//!
//! The view may lag another instance's write by the watch's latency. Code
//! that must not act on a miss (the callout, verifyToken) falls back to a
//! direct KV read of that one key.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use quorum_shared::ids::{RoomId, UserId};

use super::{ConnInfo, ParticipantState, Presence, RoomState};

mod follow;

mod schedule;

pub use follow::Bucket;
pub use schedule::{participant_due, room_due, Due};

/// A value and the KV revision it was read or written at.
#[derive(Debug, Clone)]
struct Versioned<T> {
    rev: u64,
    value: T,
}

#[derive(Default)]
struct State {
    rooms: HashMap<RoomId, Versioned<RoomState>>,
    /// Room id by session id (LiveKit knows a room by its session).
    by_sid: HashMap<String, RoomId>,
    /// Keyed `{room}.{user}`, ordered so a room's participants are a range.
    participants: BTreeMap<String, Versioned<ParticipantState>>,
    conns: HashMap<String, Versioned<ConnInfo>>,
    conns_by_room: HashMap<RoomId, HashSet<String>>,
    /// Due times (unix seconds), both ways.
    due_at: HashMap<Due, i64>,
    schedule: BTreeSet<(i64, Due)>,
    /// Highest online count seen per room (persisted at the end).
    peaks: HashMap<RoomId, u64>,
}

/// How far each bucket's initial load got.
#[derive(Default, Clone, Copy)]
struct Loaded {
    rooms: bool,
    participants: bool,
    conns: bool,
}

/// The shared index. Cheap to clone.
#[derive(Clone)]
pub struct Index {
    state: Arc<RwLock<State>>,
    /// Woken whenever a due time may have moved earlier.
    changed: Arc<tokio::sync::Notify>,
    loaded: Arc<tokio::sync::watch::Sender<Loaded>>,
    /// Timer rules (seconds).
    grace: Arc<Grace>,
}

/// The presence timings the due times are computed with.
#[derive(Debug, Clone, Copy)]
pub struct Grace {
    /// Disconnected → offline.
    pub offline_secs: i64,
    /// Offline → dropped from the list.
    pub cleanup_secs: i64,
    /// An end claim older than this was abandoned and may be retried.
    pub stale_claim_secs: i64,
}

fn pkey(room: &RoomId, user: &UserId) -> String {
    format!("{room}.{user}")
}

/// The key range of one room's participants: ids never contain `.`, and
/// `/` is the next character after it.
fn room_range(room: &RoomId) -> std::ops::Range<String> {
    format!("{room}.")..format!("{room}/")
}

impl Index {
    /// An empty index using `grace` for due times.
    pub fn new(grace: Grace) -> Self {
        Self {
            state: Arc::default(),
            changed: Arc::default(),
            loaded: Arc::new(tokio::sync::watch::channel(Loaded::default()).0),
            grace: Arc::new(grace),
        }
    }

    fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        // A poisoned lock only means a panic elsewhere; the data is plain.
        let s = self.state.read().unwrap_or_else(|e| e.into_inner());
        f(&s)
    }

    fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        f(&mut s)
    }

    /// Waits until every bucket's current content has been read once.
    pub async fn wait_loaded(&self) {
        let mut rx = self.loaded.subscribe();
        let _ = rx.wait_for(|l| l.rooms && l.participants && l.conns).await;
    }

    // -- reads -- //

    /// The running room, if known.
    pub fn room(&self, id: &RoomId) -> Option<RoomState> {
        self.read(|s| s.rooms.get(id).map(|v| v.value.clone()))
    }

    /// The running room whose session is `sid`, if known.
    pub fn room_by_sid(&self, sid: &str) -> Option<RoomState> {
        self.read(|s| {
            let id = s.by_sid.get(sid)?;
            // Only that session: a room id's next session is another room.
            s.rooms
                .get(id)
                .filter(|v| v.value.sid == sid)
                .map(|v| v.value.clone())
        })
    }

    /// Every running room.
    pub fn rooms(&self) -> Vec<RoomState> {
        self.read(|s| s.rooms.values().map(|v| v.value.clone()).collect())
    }

    /// How many rooms are running.
    pub fn room_count(&self) -> usize {
        self.read(|s| s.rooms.len())
    }

    /// One participant of the room's current session, if known.
    pub fn participant(&self, room: &RoomId, user: &UserId) -> Option<ParticipantState> {
        self.read(|s| {
            let sid = &s.rooms.get(room)?.value.sid;
            s.participants
                .get(&pkey(room, user))
                .map(|v| &v.value)
                .filter(|p| &p.sid == sid)
                .cloned()
        })
    }

    /// The participants of the room's current session.
    pub fn participants_of(&self, room: &RoomId) -> Vec<ParticipantState> {
        self.read(|s| {
            let Some(r) = s.rooms.get(room) else {
                return Vec::new();
            };
            s.participants
                .range(room_range(room))
                .map(|(_, v)| &v.value)
                .filter(|p| p.sid == r.value.sid)
                .cloned()
                .collect()
        })
    }

    /// How many of the room's participants are online.
    pub fn online_count(&self, room: &RoomId) -> u32 {
        self.count(room, |p| p.presence == Presence::Online)
    }

    /// How many are in the room: online, or dropped within their grace
    /// (they may be back any moment, so the room is not empty).
    pub fn present_count(&self, room: &RoomId) -> u32 {
        self.count(room, |p| {
            matches!(p.presence, Presence::Online | Presence::Disconnected)
        })
    }

    /// How many of the room's participants satisfy `f`.
    pub fn count(&self, room: &RoomId, f: impl Fn(&ParticipantState) -> bool) -> u32 {
        self.read(|s| {
            let Some(r) = s.rooms.get(room) else {
                return 0;
            };
            s.participants
                .range(room_range(room))
                .filter(|(_, v)| v.value.sid == r.value.sid && f(&v.value))
                .count() as u32
        })
    }

    /// The moderators of the room's current session.
    pub fn moderators(&self, room: &RoomId) -> Vec<UserId> {
        let mut out = Vec::new();
        self.read(|s| {
            let Some(r) = s.rooms.get(room) else { return };
            for (_, v) in s.participants.range(room_range(room)) {
                if v.value.sid == r.value.sid && v.value.is_admin {
                    out.push(v.value.user_id.clone());
                }
            }
        });
        out
    }

    /// What is known of connection `conn`.
    pub fn conn(&self, conn: &str) -> Option<ConnInfo> {
        self.read(|s| s.conns.get(conn).map(|v| v.value.clone()))
    }

    /// Every connection recorded for `room`, of any session.
    pub fn conns_of(&self, room: &RoomId) -> Vec<String> {
        self.read(|s| {
            s.conns_by_room
                .get(room)
                .map(|c| c.iter().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// The highest online count seen for `room` by this instance.
    pub fn peak(&self, room: &RoomId) -> u64 {
        self.read(|s| s.peaks.get(room).copied().unwrap_or(0))
    }

    /// How many timers are scheduled (for metrics and tests).
    pub fn scheduled(&self) -> usize {
        self.read(|s| s.schedule.len())
    }

    // -- applying changes -- //

    /// Records `room` as stored at `rev` (`None`: deleted at `rev`; what the
    /// index holds from after that stays).
    pub fn apply_room(&self, id: &RoomId, rev: u64, room: Option<RoomState>) {
        let earlier = self.write(|s| {
            if s.rooms.get(id).is_some_and(|v| v.rev > rev) {
                return false;
            }
            match room {
                Some(r) => {
                    // Records of an earlier session of this room id (left
                    // by a watch that saw them late) are dropped.
                    let stale: Vec<String> = s
                        .participants
                        .range(room_range(id))
                        .filter(|(_, v)| v.value.sid != r.sid)
                        .map(|(k, _)| k.clone())
                        .collect();
                    for k in stale {
                        if let Some(p) = s.participants.remove(&k) {
                            s.unschedule(&Due::Participant(id.clone(), p.value.user_id));
                        }
                    }
                    s.by_sid.insert(r.sid.clone(), id.clone());
                    if let Some(old) = s.rooms.insert(id.clone(), Versioned { rev, value: r }) {
                        if s.rooms
                            .get(id)
                            .is_some_and(|v| v.value.sid != old.value.sid)
                        {
                            s.by_sid.remove(&old.value.sid);
                        }
                    }
                }
                None => {
                    // The session is over: its participants go with it
                    // (their keys are purged too; this covers a watcher
                    // that sees the room's deletion first).
                    if let Some(old) = s.rooms.remove(id) {
                        s.by_sid.remove(&old.value.sid);
                        let gone: Vec<String> = s
                            .participants
                            .range(room_range(id))
                            .filter(|(_, v)| v.value.sid == old.value.sid)
                            .map(|(k, _)| k.clone())
                            .collect();
                        for k in gone {
                            if let Some(p) = s.participants.remove(&k) {
                                let due = Due::Participant(id.clone(), p.value.user_id);
                                s.unschedule(&due);
                            }
                        }
                    }
                    s.peaks.remove(id);
                }
            }
            let at = s
                .rooms
                .get(id)
                .and_then(|r| room_due(&r.value, &self.grace));
            s.reschedule(Due::Room(id.clone()), at)
        });
        if earlier {
            self.changed.notify_one();
        }
    }

    /// Records participant `(room, user)` as stored at `rev` (`None`:
    /// deleted at `rev`; what the index holds from after that stays).
    pub fn apply_participant(
        &self,
        room: &RoomId,
        user: &UserId,
        rev: u64,
        p: Option<ParticipantState>,
    ) {
        let key = pkey(room, user);
        let earlier = self.write(|s| {
            if s.participants.get(&key).is_some_and(|v| v.rev > rev) {
                return false;
            }
            let at = p.as_ref().and_then(|p| participant_due(p, &self.grace));
            match p {
                Some(p) => {
                    s.participants.insert(key, Versioned { rev, value: p });
                }
                None => {
                    s.participants.remove(&key);
                }
            }
            if s.rooms.contains_key(room) {
                let online = s.online(room);
                let peak = s.peaks.entry(room.clone()).or_default();
                *peak = (*peak).max(online);
            }
            s.reschedule(Due::Participant(room.clone(), user.clone()), at)
        });
        if earlier {
            self.changed.notify_one();
        }
    }

    /// Records connection `conn` as stored at `rev` (`None`: deleted).
    pub fn apply_conn(&self, conn: &str, rev: u64, info: Option<ConnInfo>) {
        self.write(|s| {
            if s.conns.get(conn).is_some_and(|v| v.rev > rev) {
                return;
            }
            if let Some(old) = s.conns.remove(conn) {
                if let Some(set) = s.conns_by_room.get_mut(&old.value.room_id) {
                    set.remove(conn);
                    if set.is_empty() {
                        s.conns_by_room.remove(&old.value.room_id);
                    }
                }
            }
            if let Some(info) = info {
                s.conns_by_room
                    .entry(info.room_id.clone())
                    .or_default()
                    .insert(conn.to_owned());
                s.conns
                    .insert(conn.to_owned(), Versioned { rev, value: info });
            }
        });
    }
}

impl State {
    fn online(&self, room: &RoomId) -> u64 {
        let Some(r) = self.rooms.get(room) else {
            return 0;
        };
        self.participants
            .range(room_range(room))
            .filter(|(_, v)| v.value.sid == r.value.sid && v.value.presence == Presence::Online)
            .count() as u64
    }
}
