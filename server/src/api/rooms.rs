//! `/auth/room/*` handlers of the plugNmeet-compatible server API.

use axum::extract::State;
use axum::Json;
use quorum_shared::api::{
    ActiveRoomInfo, CreateRoomReq, CreateRoomRes, Envelope, GenerateTokenReq, GenerateTokenRes,
    LockSettings,
};

use quorum_shared::events::SystemEvent;
use quorum_shared::ids::UserId;
use quorum_shared::subjects;
use quorum_shared::webhook::EventName;

use super::features;
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
    let mut metadata = req.metadata.ok_or(ApiError::MissingParameter("metadata"))?;
    if metadata.room_title.trim().is_empty() {
        return Err(ApiError::MissingParameter("metadata.room_title"));
    }
    metadata.room_features = features::with_defaults(metadata.room_features);
    let now = now_secs() as i64;
    let state = RoomState {
        room_id: req.room_id,
        sid: uuid::Uuid::new_v4().to_string(),
        created_at: now,
        empty_timeout: effective_empty_timeout(req.empty_timeout),
        max_participants: req.max_participants.unwrap_or(0),
        metadata,
        empty_since: Some(now),
        peak_participants: 0,
        started: false,
        blocked: Vec::new(),
        ending: None,
    };
    let (room, created) = st
        .rooms
        .create_room(state)
        .await
        .map_err(ApiError::internal)?;
    if created {
        st.rooms
            .ensure_stream(&room.room_id)
            .await
            .map_err(ApiError::internal)?;
        let f = &room.metadata.room_features;
        if features::e2ee_enabled(f) && !features::self_key(f) {
            st.rooms
                .put_room_secret(&room.sid, &new_room_secret())
                .await
                .map_err(ApiError::internal)?;
        }
        st.store
            .insert_session(crate::store::RoomRecord {
                room_id: room.room_id.to_string(),
                sid: room.sid.clone(),
                title: room.metadata.room_title.clone(),
                created: room.created_at,
                ended: None,
                joined_participants: 0,
                webhook_url: room.metadata.webhook_url.clone().unwrap_or_default(),
                analytics_file_id: None,
            })
            .await
            .map_err(ApiError::internal)?;
        st.rooms
            .notify(&room, EventName::RoomCreated, 0, None, None);
        tracing::info!(room = %room.room_id, sid = %room.sid, "room created");
    }
    let (msg, online) = if created {
        ("room created", 0)
    } else {
        // The running room as it is now, with whoever is online.
        let ps = st
            .rooms
            .participants_of(&room.room_id)
            .await
            .map_err(ApiError::internal)?;
        let online = ps.iter().filter(|p| p.presence == Presence::Online).count() as u32;
        ("room already running", online)
    };
    Ok(Json(CreateRoomRes {
        envelope: Envelope::success(msg),
        room_info: Some(room_info(&room, online)),
    }))
}

/// A fresh E2EE room secret: 32 bytes from the OS CSPRNG, base64url.
fn new_room_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
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
    let room = st
        .rooms
        .room(&req.room_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::RoomNotFound(req.room_id.to_string()))?;
    let f = &room.metadata.room_features;
    if f.auto_gen_user_id == Some(true) {
        user.user_id = generated_user_id()?;
    }
    if room.blocked.contains(&user.user_id) {
        return Err(ApiError::UserBlocked(user.user_id.to_string()));
    }
    let waiting_room = f
        .waiting_room_features
        .as_ref()
        .is_some_and(|w| w.is_active == Some(true));
    // Moderators can't be locked; everyone else starts with the room's
    // defaults, overridden by what the integrator set for this user. One
    // already in the session keeps the locks a moderator set since, unless
    // the integrator sets them again.
    let explicit = user
        .user_metadata
        .as_ref()
        .and_then(|m| m.lock_settings.clone());
    let lock_settings = if user.is_admin {
        LockSettings::default()
    } else {
        let mut l = room.metadata.default_lock_settings.clone();
        if let Some(u) = &explicit {
            merge_locks(&mut l, u);
        }
        l
    };
    // Moderators never wait; others wait when the room has a waiting room,
    // unless already approved in this session. Presence, hand and the
    // connection of a participant already in the session are kept.
    let mut before = None;
    let p = st
        .rooms
        .upsert_participant(
            &room.room_id,
            &user.user_id,
            |p| {
                before = Some(p.access());
                p.name = user.name.clone();
                p.is_admin = user.is_admin;
                p.is_hidden = user.is_hidden;
                if user.is_admin {
                    p.lock_settings = LockSettings::default();
                } else if let Some(u) = &explicit {
                    merge_locks(&mut p.lock_settings, u);
                }
                p.wait_for_approval = !user.is_admin && waiting_room && p.wait_for_approval;
            },
            || ParticipantState {
                room_id: room.room_id.clone(),
                user_id: user.user_id.clone(),
                name: user.name.clone(),
                is_admin: user.is_admin,
                is_hidden: user.is_hidden,
                lock_settings: lock_settings.clone(),
                wait_for_approval: !user.is_admin && waiting_room,
                presence: Presence::Invited,
                hand_raised: false,
                presence_since: 0,
                cleaned_up: false,
                conn: None,
                conn_at_ms: 0,
            },
        )
        .await
        .map_err(ApiError::internal)?;
    // What a live connection may do changed: tell it, and move it to a new
    // connection with the new allow-lists, as a moderator's change does.
    if let (Some(before), Some(conn)) = (before, &p.conn) {
        if before != p.access() {
            let ev = SystemEvent::LocksChanged {
                chat_locked: p.access().chat_locked,
            };
            st.rooms
                .publish(&subjects::private(&room.room_id, &user.user_id), &ev)
                .await;
            st.rooms.kick(conn).await;
        }
    }
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

/// A server-assigned user id (`auto_gen_user_id`): valid, unguessable.
fn generated_user_id() -> Result<UserId, ApiError> {
    UserId::parse(format!("u{}", uuid::Uuid::new_v4().simple())).map_err(ApiError::internal)
}

pub(crate) fn merge_locks(base: &mut LockSettings, over: &LockSettings) {
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
