//! A participant outside the browser: our raw NATS client over the same
//! WebSocket port the browser uses, with its own join token, publishing
//! valid chat (sealed as a browser seals it in an E2EE room). For tests and
//! benches that need many messages in a room quickly; the server's chat
//! limits apply to it like to anyone.

use std::time::Duration;

use quorum_shared::e2ee::{aad, Kind, RoomKeys, IV_LEN, PBKDF2_ITERATIONS};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::peer::ChatMessage;
use quorum_shared::worker::{WorkerReply, WorkerRequest};

use crate::raw_nats::RawNats;
use crate::Quorum;

/// Seals chat for an E2EE room the way a browser does: the room secret
/// from the server (`WorkerRequest::RoomKey`), PBKDF2 into the room keys,
/// AES-GCM with the sender in the AAD.
struct Sealer {
    keys: RoomKeys,
    sid: String,
    user: String,
    /// The IV's last four bytes: distinct per publisher in this process,
    /// so two of them in one room never reuse an IV under its key.
    tag: [u8; 4],
}

/// Publishers made so far in this process (see [`Sealer::tag`]).
static PUBLISHERS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Sealer {
    async fn fetch(raw: &mut RawNats, room: &RoomId, user: &UserId, sid: &str) -> Self {
        let req = serde_json::to_vec(&WorkerRequest::RoomKey).expect("JSON");
        let msg = raw
            .request(
                &quorum_shared::subjects::worker(room, user),
                &req,
                Duration::from_secs(10),
            )
            .await
            .expect("the room key");
        let reply: WorkerReply = serde_json::from_slice(&msg.payload).expect("a worker reply");
        let secret = reply.key.expect("an E2EE room's secret");
        Self {
            keys: RoomKeys::derive(&secret, sid, PBKDF2_ITERATIONS),
            sid: sid.to_owned(),
            user: user.to_string(),
            tag: PUBLISHERS
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .to_be_bytes(),
        }
    }

    fn seal(&self, n: u64, plain: &[u8]) -> Vec<u8> {
        // Unique per message and publisher under this room's key.
        let mut iv = [0u8; IV_LEN];
        iv[..8].copy_from_slice(&n.to_be_bytes());
        iv[8..].copy_from_slice(&self.tag);
        self.keys
            .seal_with_iv(iv, plain, &aad(&self.sid, &self.user, Kind::Chat))
    }
}

/// A connected chat publisher; see the module docs.
pub struct Publisher {
    raw: RawNats,
    subject: String,
    sealer: Option<Sealer>,
    name: String,
    sent_at_ms: u64,
}

impl Publisher {
    /// Joins `room_id` (E2EE if `e2ee`) as `user`, shown as `name`.
    pub async fn join(q: &Quorum, room_id: &str, user: &str, name: &str, e2ee: bool) -> Self {
        let token = q.token_named(room_id, user, name, false).await;
        let verified = q.verify(&token).await;
        let url = verified["session"]["nats_ws_urls"][0]
            .as_str()
            .expect("a NATS address")
            .to_owned();
        let sid = verified["session"]["room_sid"]
            .as_str()
            .expect("sid")
            .to_owned();
        let mut raw = RawNats::connect(&url, Some(&token))
            .await
            .expect("the publisher connects");
        let room = RoomId::parse(room_id).expect("room id");
        let user = UserId::parse(user).expect("user id");
        let sealer = if e2ee {
            Some(Sealer::fetch(&mut raw, &room, &user, &sid).await)
        } else {
            None
        };
        let sent_at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Self {
            raw,
            subject: quorum_shared::subjects::chat(&room, &user),
            sealer,
            name: name.to_owned(),
            sent_at_ms,
        }
    }

    /// Message number `n` (unique per publisher) with `id` and `text`,
    /// as it goes on the wire.
    pub fn payload(&self, n: u64, id: &str, text: &str) -> Vec<u8> {
        self.payload_claiming(n, id, text, &self.name)
    }

    /// Like [`Self::payload`], with the sender claiming to be `name`
    /// (clients name senders as the server knows them instead).
    pub fn payload_claiming(&self, n: u64, id: &str, text: &str, name: &str) -> Vec<u8> {
        let plain = ChatMessage {
            id: id.to_owned(),
            name: name.to_owned(),
            text: text.to_owned(),
            sent_at_ms: self.sent_at_ms,
        }
        .encode();
        match &self.sealer {
            Some(s) => s.seal(n, &plain),
            None => plain,
        }
    }

    /// Publishes each of `payloads` in order on the room's chat, and waits
    /// until the server has them all.
    pub async fn publish_all(&mut self, payloads: &[Vec<u8>]) {
        let subject = self.subject.clone();
        self.publish_all_on(&subject, payloads).await;
    }

    /// Like [`Self::publish_all`], on `subject` (e.g. a private chat, for
    /// a baseline that no client's chat takes in).
    pub async fn publish_all_on(&mut self, subject: &str, payloads: &[Vec<u8>]) {
        for p in payloads {
            self.raw.publish(subject, p).await.expect("publish");
        }
        self.raw.ping().await.expect("flushed");
    }

    /// Disconnects.
    pub async fn close(self) {
        self.raw.close().await;
    }
}
