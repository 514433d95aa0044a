//! The room's history from its JetStream stream (public chat and room
//! events), read with batched direct gets: the last [`CHAT_HISTORY`] chat
//! messages and every room event for a newcomer, and everything after the
//! last stream sequence seen after a reconnect.
//!
//! Direct get, as nats-server 2.11+ answers it (checked against 2.15):
//! `{"seq":N,"batch":B[,"next_by_subj":F]}` returns up to B messages with
//! sequence ≥ N (matching F), each with `Nats-Sequence`, `Nats-Subject` and
//! `Nats-Num-Pending` (how many more match after it), then an empty
//! message with status `204 EOB` whose `Nats-Num-Pending` says whether
//! another batch is needed. Nothing at ≥ N answers `404`;
//! `{"last_by_subj":F}` returns the newest message matching F (wildcards
//! allowed).

use std::time::Duration;

use quorum_shared::api::JoinSession;
use quorum_shared::nats_proto::Message;
use quorum_shared::subjects;
use serde_json::json;

use crate::nats::{NatsClient, RequestError};

/// Chat messages a newcomer gets from before it joined.
pub const CHAT_HISTORY: u64 = 200;
/// Messages per direct-get batch.
pub const PAGE: u64 = 256;
/// Longest wait for the next message of a batch.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Stream sequence.
    pub seq: u64,
    /// Subject it was published on.
    pub subject: String,
    /// Body.
    pub payload: Vec<u8>,
    /// Matching messages after this one, when the server said.
    pub pending: Option<u64>,
}

/// One reply to a direct get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectReply {
    /// A stored message.
    Msg(Stored),
    /// End of a batch; `pending` more match after it.
    End {
        /// Messages still to fetch.
        pending: u64,
    },
    /// Nothing (more) at or after the requested sequence.
    NotFound,
    /// Any other status, or a message without its sequence.
    Failed(String),
}

/// Classifies a direct-get reply.
pub fn parse_reply(m: &Message) -> DirectReply {
    let Some(h) = &m.headers else {
        return DirectReply::Failed("reply without headers".into());
    };
    let num = |k: &str| h.get(k).and_then(|v| v.trim().parse::<u64>().ok());
    match h.status {
        Some(204) => DirectReply::End {
            pending: num("Nats-Num-Pending").unwrap_or(0),
        },
        Some(404) => DirectReply::NotFound,
        Some(code) => DirectReply::Failed(format!(
            "status {code} {}",
            h.description.as_deref().unwrap_or_default()
        )),
        None => match (num("Nats-Sequence"), h.get("Nats-Subject")) {
            (Some(seq), Some(subject)) => DirectReply::Msg(Stored {
                seq,
                subject: subject.to_string(),
                payload: m.payload.clone(),
                pending: num("Nats-Num-Pending"),
            }),
            _ => DirectReply::Failed("stored message without sequence or subject".into()),
        },
    }
}

/// A batch request from sequence `start` (≥ 1), optionally filtered.
pub fn batch_request(start: u64, batch: u64, filter: Option<&str>) -> Vec<u8> {
    let mut v = json!({ "seq": start.max(1), "batch": batch });
    if let Some(f) = filter {
        v["next_by_subj"] = json!(f);
    }
    v.to_string().into_bytes()
}

/// A request for the newest message matching `filter`.
pub fn last_request(filter: &str) -> Vec<u8> {
    json!({ "last_by_subj": filter }).to_string().into_bytes()
}

/// Where to look for the last `want` chat messages next: `count` of them
/// are at or after `start` (the stream ends at `last`). `None` when that
/// is enough or `start` is the beginning; otherwise a start twice as far
/// back.
pub fn widen(start: u64, last: u64, count: u64, want: u64) -> Option<u64> {
    if count >= want || start <= 1 {
        return None;
    }
    let width = (last + 1).saturating_sub(start).max(want).saturating_mul(2);
    Some((last + 1).saturating_sub(width).max(1))
}

/// What a sync does, given the last sequence handled (`cursor`) and the
/// stream's last sequence now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// First time (or the stream was recreated): recent chat and all
    /// room events.
    Initial,
    /// Everything from this sequence on.
    CatchUp(u64),
    /// Nothing stored at all.
    Empty,
}

/// See [`Plan`].
pub fn plan(cursor: Option<u64>, last: u64) -> Plan {
    match cursor {
        _ if last == 0 => Plan::Empty,
        // A stream that went backwards was recreated: start over.
        Some(c) if c <= last => Plan::CatchUp(c + 1),
        _ => Plan::Initial,
    }
}

