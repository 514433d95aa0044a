//! NATS subject builders: the one place that decides the subject layout.
//!
//! The server derives each user's allow-lists from these same functions, so
//! a subject the client uses is, by construction, one it was granted.
//! Identity lives in the subject tokens (`{room}.{user}`): nats-server only
//! lets a user publish under its own user token, so receivers take the
//! sender from the subject, never from the payload.

use serde::{Deserialize, Serialize};

use crate::ids::{RoomId, UserId};

/// Root token of every room subject.
pub const ROOT: &str = "qr";

/// Room-wide public chat published by `user`.
pub fn chat(room: &RoomId, user: &UserId) -> String {
    format!("{ROOT}.{room}.chat.{user}")
}

/// Wildcard that receives every participant's public chat in a room.
pub fn chat_all(room: &RoomId) -> String {
    format!("{ROOT}.{room}.chat.*")
}

/// Wildcard over every room's public chat (the server's meter).
pub const CHAT_ALL: &str = "qr.*.chat.*";

/// Wildcard over every room's private chat (the server's meter).
pub const DM_ALL: &str = "qr.*.dm.*.*";

/// System events the server sends to everybody in the room.
pub fn public(room: &RoomId) -> String {
    format!("{ROOT}.{room}.public")
}

/// System events the server sends to one user only.
pub fn private(room: &RoomId, user: &UserId) -> String {
    format!("{ROOT}.{room}.private.{user}")
}

/// A private chat message from `from` to `to`. Peers publish these
/// directly; nats-server only lets `from` use its own last token, so the
/// receiver takes the sender from the subject as with public chat.
pub fn dm(room: &RoomId, to: &UserId, from: &UserId) -> String {
    format!("{ROOT}.{room}.dm.{to}.{from}")
}

/// What `user` may publish private chat on: to anyone, as itself.
pub fn dm_from(room: &RoomId, user: &UserId) -> String {
    format!("{ROOT}.{room}.dm.*.{user}")
}

/// Where `user` receives private chat: from anyone, to itself.
pub fn dm_to(room: &RoomId, user: &UserId) -> String {
    format!("{ROOT}.{room}.dm.{user}.*")
}

/// Splits a private chat subject into room, recipient and sender. `None`
/// for anything else, including tokens that are not valid ids.
pub fn parse_dm(subject: &str) -> Option<(RoomId, UserId, UserId)> {
    let mut it = subject.split('.');
    let (root, room, k, to, from) = (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    if root != ROOT || k != "dm" || it.next().is_some() {
        return None;
    }
    Some((
        RoomId::parse(room).ok()?,
        UserId::parse(to).ok()?,
        UserId::parse(from).ok()?,
    ))
}

/// Requests from `user` to the server (the server listens on `worker_all`).
pub fn worker(room: &RoomId, user: &UserId) -> String {
    format!("{ROOT}.{room}.worker.{user}")
}

/// Wildcard the server subscribes to for every user's requests.
pub const WORKER_ALL: &str = "qr.*.worker.*";

/// Reply inbox prefix owned by `user`; replies to its requests land below it.
pub fn inbox_prefix(room: &RoomId, user: &UserId) -> String {
    format!("_INBOX.{room}.{user}")
}

/// JetStream stream holding a room's public chat and room-wide events, so
/// reconnecting clients and late joiners can fetch what they missed.
pub fn room_stream(room: &RoomId) -> String {
    format!("QR_{room}")
}

/// Subject of JetStream's read-only "direct get" on the room's stream.
/// Only the server calls it, forwarding participants' [`history`] requests:
/// JetStream answers on whatever reply subject a request names, so a
/// participant allowed to call it could have stored messages republished
/// onto any subject (another user's chat, the room's events, the worker).
pub fn direct_get(room: &RoomId) -> String {
    format!("$JS.API.DIRECT.GET.{}", room_stream(room))
}

/// Where `user` sends direct-get requests (JetStream's JSON) for the room's
/// history; the server forwards each to [`direct_get`] with the caller's
/// own reply inbox, and JetStream answers there.
pub fn history(room: &RoomId, user: &UserId) -> String {
    format!("{ROOT}.{room}.history.{user}")
}

/// Wildcard the server subscribes to for every user's history requests.
pub const HISTORY_ALL: &str = "qr.*.history.*";

/// JetStream stream keeping each user's private system events (approval,
/// removal, locks, messages to one user), so one missed during a drop is
/// delivered after the reconnect. Apart from the room stream because a
/// direct get can't filter "the room, but not other users' private
/// subjects".
pub fn private_stream(room: &RoomId) -> String {
    format!("QRP_{room}")
}

/// Every user's private subject in a room (what [`private_stream`] keeps).
pub fn private_all(room: &RoomId) -> String {
    format!("{ROOT}.{room}.private.*")
}

/// Subject of JetStream's direct get on [`private_stream`]; server only.
pub fn private_direct_get(room: &RoomId) -> String {
    format!("$JS.API.DIRECT.GET.{}", private_stream(room))
}

/// Where `user` asks for its own missed private events. The server builds
/// the direct get itself, always filtered to the caller's own private
/// subject, and JetStream answers on the caller's inbox.
pub fn private_history(room: &RoomId, user: &UserId) -> String {
    format!("{ROOT}.{room}.mine.{user}")
}

/// Wildcard the server subscribes to for every user's private-history
/// requests.
pub const PRIVATE_HISTORY_ALL: &str = "qr.*.mine.*";

/// Whether `reply` is a reply subject under `user`'s own inbox: the only
/// place the server sends (or has JetStream send) answers to.
pub fn owns_inbox(room: &RoomId, user: &UserId, reply: &str) -> bool {
    reply
        .strip_prefix(&inbox_prefix(room, user))
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|rest| !rest.is_empty())
}

