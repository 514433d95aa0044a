//! Wire types of the HTTP APIs: the plugNmeet-compatible server API under
//! `/auth/*` and the browser API under `/api/*`.
//!
//! Requests follow protobuf-JSON rules: `snake_case` or `lowerCamelCase`
//! names, unknown fields ignored, 64-bit integers as numbers or strings.
//! Responses are `snake_case` with every plain field present.

use serde::{Deserialize, Deserializer, Serialize};

use crate::ids::{RoomId, UserId};
use crate::subjects::UserSubjects;

/// The `status_code` enum of plugNmeet's envelope, serialized by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum StatusCode {
    UnknownStatus,
    Success,
    PermissionDenied,
    NotFound,
    Conflict,
    InvalidTokenOrSignature,
    InvalidApiKey,
    InternalServerError,
    InvalidParameters,
    MissingRequiredParameter,
    RoomNotFound,
    UserNotFound,
    UserBlocked,
    UserNotActive,
    RoomNotActive,
}

/// The envelope every response starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// `true` when the call did what was asked.
    pub status: bool,
    /// Human-readable outcome; names the problem on failure.
    pub msg: String,
    /// Machine-readable outcome.
    pub status_code: StatusCode,
}

impl Envelope {
    /// A success envelope.
    pub fn success(msg: impl Into<String>) -> Self {
        Self {
            status: true,
            msg: msg.into(),
            status_code: StatusCode::Success,
        }
    }

    /// A failure envelope.
    pub fn failure(code: StatusCode, msg: impl Into<String>) -> Self {
        Self {
            status: false,
            msg: msg.into(),
            status_code: code,
        }
    }
}

/// Accepts a 64-bit integer as a JSON number or a decimal string, as
/// protobuf-JSON allows.
pub fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u64),
        Str(String),
    }
    match Option::<NumOrStr>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrStr::Num(n)) => Ok(Some(n)),
        Some(NumOrStr::Str(s)) if s.is_empty() => Ok(None),
        Some(NumOrStr::Str(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got {s:?}"))),
    }
}

/// Per-user lock settings. `None` means "not set" so that a caller's
/// explicit `false` can override a default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct LockSettings {
    #[serde(
        default,
        alias = "lockMicrophone",
        skip_serializing_if = "Option::is_none"
    )]
    pub lock_microphone: Option<bool>,
    #[serde(default, alias = "lockWebcam", skip_serializing_if = "Option::is_none")]
    pub lock_webcam: Option<bool>,
    #[serde(
        default,
        alias = "lockScreenSharing",
        skip_serializing_if = "Option::is_none"
    )]
    pub lock_screen_sharing: Option<bool>,
    #[serde(default, alias = "lockChat", skip_serializing_if = "Option::is_none")]
    pub lock_chat: Option<bool>,
    #[serde(
        default,
        alias = "lockChatSendMessage",
        skip_serializing_if = "Option::is_none"
    )]
    pub lock_chat_send_message: Option<bool>,
    #[serde(
        default,
        alias = "lockChatFileShare",
        skip_serializing_if = "Option::is_none"
    )]
    pub lock_chat_file_share: Option<bool>,
    #[serde(
        default,
        alias = "lockPrivateChat",
        skip_serializing_if = "Option::is_none"
    )]
    pub lock_private_chat: Option<bool>,
    #[serde(
        default,
        alias = "lockWhiteboard",
        skip_serializing_if = "Option::is_none"
    )]
    pub lock_whiteboard: Option<bool>,
    #[serde(
        default,
        alias = "lockSharedNotepad",
        skip_serializing_if = "Option::is_none"
    )]
    pub lock_shared_notepad: Option<bool>,
    #[serde(
        default,
        alias = "lockReactions",
        skip_serializing_if = "Option::is_none"
    )]
    pub lock_reactions: Option<bool>,
}

/// End-to-end encryption features of a room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct E2eeFeatures {
    /// E2EE is on for this room.
    #[serde(default, alias = "isEnabled")]
    pub is_enabled: Option<bool>,
    /// Chat is end-to-end encrypted too.
    #[serde(default, alias = "includedChatMessages")]
    pub included_chat_messages: Option<bool>,
    /// The whiteboard is end-to-end encrypted too.
    #[serde(default, alias = "includedWhiteboard")]
    pub included_whiteboard: Option<bool>,
    /// Every participant types the key; the server never knows it.
    #[serde(default, alias = "enabledSelfInsertEncryptionKey")]
    pub enabled_self_insert_encryption_key: Option<bool>,
}

/// Room features. Groups we don't implement yet are accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct RoomFeatures {
    #[serde(default, alias = "allowWebcams")]
    pub allow_webcams: Option<bool>,
    #[serde(default, alias = "muteOnStart")]
    pub mute_on_start: Option<bool>,
    #[serde(default, alias = "allowScreenShare")]
    pub allow_screen_share: Option<bool>,
    /// Minutes; 0 means unlimited.
    #[serde(default, alias = "roomDuration", deserialize_with = "lenient_u64")]
    pub room_duration: Option<u64>,
    #[serde(default, alias = "enableAnalytics")]
    pub enable_analytics: Option<bool>,
    #[serde(default, alias = "allowRaiseHand")]
    pub allow_raise_hand: Option<bool>,
    #[serde(default, alias = "autoGenUserId")]
    pub auto_gen_user_id: Option<bool>,
    #[serde(default, alias = "endToEndEncryptionFeatures")]
    pub end_to_end_encryption_features: Option<E2eeFeatures>,
}