/// How far a sync got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    /// The new cursor: the last stream sequence handled.
    pub cursor: Option<u64>,
    /// Whether the room's chat came whole, from its first message: there
    /// is nothing older to ask for.
    pub whole_chat: bool,
}

impl Synced {
    fn to(cursor: u64) -> Self {
        Self {
            cursor: Some(cursor),
            whole_chat: false,
        }
    }
}

/// Why history could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HistoryError {
    /// The request failed.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The server answered something else than history.
    #[error("unexpected reply: {0}")]
    Server(String),
}

/// Where history comes from: the request subject and the room's filters.
#[derive(Debug, Clone)]
pub struct Source {
    /// Where direct-get requests go.
    pub subject: String,
    /// Every subject of the room (`qr.{room}.>`).
    pub all: String,
    /// The room's chat (`qr.{room}.chat.*`).
    pub chat: String,
    /// The room's events (`qr.{room}.public`).
    pub public: String,
}

impl Source {
    /// The history of the session's room.
    pub fn of(join: &JoinSession) -> Self {
        Self {
            subject: join.subjects.direct_get.clone(),
            all: format!("{}.{}.>", subjects::ROOT, join.room_id),
            chat: join.subjects.chat_subscribe.clone(),
            public: join.subjects.public.clone(),
        }
    }

    /// The stream's last sequence (0 when empty).
    pub(crate) async fn last_seq(&self, nats: &NatsClient) -> Result<u64, HistoryError> {
        let m = nats
            .request(&self.subject, &last_request(&self.all), REPLY_TIMEOUT)
            .await?;
        match parse_reply(&m) {
            DirectReply::Msg(s) => Ok(s.seq),
            DirectReply::NotFound => Ok(0),
            other => Err(HistoryError::Server(format!("{other:?}"))),
        }
    }

    /// How many messages match `filter` at or after `start`.
    async fn count_from(
        &self,
        nats: &NatsClient,
        start: u64,
        filter: &str,
    ) -> Result<u64, HistoryError> {
        let req = batch_request(start, 1, Some(filter));
        let m = nats.request(&self.subject, &req, REPLY_TIMEOUT).await?;
        match parse_reply(&m) {
            DirectReply::Msg(s) => Ok(s.pending.unwrap_or(0) + 1),
            DirectReply::NotFound | DirectReply::End { .. } => Ok(0),
            DirectReply::Failed(e) => Err(HistoryError::Server(e)),
        }
    }

    /// Hands every message matching `filter` from `start` on (up to
    /// `end`, exclusive) to `on`, in order, after skipping the first
    /// `skip`. Returns the last sequence seen (0 if none).
    pub(crate) async fn fetch(
        &self,
        nats: &NatsClient,
        (start, end): (u64, u64),
        filter: Option<&str>,
        mut skip: u64,
        on: &mut impl FnMut(Stored),
    ) -> Result<u64, HistoryError> {
        let (mut next, mut last) = (start.max(1), 0);
        loop {
            let req = batch_request(next, PAGE, filter);
            let mut replies = nats.request_many(&self.subject, &req)?;
            loop {
                match parse_reply(&replies.next(REPLY_TIMEOUT).await?) {
                    DirectReply::Msg(s) if s.seq >= end => return Ok(last),
                    DirectReply::Msg(s) => {
                        (next, last) = (s.seq + 1, s.seq);
                        if skip > 0 {
                            skip -= 1;
                        } else {
                            on(s);
                        }
                    }
                    DirectReply::End { pending: 0 } | DirectReply::NotFound => return Ok(last),
                    DirectReply::End { .. } => break,
                    DirectReply::Failed(e) => return Err(HistoryError::Server(e)),
                }
            }
        }
    }

    /// The `want` chat messages stored just before sequence `before`, to
    /// `on` in order: what a reader asks for on scrolling past the oldest
    /// message held. Looks back twice as far each time too few come back
    /// (as the first load does). Returns the oldest sequence handed on, or
    /// `None` when that reached the stream's first chat message.
    pub async fn earlier(
        &self,
        nats: &NatsClient,
        before: u64,
        want: u64,
        on: &mut impl FnMut(Stored),
    ) -> Result<Option<u64>, HistoryError> {
        let last = before.saturating_sub(1);
        let mut start = before.saturating_sub(want * 2).max(1);
        let chat = Some(self.chat.as_str());
        let mut page = std::collections::VecDeque::new();
        loop {
            // The range itself, bounded at `before`: chat arriving meanwhile
            // is after it, so a busy room can't starve the reader.
            page.clear();
            let mut got = 0;
            if last >= 1 {
                self.fetch(nats, (start, before), chat, 0, &mut |s| {
                    got += 1;
                    page.push_back(s);
                    if page.len() as u64 > want {
                        page.pop_front();
                    }
                })
                .await?;
            }
            match widen(start, last, got, want) {
                Some(s) => start = s,
                None => {
                    let whole = start <= 1 && got <= want;
                    let oldest = page.front().map(|s| s.seq);
                    for s in page {
                        on(s);
                    }
                    return Ok(oldest.filter(|_| !whole));
                }
            }
        }
    }