/// Subjects captured by the room stream.
pub fn room_stream_subjects(room: &RoomId) -> Vec<String> {
    vec![chat_all(room), public(room)]
}

/// What a participant may currently do; the callout turns it into NATS
/// allow-lists, so a lock is enforced by nats-server, not by the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Access {
    /// In the waiting room: may only hear its approval or rejection.
    pub waiting: bool,
    /// Chat-locked: may not publish chat, public or private.
    pub chat_locked: bool,
    /// Private-chat-locked: may not publish private chat.
    #[serde(default)]
    pub private_locked: bool,
}

/// Splits a chat subject into its room and sender. `None` for anything else,
/// including subjects whose tokens are not valid ids.
pub fn parse_chat(subject: &str) -> Option<(RoomId, UserId)> {
    parse_user_subject(subject, "chat")
}

/// Splits a worker subject into its room and sender.
pub fn parse_worker(subject: &str) -> Option<(RoomId, UserId)> {
    parse_user_subject(subject, "worker")
}

/// Splits a history subject into its room and sender.
pub fn parse_history(subject: &str) -> Option<(RoomId, UserId)> {
    parse_user_subject(subject, "history")
}

/// Splits a private-history subject into its room and sender.
pub fn parse_private_history(subject: &str) -> Option<(RoomId, UserId)> {
    parse_user_subject(subject, "mine")
}

fn parse_user_subject(subject: &str, kind: &str) -> Option<(RoomId, UserId)> {
    let mut it = subject.split('.');
    let (root, room, k, user) = (it.next()?, it.next()?, it.next()?, it.next()?);
    if root != ROOT || k != kind || it.next().is_some() {
        return None;
    }
    Some((RoomId::parse(room).ok()?, UserId::parse(user).ok()?))
}

/// The subjects one user may use, as handed to the browser by
/// `/api/verifyToken` and enforced by the NATS auth callout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSubjects {
    /// Where this user publishes its public chat.
    pub chat_publish: String,
    /// Where this user receives everybody's public chat.
    pub chat_subscribe: String,
    /// Room-wide system events.
    pub public: String,
    /// This user's private system events.
    pub private: String,
    /// Where this user sends requests to the server.
    pub worker: String,
    /// Prefix for this user's reply inboxes.
    pub inbox_prefix: String,
    /// Where to send JetStream direct-get requests (with a reply subject
    /// under `inbox_prefix`) for the room's history; see [`history`].
    pub direct_get: String,
    /// Where to ask for this user's own missed private events; see
    /// [`private_history`].
    pub private_history: String,
    /// Private chat this user may send (`qr.{room}.dm.*.{user}`; the
    /// recipient replaces the `*`).
    pub dm_publish: String,
    /// Private chat this user receives (`qr.{room}.dm.{user}.*`).
    pub dm_subscribe: String,
}

impl UserSubjects {
    /// The subjects for `user` in `room`.
    pub fn new(room: &RoomId, user: &UserId) -> Self {
        Self {
            chat_publish: chat(room, user),
            chat_subscribe: chat_all(room),
            public: public(room),
            private: private(room, user),
            worker: worker(room, user),
            inbox_prefix: inbox_prefix(room, user),
            direct_get: history(room, user),
            private_history: private_history(room, user),
            dm_publish: dm_from(room, user),
            dm_subscribe: dm_to(room, user),
        }
    }

    /// Subjects this user may publish to.
    pub fn publish_allow(&self, access: Access) -> Vec<String> {
        if access.waiting {
            return Vec::new();
        }
        let mut out = vec![
            self.worker.clone(),
            self.direct_get.clone(),
            self.private_history.clone(),
        ];
        if !access.chat_locked {
            out.push(self.chat_publish.clone());
            if !access.private_locked {
                out.push(self.dm_publish.clone());
            }
        }
        out
    }

