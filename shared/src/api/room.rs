//! Room creation and room information.

use serde::{Deserialize, Serialize};

use super::{lenient_u64, Envelope};
use crate::ids::RoomId;

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

impl LockSettings {
    /// Whether these locks keep their holder from sending chat: all chat
    /// locked, or only sending (plugNmeet's two ways of saying it).
    pub fn chat_locked(&self) -> bool {
        self.lock_chat == Some(true) || self.lock_chat_send_message == Some(true)
    }

    /// Whether these locks keep their holder from sending private chat:
    /// any chat lock, or the private-chat lock.
    pub fn private_chat_locked(&self) -> bool {
        self.chat_locked() || self.lock_private_chat == Some(true)
    }
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

/// A feature group we only switch on or off (recording, RTMP, SIP, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toggle {
    /// The feature may be used.
    #[serde(default, alias = "isAllow", skip_serializing_if = "Option::is_none")]
    pub is_allow: Option<bool>,
}

/// Recording features.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct RecordingFeatures {
    #[serde(default, alias = "isAllow", skip_serializing_if = "Option::is_none")]
    pub is_allow: Option<bool>,
    #[serde(
        default,
        alias = "isAllowCloud",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_allow_cloud: Option<bool>,
    #[serde(
        default,
        alias = "isAllowLocal",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_allow_local: Option<bool>,
    #[serde(
        default,
        alias = "enableAutoCloudRecording",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_auto_cloud_recording: Option<bool>,
}

/// External broadcasting (RTMP) features.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct BroadcastingFeatures {
    #[serde(default, alias = "isAllow", skip_serializing_if = "Option::is_none")]
    pub is_allow: Option<bool>,
    #[serde(
        default,
        alias = "isAllowRtmp",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_allow_rtmp: Option<bool>,
}

/// Waiting room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingRoomFeatures {
    /// Non-moderators wait for approval.
    #[serde(default, alias = "isActive", skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// Shown to waiting users.
    #[serde(
        default,
        alias = "waitingRoomMsg",
        skip_serializing_if = "Option::is_none"
    )]
    pub waiting_room_msg: Option<String>,
}

/// Chat features.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ChatFeatures {
    #[serde(default, alias = "isAllow", skip_serializing_if = "Option::is_none")]
    pub is_allow: Option<bool>,
    #[serde(
        default,
        alias = "isAllowFileUpload",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_allow_file_upload: Option<bool>,
}

/// Room features. `None` means "not sent": defaults apply, and an explicit
/// `false` always wins over a default `true`. Groups we don't implement are
/// accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct RoomFeatures {
    #[serde(
        default,
        alias = "allowWebcams",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_webcams: Option<bool>,
    #[serde(
        default,
        alias = "muteOnStart",
        skip_serializing_if = "Option::is_none"
    )]
    pub mute_on_start: Option<bool>,
    #[serde(
        default,
        alias = "allowScreenShare",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_screen_share: Option<bool>,
    #[serde(
        default,
        alias = "allowViewOtherWebcams",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_view_other_webcams: Option<bool>,
    #[serde(
        default,
        alias = "allowViewOtherUsersList",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_view_other_users_list: Option<bool>,
    #[serde(
        default,
        alias = "adminOnlyWebcams",
        skip_serializing_if = "Option::is_none"
    )]
    pub admin_only_webcams: Option<bool>,
    /// Minutes; 0 means unlimited.
    #[serde(
        default,
        alias = "roomDuration",
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub room_duration: Option<u64>,
    #[serde(
        default,
        alias = "enableAnalytics",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_analytics: Option<bool>,
    #[serde(
        default,
        alias = "allowRaiseHand",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_raise_hand: Option<bool>,
    #[serde(
        default,
        alias = "allowReactions",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_reactions: Option<bool>,
    #[serde(
        default,
        alias = "autoGenUserId",
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_gen_user_id: Option<bool>,
    #[serde(
        default,
        alias = "chatFeatures",
        skip_serializing_if = "Option::is_none"
    )]
    pub chat_features: Option<ChatFeatures>,
    #[serde(
        default,
        alias = "recordingFeatures",
        skip_serializing_if = "Option::is_none"
    )]
    pub recording_features: Option<RecordingFeatures>,
    #[serde(
        default,
        alias = "waitingRoomFeatures",
        skip_serializing_if = "Option::is_none"
    )]
    pub waiting_room_features: Option<WaitingRoomFeatures>,
    #[serde(
        default,
        alias = "externalBroadcastingFeatures",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_broadcasting_features: Option<BroadcastingFeatures>,
    #[serde(
        default,
        alias = "sipDialInFeatures",
        skip_serializing_if = "Option::is_none"
    )]
    pub sip_dial_in_features: Option<Toggle>,
    #[serde(
        default,
        alias = "speechToTextTranslationFeatures",
        skip_serializing_if = "Option::is_none"
    )]
    pub speech_to_text_translation_features: Option<Toggle>,
    #[serde(
        default,
        alias = "insightsFeatures",
        skip_serializing_if = "Option::is_none"
    )]
    pub insights_features: Option<Toggle>,
    #[serde(
        default,
        alias = "endToEndEncryptionFeatures",
        skip_serializing_if = "Option::is_none"
    )]
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
