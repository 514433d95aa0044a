//! Requests a participant sends to the server over NATS (request/reply on
//! `subjects::worker(room, me)`), and the replies.
//!
//! The server takes the caller's identity from the subject, which
//! nats-server only lets that user publish on; ids inside a request name
//! the *target* of an action, never the caller.

use serde::{Deserialize, Serialize};

use crate::api::LockSettings;
use crate::ids::UserId;
use crate::moderation::{Refusal, RoomSnapshot};

/// How long after expiry a join token may still be renewed (plugNmeet
/// allows three hours; a closed laptop lid should not cost the meeting).
pub const RENEW_GRACE_SECS: u64 = 3 * 3600;

/// A request to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkerRequest {
    /// Exchange my current join token for a fresh one.
    RenewToken {
        /// The caller's current (possibly just expired) token.
        token: String,
    },
    /// Raise my hand.
    RaiseHand,
    /// Lower a hand: my own, or (moderators only) anyone's.
    LowerHand {
        /// Whose hand.
        user_id: UserId,
    },
    /// Moderators only: change a participant's locks.
    SetLocks {
        /// Whose locks.
        user_id: UserId,
        /// Locks to set; unset fields stay as they are.
        locks: LockSettings,
    },
    /// Moderators only: let a waiting participant in.
    Approve {
        /// Who.
        user_id: UserId,
    },
    /// Moderators only: turn a waiting participant away.
    Reject {
        /// Who.
        user_id: UserId,
    },
    /// The room's server-generated E2EE secret, delivered only to a verified,
    /// admitted participant over its own reply inbox.
    RoomKey,
    /// Moderators only: start a server-side feature.
    Start {
        /// Which.
        feature: Feature,
    },
    /// Moderators only: remove a participant, optionally for good.
    Remove {
        /// Who.
        user_id: UserId,
        /// Also refuse them from now on.
        #[serde(default)]
        block: bool,
    },
    /// Moderators only: make a participant a moderator.
    Promote {
        /// Who.
        user_id: UserId,
    },
    /// Moderators only: make a moderator a participant again (never the
    /// last moderator).
    Demote {
        /// Who.
        user_id: UserId,
    },
    /// Moderators only: locks for every participant who is not a
    /// moderator, now and for those who join later.
    SetRoomLocks {
        /// Locks to set; unset fields stay as they are.
        locks: LockSettings,
    },
    /// Moderators only: lock the room (no new joiners) or open it again.
    LockRoom {
        /// Locked.
        locked: bool,
    },
    /// Moderators only: end the meeting for everyone.
    EndRoom,
    /// Moderators only: lower every raised hand.
    LowerAllHands,
    /// Moderators only: let everyone who is waiting in.
    ApproveAll,
    /// Moderators only: turn everyone who is waiting away.
    RejectAll,
    /// Moderators only: the message people in the waiting room see.
    SetWaitingMessage {
        /// The text (at most 1,000 characters).
        text: String,
    },
    /// Moderators only: mute a participant's microphone (recorded and
    /// shown now; enforced on media once it exists).
    Mute {
        /// Who.
        user_id: UserId,
    },
    /// Moderators only: ask a participant to unmute (there is no remote
    /// unmute).
    AskToUnmute {
        /// Who.
        user_id: UserId,
    },
    /// The room as the caller may see it: its role and locks, and for a
    /// moderator the room's settings and who is waiting.
    Snapshot,
    /// A token for the media server (LiveKit), for an admitted
    /// participant of a room whose server has media configured. Its grants
    /// follow the caller's role and locks; ask again after a renewal of
    /// the join token or a change of role or locks.
    MediaToken,
    /// A reaction for everyone: one of [`crate::moderation::REACTIONS`],
    /// or in an E2EE room its envelope (kind `reaction`), base64.
    React {
        /// The reaction, or its envelope.
        payload: String,
    },
}

/// Server-side features that need plaintext media or chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Cloud recording.
    CloudRecording,
    /// RTMP broadcasting.
    Rtmp,
    /// SIP dial-in.
    Sip,
    /// Transcription and summaries.
    Transcription,
}

/// The server's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WorkerReply {
    /// The request was carried out.
    pub ok: bool,
    /// Why not, when `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The renewed token, for `renew_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The room secret, for `room_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Why not, in a form the client can explain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Refusal>,
    /// The room as the caller may see it, for `snapshot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<RoomSnapshot>,
    /// Where and how to join the media room, for `media_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaAccess>,
}

/// How to join a room's media: LiveKit's address and a token for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaAccess {
    /// The LiveKit server's WebSocket URL (`wss://…`).
    pub url: String,
    /// A LiveKit access token for the caller in its room session.
    pub token: String,
}

impl WorkerReply {
    /// Success with no data.
    pub fn ok() -> Self {
        Self {
            ok: true,
            ..Self::default()
        }
    }

    /// A refusal.
    pub fn refused(why: impl Into<String>) -> Self {
        Self {
            ok: false,
            error: Some(why.into()),
            ..Self::default()
        }
    }

    /// A refusal of kind `code`.
    pub fn refused_as(code: Refusal, why: impl Into<String>) -> Self {
        Self {
            code: Some(code),
            ..Self::refused(why)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged() {
        let r = WorkerRequest::LowerHand {
            user_id: UserId::parse("bob").unwrap(),
        };
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(s, r#"{"type":"lower_hand","user_id":"bob"}"#);
        assert_eq!(serde_json::from_str::<WorkerRequest>(&s).unwrap(), r);
        assert!(
            serde_json::from_str::<WorkerRequest>(r#"{"type":"lower_hand","user_id":"a b"}"#)
                .is_err()
        );
    }
}