    /// After a reload whose chat came from the session cache: every room
    /// event again (the participant list is not cached), and only the chat
    /// after `after`, the sequence of the last catch-up before the reload.
    pub async fn restore(
        &self,
        nats: &NatsClient,
        after: u64,
        on: &mut impl FnMut(Stored, bool),
    ) -> Result<Synced, HistoryError> {
        let last = self.last_seq(nats).await?;
        if after > last {
            // The stream was recreated meanwhile: start over.
            return self.sync(nats, None, on).await;
        }
        let public = Some(self.public.as_str());
        self.fetch(nats, (1, u64::MAX), public, 0, &mut |s| on(s, true))
            .await?;
        let chat = Some(self.chat.as_str());
        self.fetch(nats, (after + 1, u64::MAX), chat, 0, &mut |s| on(s, false))
            .await?;
        Ok(Synced::to(last))
    }

    /// Brings the caller up to date: hands stored messages to `on` in
    /// stream order per kind (the flag says whether this is the initial
    /// load), and says how far that got.
    pub async fn sync(
        &self,
        nats: &NatsClient,
        cursor: Option<u64>,
        on: &mut impl FnMut(Stored, bool),
    ) -> Result<Synced, HistoryError> {
        if cursor.is_none() {
            return self.initial(nats, on).await;
        }
        let last = self.last_seq(nats).await?;
        match plan(cursor, last) {
            Plan::Empty => Ok(Synced {
                cursor: Some(0),
                whole_chat: false,
            }),
            Plan::CatchUp(from) => {
                let seen = self
                    .fetch(nats, (from, u64::MAX), None, 0, &mut |s| on(s, false))
                    .await?;
                Ok(Synced::to(seen.max(from - 1)))
            }
            // The stream was recreated: as the first time.
            Plan::Initial => self.initial(nats, on).await,
        }
    }

    /// The first load: the room's events from the start (a participant's
    /// presence may date from the very beginning) and, at the same time,
    /// the newest [`CHAT_HISTORY`] chat messages, whose three round trips
    /// would otherwise follow the events'. The chat is handed on after the
    /// events, so that senders are named as the participant list knows
    /// them.
    async fn initial(
        &self,
        nats: &NatsClient,
        on: &mut impl FnMut(Stored, bool),
    ) -> Result<Synced, HistoryError> {
        let public = Some(self.public.as_str());
        let mut take_event = |s| on(s, true);
        let events = self.fetch(nats, (1, u64::MAX), public, 0, &mut take_event);
        let (events, chat) = futures::future::join(events, self.newest_chat(nats)).await;
        events?;
        let (synced, chat) = chat?;
        for s in chat {
            on(s, true);
        }
        Ok(synced)
    }

    /// The newest [`CHAT_HISTORY`] chat messages up to the stream's last
    /// sequence, and how far that got.
    async fn newest_chat(&self, nats: &NatsClient) -> Result<(Synced, Vec<Stored>), HistoryError> {
        let last = self.last_seq(nats).await?;
        if last == 0 {
            let empty = Synced {
                cursor: Some(0),
                whole_chat: true,
            };
            return Ok((empty, Vec::new()));
        }
        let mut start = (last + 1).saturating_sub(CHAT_HISTORY * 2).max(1);
        let mut count = self.count_from(nats, start, &self.chat).await?;
        while let Some(s) = widen(start, last, count, CHAT_HISTORY) {
            start = s;
            count = self.count_from(nats, start, &self.chat).await?;
        }
        let skip = count.saturating_sub(CHAT_HISTORY);
        let chat = Some(self.chat.as_str());
        // Up to `last` only: what came after arrives live (the subscription
        // was in place before `last` was read), and the chat kept here
        // while the events load stays within the newest [`CHAT_HISTORY`]
        // however fast the room's chat goes meanwhile.
        let mut kept = Vec::new();
        self.fetch(nats, (start, last + 1), chat, skip, &mut |s| kept.push(s))
            .await?;
        let synced = Synced {
            cursor: Some(last),
            whole_chat: start <= 1 && skip == 0,
        };
        Ok((synced, kept))
    }
}
