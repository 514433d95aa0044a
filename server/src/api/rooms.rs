//! `/auth/room/*` handlers of the plugNmeet-compatible server API.

use axum::extract::State;
use axum::Json;
use quorum_shared::api::{
    ActiveRoomInfo, CreateRoomReq, CreateRoomRes, Envelope, GenerateTokenReq, GenerateTokenRes,
    LockSettings,
};

use super::signature::Signed;
use crate::error::{parse_json, ApiError};
use crate::rooms::{ParticipantState, Presence, RoomState};
use crate::tokens::{now_secs, TokenSubject};
use crate::AppState;

/// plugNmeet's rule: a missing or too short empty timeout becomes 30 min.
fn effective_empty_timeout(requested: Option<u64>) -> u64 {
    match requested {
        Some(t) if t >= 120 => t,
        _ => 1800,
    }
}

/// The public view of a running room.
pub fn room_info(r: &RoomState) -> ActiveRoomInfo {
    ActiveRoomInfo {
        room_title: r.metadata.room_title.clone(),
        room_id: r.room_id.to_string(),
        sid: r.sid.clone(),
        joined_participants: "0".into(),
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
    let state = RoomState {
        room_id: req.room_id,
        sid: uuid::Uuid::new_v4().to_string(),
        created_at: now_secs() as i64,
        empty_timeout: effective_empty_timeout(req.empty_timeout),
        max_participants: req.max_participants.unwrap_or(0),
        metadata,
    };
    let (room, created) = st
        .rooms
        .create_room(state)
        .await
        .map_err(ApiError::internal)?;
    if created {
        st.store
            .insert_session(crate::store::RoomRecord {
                room_id: room.room_id.to_string(),
                sid: room.sid.clone(),
                title: room.metadata.room_title.clone(),
                created: room.created_at,
                ended: None,
            })
            .await
            .map_err(ApiError::internal)?;
        tracing::info!(room = %room.room_id, sid = %room.sid, "room created");
    }
    let msg = if created {
        "room created"
    } else {
        "room already running"
    };
    Ok(Json(CreateRoomRes {
        envelope: Envelope::success(msg),
        room_info: Some(room_info(&room)),
    }))
}

/// `POST /auth/room/getJoinToken`.
pub async fn join_token(
    State(st): State<AppState>,
    Signed(body): Signed,
) -> Result<Json<GenerateTokenRes>, ApiError> {
    let req: GenerateTokenReq = parse_json(&body)?;
    let user = req
        .user_info
        .ok_or(ApiError::MissingParameter("user_info"))?;
    if user.name.trim().is_empty() {
        return Err(ApiError::MissingParameter("user_info.name"));
    }
    let room = st
        .rooms
        .room(&req.room_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::RoomNotFound(req.room_id.to_string()))?;
    // Moderators can't be locked; everyone else starts with the room's
    // defaults, overridden by what the integrator set for this user.
    let lock_settings = if user.is_admin {
        LockSettings::default()
    } else {
        let mut l = room.metadata.default_lock_settings.clone();
        if let Some(u) = user
            .user_metadata
            .as_ref()
            .and_then(|m| m.lock_settings.clone())
        {
            merge_locks(&mut l, &u);
        }
        l
    };
    let existing = st
        .rooms
        .participant(&room.room_id, &user.user_id)
        .await
        .map_err(ApiError::internal)?;
    let participant = ParticipantState {
        room_id: room.room_id.clone(),
        user_id: user.user_id.clone(),
        name: user.name.clone(),
        is_admin: user.is_admin,
        is_hidden: user.is_hidden,
        lock_settings,
        wait_for_approval: false,
        presence: existing.as_ref().map_or(Presence::Invited, |p| p.presence),
        conn: existing.and_then(|p| p.conn),
    };
    st.rooms
        .put_participant(&participant)
        .await
        .map_err(ApiError::internal)?;
    let token = st
        .tokens
        .issue(&TokenSubject {
            room_id: &room.room_id,
            user_id: &user.user_id,
            name: &user.name,
            is_admin: user.is_admin,
            is_hidden: user.is_hidden,
        })
        .map_err(ApiError::internal)?;
    Ok(Json(GenerateTokenRes {
        envelope: Envelope::success("token generated"),
        token: Some(token),
    }))
}

fn merge_locks(base: &mut LockSettings, over: &LockSettings) {
    macro_rules! take {
        ($($f:ident),*) => { $( if over.$f.is_some() { base.$f = over.$f; } )* };
    }
    take!(
        lock_microphone,
        lock_webcam,
        lock_screen_sharing,
        lock_chat,
        lock_chat_send_message,
        lock_chat_file_share,
        lock_private_chat,
        lock_whiteboard,
        lock_shared_notepad,
        lock_reactions
    );
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

    #[test]
    fn user_locks_override_room_defaults() {
        let mut base = LockSettings {
            lock_chat: Some(true),
            lock_webcam: Some(true),
            ..Default::default()
        };
        let over = LockSettings {
            lock_chat: Some(false),
            ..Default::default()
        };
        merge_locks(&mut base, &over);
        assert_eq!(
            (base.lock_chat, base.lock_webcam),
            (Some(false), Some(true))
        );
    }
}