    /// Subjects this user may not publish to. nats-server reads an empty
    /// allow-list as "no restriction", so a user who may publish nothing
    /// (waiting) needs an explicit deny-all.
    pub fn publish_deny(&self, access: Access) -> Vec<String> {
        if self.publish_allow(access).is_empty() {
            vec![">".to_owned()]
        } else {
            Vec::new()
        }
    }

    /// Subscriptions this user may not make: any in a queue group. A
    /// participant allowed to hear a subject could otherwise join the
    /// server's own queue group on it and take messages away from it.
    pub fn subscribe_deny(&self) -> Vec<String> {
        vec!["> *".to_owned(), "> *.>".to_owned()]
    }

    /// Subjects this user may subscribe to.
    pub fn subscribe_allow(&self, access: Access) -> Vec<String> {
        let inbox = format!("{}.>", self.inbox_prefix);
        if access.waiting {
            return vec![self.private.clone(), inbox];
        }
        vec![
            self.chat_subscribe.clone(),
            self.public.clone(),
            self.private.clone(),
            self.dm_subscribe.clone(),
            inbox,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (RoomId, UserId) {
        (RoomId::parse("r1").unwrap(), UserId::parse("u1").unwrap())
    }

    #[test]
    fn builds_and_parses_chat() {
        let (r, u) = ids();
        assert_eq!(chat(&r, &u), "qr.r1.chat.u1");
        assert_eq!(parse_chat("qr.r1.chat.u1"), Some((r.clone(), u.clone())));
        assert_eq!(parse_worker(&worker(&r, &u)), Some((r.clone(), u.clone())));
        assert_eq!(
            parse_history(&history(&r, &u)),
            Some((r.clone(), u.clone()))
        );
        assert_eq!(
            parse_private_history(&private_history(&r, &u)),
            Some((r.clone(), u.clone()))
        );
        assert_eq!(parse_private_history("qr.r1.mine.u1.x"), None);
        let to = UserId::parse("u2").unwrap();
        assert_eq!(dm(&r, &to, &u), "qr.r1.dm.u2.u1");
        assert_eq!(parse_dm("qr.r1.dm.u2.u1"), Some((r.clone(), to, u.clone())));
        assert_eq!(parse_dm("qr.r1.dm.u2"), None);
        assert_eq!(parse_dm("qr.r1.dm.u2.u1.x"), None);
        assert_eq!(parse_dm("qr.r1.dm.*.u1"), None);
        assert!(owns_inbox(&r, &u, "_INBOX.r1.u1.7"));
        for reply in [
            "_INBOX.r1.u1",
            "_INBOX.r1.u1.",
            "_INBOX.r1.u10.7",
            "qr.r1.public",
        ] {
            assert!(!owns_inbox(&r, &u, reply), "{reply}");
        }
    }

    #[test]
    fn parse_refuses_foreign_or_malformed() {
        for s in [
            "qr.r1.chat",
            "qr.r1.chat.u1.x",
            "xx.r1.chat.u1",
            "qr.r1.public.u1",
        ] {
            assert_eq!(parse_chat(s), None, "{s}");
        }
        assert_eq!(parse_chat("qr.r1.chat.user_x"), None);
    }

    #[test]
    fn allow_lists_are_scoped_to_room_and_user() {
        let (r, u) = ids();
        let s = UserSubjects::new(&r, &u);
        let full = Access::default();
        assert_eq!(
            s.publish_allow(full),
            vec![
                "qr.r1.worker.u1",
                "qr.r1.history.u1",
                "qr.r1.mine.u1",
                "qr.r1.chat.u1",
                "qr.r1.dm.*.u1"
            ]
        );
        let locked = Access {
            chat_locked: true,
            ..full
        };
        assert!(!s.publish_allow(locked).contains(&s.chat_publish));
        assert!(!s.publish_allow(locked).contains(&s.dm_publish));
        let private_locked = Access {
            private_locked: true,
            ..full
        };
        assert!(s.publish_allow(private_locked).contains(&s.chat_publish));
        assert!(!s.publish_allow(private_locked).contains(&s.dm_publish));
        let waiting = Access {
            waiting: true,
            ..full
        };
        assert!(s.publish_allow(waiting).is_empty());
        assert_eq!(s.publish_deny(waiting), vec![">"]);
        assert!(s.publish_deny(full).is_empty() && s.publish_deny(locked).is_empty());
        assert_eq!(
            s.subscribe_allow(waiting),
            vec!["qr.r1.private.u1", "_INBOX.r1.u1.>"]
        );
        for sub in s.subscribe_allow(full) {
            assert!(sub.contains("r1"), "{sub}");
            assert!(!sub.starts_with('>') && !sub.starts_with("$SYS"));
        }
    }
}
