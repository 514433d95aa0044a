//! Room queries, ending, history and broadcasts.

use serde::{Deserialize, Serialize};

use super::{lenient_u64, ActiveRoomInfo, Envelope};
use crate::events::NotificationType;
use crate::ids::{RoomId, UserId};

/// A request naming one room (`isRoomActive`, `getActiveRoomInfo`, `endRoom`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoomIdReq {
    /// The room.
    #[serde(alias = "roomId")]
    pub room_id: RoomId,
}

/// Response of `isRoomActive`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsRoomActiveRes {
    /// Outcome (`status` is true even when inactive).
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The room is running.
    pub is_active: bool,
}

/// One participant of a running room (LiveKit's `ParticipantInfo` subset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    /// Participant session id.
    pub sid: String,
    /// The user id.
    pub identity: String,
    /// `JOINING`, `ACTIVE` or `DISCONNECTED`.
    pub state: String,
    /// JSON string: `{"is_admin":…,"is_hidden":…,"wait_for_approval":…}`.
    pub metadata: String,
    /// Unix seconds (64-bit, as a string).
    pub joined_at: String,
    /// Display name.
    pub name: String,
    /// Always `"0"` until media is wired.
    pub version: u32,
    /// A moderator.
    pub is_publisher: bool,
}

/// A running room with its participants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveRoom {
    /// The room.
    pub room_info: ActiveRoomInfo,
    /// Its participants.
    pub participants_info: Vec<ParticipantInfo>,
}

/// Response of `getActiveRoomInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveRoomInfoRes {
    /// Outcome.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The room, when active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<ActiveRoom>,
}

/// Response of `getActiveRoomsInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveRoomsInfoRes {
    /// Outcome.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Every running room.
    pub rooms: Vec<ActiveRoom>,
}

/// `fetchPastRooms` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct FetchPastRoomsReq {
    /// Only these rooms (empty = all).
    #[serde(default, alias = "roomIds")]
    pub room_ids: Vec<RoomId>,
    /// Offset.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub from: Option<u64>,
    /// Page size (default 20, at most 100).
    #[serde(default, deserialize_with = "lenient_u64")]
    pub limit: Option<u64>,
    /// `DESC` (default) or `ASC`.
    #[serde(default, alias = "orderBy")]
    pub order_by: Option<String>,
}

/// One ended or running session in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastRoomInfo {
    /// Title.
    pub room_title: String,
    /// Room id.
    pub room_id: String,
    /// Session id.
    pub room_sid: String,
    /// Peak participants (64-bit, as a string).
    pub joined_participants: String,
    /// Webhook target of the session.
    pub webhook_url: String,
    /// Creation time, `YYYY-MM-DD HH:MM:SS` UTC.
    pub created: String,
    /// End time, `YYYY-MM-DD HH:MM:SS` UTC, empty while running.
    pub ended: String,
    /// Id of the analytics file, if one was written.
    pub analytics_file_id: String,
}

/// The page of history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchPastRoomsResult {
    /// Rows matching the filter (64-bit, as a string).
    pub total_rooms: String,
    /// Offset used.
    pub from: u32,
    /// Page size used.
    pub limit: u32,
    /// Order used.
    pub order_by: String,
    /// The rows.
    pub rooms_list: Vec<PastRoomInfo>,
}

/// Response of `fetchPastRooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchPastRoomsRes {
    /// Outcome.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The page, when rows exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<FetchPastRoomsResult>,
}

/// `chat_msg` of a broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BroadcastChat {
    /// The text.
    #[serde(default)]
    pub message: String,
    /// Only this user receives it (plugNmeet puts the target here).
    #[serde(default, alias = "toUserId")]
    pub to_user_id: Option<String>,
}

/// `notification_msg` of a broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BroadcastNotification {
    /// The text.
    #[serde(default)]
    pub text: String,
    /// Its kind (`INFO`, `SUCCESS`, `WARNING`, `ERROR`).
    #[serde(default, rename = "type")]
    pub kind: NotificationType,
    /// Play a sound.
    #[serde(default, alias = "withSound")]
    pub with_sound: bool,
    /// Only this user receives it (plugNmeet puts the target here).
    #[serde(default, alias = "toUserId")]
    pub to_user_id: Option<String>,
}

/// `broadcastToRoom` request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BroadcastReq {
    /// The room.
    #[serde(alias = "roomId")]
    pub room_id: RoomId,
    /// Only moderators receive it.
    #[serde(default, alias = "onlyToAdmins")]
    pub only_to_admins: bool,
    /// Only this user receives it (also accepted inside the message).
    #[serde(default, alias = "toUserId")]
    pub to_user_id: Option<String>,
    /// A chat message.
    #[serde(default, alias = "chatMsg")]
    pub chat_msg: Option<BroadcastChat>,
    /// A notification.
    #[serde(default, alias = "notificationMsg")]
    pub notification_msg: Option<BroadcastNotification>,
}

impl BroadcastReq {
    /// The one user this broadcast is for, wherever the caller put it (top
    /// level, or inside the chat or notification, as plugNmeet does). An
    /// empty string means "nobody in particular". Ignoring a nested target
    /// would send a private message to the whole room, so every place counts.
    pub fn target_user(&self) -> Result<Option<UserId>, crate::ids::IdError> {
        let nested = [
            self.chat_msg.as_ref().and_then(|c| c.to_user_id.as_deref()),
            self.notification_msg
                .as_ref()
                .and_then(|n| n.to_user_id.as_deref()),
        ];
        let first = std::iter::once(self.to_user_id.as_deref())
            .chain(nested)
            .flatten()
            .find(|u| !u.is_empty());
        first.map(UserId::parse).transpose()
    }
}
