//! `/auth/room/*` handlers of the plugNmeet-compatible server API.

use axum::extract::State;
use axum::Json;
use quorum_shared::api::{
    ActiveRoomInfo, CreateRoomReq, CreateRoomRes, Envelope, GenerateTokenReq, GenerateTokenRes,
};
use quorum_shared::ids::UserId;

use super::signature::Signed;
use crate::error::{parse_json, ApiError};
use crate::rooms::lifecycle::{Invite, LifecycleError, NewRoom};
use crate::rooms::{RoomState, RoomsError};
use crate::tokens::TokenSubject;
use crate::AppState;

/// Largest room metadata accepted (serialized), in bytes.
const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Longest display name accepted.
const MAX_NAME_CHARS: usize = 256;

/// plugNmeet's rule: a missing or too short empty timeout becomes 30 min.
fn effective_empty_timeout(requested: Option<u64>) -> u64 {
    match requested {
        Some(t) if t >= 120 => t,
        _ => 1800,
    }
}

/// The public view of a running room with `online` participants.
pub fn room_info(r: &RoomState, online: u32) -> ActiveRoomInfo {
    ActiveRoomInfo {
        room_title: r.metadata.room_title.clone(),
        room_id: r.room_id.to_string(),
        sid: r.sid.clone(),
        joined_participants: online.to_string(),
        is_running: true,
        is_recording: false,
        is_active_rtmp: false,
        webhook_url: r.metadata.webhook_url.clone().unwrap_or_default(),
        is_breakout_room: false,
        parent_room_id: String::new(),
        creation_time: r.created_at.to_string(),
        metadata: serde_json::to_string(&r.metadata).unwrap_or_default(),
    }
}

/// `POST /auth/room/create`: idempotent while the room runs.
pub async fn create(
    State(st): State<AppState>,
    Signed(body): Signed,
) -> Result<Json<CreateRoomRes>, ApiError> {
    let req: CreateRoomReq = parse_json(&body)?;
    let metadata = req.metadata.ok_or(ApiError::MissingParameter("metadata"))?;
    if metadata.room_title.trim().is_empty() {
        return Err(ApiError::MissingParameter("metadata.room_title"));
    }
    // Room state travels over NATS, where no message may exceed what a
    // participant may send.
    let size = serde_json::to_vec(&metadata).map_or(0, |v| v.len());
    if size > MAX_METADATA_BYTES {
        return Err(ApiError::InvalidParameters(format!(
            "metadata: {size} bytes, at most {MAX_METADATA_BYTES}"
        )));
    }
    let (room, created) = st
        .rooms
        .create_room(NewRoom {
            room_id: req.room_id,
            empty_timeout: effective_empty_timeout(req.empty_timeout),
            max_participants: req.max_participants.unwrap_or(0),
            metadata,
        })
        .await?;
    let (msg, online) = if created {
        ("room created", 0)
    } else {
        // The running room as it is now, with whoever is online.
        let online = st.rooms.index().online_count(&room.room_id);
        ("room already running", online)
    };
    Ok(Json(CreateRoomRes {
        envelope: Envelope::success(msg),
        room_info: Some(room_info(&room, online)),
    }))
}

/// `POST /auth/room/getJoinToken`.
pub async fn join_token(
    State(st): State<AppState>,
    Signed(body): Signed,
) -> Result<Json<GenerateTokenRes>, ApiError> {
    let req: GenerateTokenReq = parse_json(&body)?;
    let mut user = req
        .user_info
        .ok_or(ApiError::MissingParameter("user_info"))?;
    if user.name.trim().is_empty() {
        return Err(ApiError::MissingParameter("user_info.name"));
    }
    if user.name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::InvalidParameters(format!(
            "user_info.name: at most {MAX_NAME_CHARS} characters"
        )));
    }
    let room = st
        .rooms
        .kv
        .room(&req.room_id)
        .await?
        .ok_or_else(|| ApiError::RoomNotFound(req.room_id.to_string()))?;
    if room.metadata.room_features.auto_gen_user_id == Some(true) {
        user.user_id = generated_user_id()?;
    }
    if room.blocked.contains(&user.user_id) {
        return Err(ApiError::UserBlocked(user.user_id.to_string()));
    }
    let locks = user
        .user_metadata
        .as_ref()
        .and_then(|m| m.lock_settings.as_ref());
    st.rooms
        .invite(Invite {
            room: &room,
            user_id: &user.user_id,
            name: &user.name,
            is_admin: user.is_admin,
            is_hidden: user.is_hidden,
            locks,
        })
        .await?;
    let token = st.tokens.issue(&TokenSubject {
        room_id: &room.room_id,
        user_id: &user.user_id,
        name: &user.name,
        is_admin: user.is_admin,
        is_hidden: user.is_hidden,
        sid: &room.sid,
    })?;
    Ok(Json(GenerateTokenRes {
        envelope: Envelope::success("token generated"),
        token: Some(token),
    }))
}

/// A server-assigned user id (`auto_gen_user_id`): valid, unguessable.
fn generated_user_id() -> Result<UserId, ApiError> {
    UserId::parse(format!("u{}", uuid::Uuid::new_v4().simple())).map_err(ApiError::internal)
}

impl From<RoomsError> for ApiError {
    fn from(e: RoomsError) -> Self {
        Self::internal(e)
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        Self::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_timeout_rule() {
        assert_eq!(effective_empty_timeout(None), 1800);
        assert_eq!(effective_empty_timeout(Some(119)), 1800);
        assert_eq!(effective_empty_timeout(Some(120)), 120);
    }
}
