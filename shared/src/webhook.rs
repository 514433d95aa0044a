//! Webhook payloads and signatures (being written).

use serde::{Deserialize, Serialize};

/// Event names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventName {
    /// Room created by the API.
    RoomCreated,
    /// First participant joined.
    RoomStarted,
    /// A participant connected.
    ParticipantJoined,
    /// A participant left.
    ParticipantLeft,
    /// The session ended (for participants).
    SessionEnded,
    /// The room is finished and its state removed.
    RoomFinished,
}

/// The room a webhook is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRoom {
    /// Session id.
    pub sid: String,
    /// Room id.
    pub room_id: String,
    /// Title.
    pub room_title: String,
    /// Unix seconds.
    pub creation_time: i64,
    /// Participants online now.
    pub num_participants: u32,
}

/// The participant a webhook is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookParticipant {
    /// User id.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// A moderator.
    pub is_admin: bool,
}

/// One webhook delivery body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// Unique id of this event.
    pub id: String,
    /// What happened.
    pub event: EventName,
    /// Unix seconds.
    pub created_at: i64,
    /// The room.
    pub room: WebhookRoom,
    /// The participant, for participant events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<WebhookParticipant>,
    /// Why, for `session_ended` / `room_finished`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