/// `metadata` of a create-room request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMetadata {
    /// Title shown to participants. Required.
    #[serde(default, alias = "roomTitle")]
    pub room_title: String,
    /// Shown when a participant joins.
    #[serde(
        default,
        alias = "welcomeMessage",
        skip_serializing_if = "Option::is_none"
    )]
    pub welcome_message: Option<String>,
    /// Per-room webhook target.
    #[serde(default, alias = "webhookUrl", skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// Where participants go after leaving.
    #[serde(default, alias = "logoutUrl", skip_serializing_if = "Option::is_none")]
    pub logout_url: Option<String>,
    /// Feature switches.
    #[serde(default, alias = "roomFeatures")]
    pub room_features: RoomFeatures,
    /// Locks applied to non-moderators when they join.
    #[serde(default, alias = "defaultLockSettings")]
    pub default_lock_settings: LockSettings,
}

/// `POST /auth/room/create`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreateRoomReq {
    /// The room to create.
    #[serde(alias = "roomId")]
    pub room_id: RoomId,
    /// Seconds a room may stay empty; below 120 it becomes 1800.
    #[serde(default, alias = "emptyTimeout", deserialize_with = "lenient_u64")]
    pub empty_timeout: Option<u64>,
    /// 0 means unlimited.
    #[serde(default, alias = "maxParticipants", deserialize_with = "lenient_u64")]
    pub max_participants: Option<u64>,
    /// Required.
    pub metadata: Option<RoomMetadata>,
}

/// `ActiveRoomInfo` as plugNmeet returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ActiveRoomInfo {
    pub room_title: String,
    pub room_id: String,
    pub sid: String,
    /// 64-bit integers travel as strings in protobuf-JSON.
    pub joined_participants: String,
    pub is_running: bool,
    pub is_recording: bool,
    pub is_active_rtmp: bool,
    pub webhook_url: String,
    pub is_breakout_room: bool,
    pub parent_room_id: String,
    pub creation_time: String,
    /// The room metadata as a JSON string. Never holds the E2EE secret.
    pub metadata: String,
}

/// Response of `/auth/room/create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRoomRes {
    /// Outcome.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The running room, when successful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_info: Option<ActiveRoomInfo>,
}

/// `user_metadata` of a join-token request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct UserMetadata {
    #[serde(default, alias = "profilePic")]
    pub profile_pic: Option<String>,
    #[serde(default, alias = "preferredLang")]
    pub preferred_lang: Option<String>,
    #[serde(default, alias = "lockSettings")]
    pub lock_settings: Option<LockSettings>,
}

/// `user_info` of a join-token request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserInfo {
    /// Display name. Required.
    #[serde(default)]
    pub name: String,
    /// The user's id.
    #[serde(alias = "userId")]
    pub user_id: UserId,
    /// A moderator.
    #[serde(default, alias = "isAdmin")]
    pub is_admin: bool,
    /// Not shown in the participant list.
    #[serde(default, alias = "isHidden")]
    pub is_hidden: bool,
    /// Extra per-user settings.
    #[serde(default, alias = "userMetadata")]
    pub user_metadata: Option<UserMetadata>,
}

/// `POST /auth/room/getJoinToken`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GenerateTokenReq {
    /// The room to join.
    #[serde(alias = "roomId")]
    pub room_id: RoomId,
    /// Who joins.
    #[serde(alias = "userInfo")]
    pub user_info: Option<UserInfo>,
}

/// Response of `/auth/room/getJoinToken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateTokenRes {
    /// Outcome.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The join token, when successful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// What the browser needs to connect, returned by `POST /api/verifyToken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyTokenRes {
    /// Outcome; on failure the fields below are absent.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Present on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<JoinSession>,
}

/// The verified session the browser may start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinSession {
    /// NATS WebSocket URLs to try, in order.
    pub nats_ws_urls: Vec<String>,
    /// The subjects this user may use.
    pub subjects: UserSubjects,
    /// Room id.
    pub room_id: RoomId,
    /// Room session id (a UUIDv4, fresh per session).
    pub room_sid: String,
    /// Room title.
    pub room_title: String,
    /// This user's id.
    pub user_id: UserId,
    /// This user's display name.
    pub name: String,
    /// This user is a moderator.
    pub is_admin: bool,
    /// The room wants every participant to type the E2EE key.
    pub e2ee_self_key: bool,
    /// Server version, for diagnostics.
    pub server_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_snake_and_camel_and_string_ints() {
        let a: CreateRoomReq = serde_json::from_str(
            r#"{"room_id":"r","empty_timeout":"300","metadata":{"room_title":"T"}}"#,
        )
        .unwrap();
        let b: CreateRoomReq = serde_json::from_str(
            r#"{"roomId":"r","emptyTimeout":300,"metadata":{"roomTitle":"T","x":1},"y":2}"#,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.empty_timeout, Some(300));
    }

    #[test]
    fn explicit_false_is_kept() {
        let r: RoomMetadata =
            serde_json::from_str(r#"{"room_title":"T","room_features":{"allow_webcams":false}}"#)
                .unwrap();
        assert_eq!(r.room_features.allow_webcams, Some(false));
        assert_eq!(r.room_features.mute_on_start, None);
    }

    #[test]
    fn envelope_uses_names() {
        let s = serde_json::to_string(&Envelope::failure(StatusCode::InvalidApiKey, "x")).unwrap();
        assert_eq!(
            s,
            r#"{"status":false,"msg":"x","status_code":"INVALID_API_KEY"}"#
        );
    }
}
