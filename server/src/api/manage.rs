//! `/auth/room/*` queries and actions on running rooms: `isRoomActive`,
//! `getActiveRoomInfo`, `getActiveRoomsInfo`, `endRoom`, `fetchPastRooms`
//! and `broadcastToRoom`.

use axum::extract::State;
use axum::Json;
use quorum_shared::api::{
    ActiveRoom, ActiveRoomInfoRes, ActiveRoomsInfoRes, BroadcastReq, Envelope, FetchPastRoomsReq,
    FetchPastRoomsRes, FetchPastRoomsResult, IsRoomActiveRes, ParticipantInfo, PastRoomInfo,
    RoomIdReq, StatusCode,
};
use quorum_shared::events::{EndReason, SystemEvent};
use quorum_shared::ids::RoomId;
use quorum_shared::peer::{chat_len, MAX_CHAT_LEN};
use quorum_shared::subjects;
use serde_json::json;

use super::rooms::room_info;
use super::signature::Signed;
use crate::error::{parse_json, ApiError};
use crate::rooms::lifecycle::Ended;
use crate::rooms::{ParticipantState, Presence, RoomState};
use crate::store::HistoryQuery;
use crate::AppState;

fn participant_info(p: &ParticipantState) -> ParticipantInfo {
    ParticipantInfo {
        sid: format!("PA_{}", p.user_id),
        identity: p.user_id.to_string(),
        state: match p.presence {
            Presence::Invited => "JOINING",
            Presence::Online => "ACTIVE",
            Presence::Disconnected | Presence::Offline => "DISCONNECTED",
        }
        .into(),
        metadata: json!({
            "is_admin": p.is_admin,
            "is_hidden": p.is_hidden,
            "wait_for_approval": p.wait_for_approval,
            "lock_settings": p.lock_settings,
        })
        .to_string(),
        joined_at: "0".into(),
        name: p.name.clone(),
        version: 0,
        is_publisher: p.is_admin,
    }
}

/// A running room and its participants (hidden ones included: the
/// integrator sees everyone).
fn active_room(st: &AppState, r: &RoomState) -> ActiveRoom {
    let ps = st.rooms.kv.participants_of(&r.room_id);
    let online = ps.iter().filter(|p| p.presence == Presence::Online).count() as u32;
    ActiveRoom {
        room_info: room_info(r, online),
        participants_info: ps
            .iter()
            .filter(|p| !p.cleaned_up)
            .map(participant_info)
            .collect(),
    }
}

/// The right refusal for a room that is not running: known from history
/// (`ROOM_NOT_ACTIVE`) or never seen (`ROOM_NOT_FOUND`).
async fn not_running(st: &AppState, id: &RoomId) -> ApiError {
    match st.store.room_known(id.to_string()).await {
        Ok(true) => ApiError::RoomNotActive(id.to_string()),
        Ok(false) => ApiError::RoomNotFound(id.to_string()),
        Err(e) => ApiError::internal(e),
    }
}

async fn running(st: &AppState, id: &RoomId) -> Result<RoomState, ApiError> {
    match st.rooms.kv.room(id).await? {
        Some(r) => Ok(r),
        None => Err(not_running(st, id).await),
    }
}

/// `POST /auth/room/isRoomActive`: `status` is true even when inactive.
pub async fn is_active(
    State(st): State<AppState>,
    Signed(body): Signed,
) -> Result<Json<IsRoomActiveRes>, ApiError> {
    let req: RoomIdReq = parse_json(&body)?;
    if st.rooms.kv.room(&req.room_id).await?.is_some() {
        return Ok(Json(IsRoomActiveRes {
            envelope: Envelope::success("room is active"),
            is_active: true,
        }));
    }
    let (code, msg) = match not_running(&st, &req.room_id).await {
        ApiError::RoomNotActive(_) => (StatusCode::RoomNotActive, "room is not active"),
        ApiError::RoomNotFound(_) => (StatusCode::RoomNotFound, "room not found"),
        other => return Err(other),
    };
    Ok(Json(IsRoomActiveRes {
        envelope: Envelope {
            status: true,
            msg: msg.into(),
            status_code: code,
        },
        is_active: false,
    }))
}

/// `POST /auth/room/getActiveRoomInfo`.
pub async fn active_info(
    State(st): State<AppState>,
    Signed(body): Signed,
) -> Result<Json<ActiveRoomInfoRes>, ApiError> {
    let req: RoomIdReq = parse_json(&body)?;
    let r = running(&st, &req.room_id).await?;
    Ok(Json(ActiveRoomInfoRes {
        envelope: Envelope::success("success"),
        room: Some(active_room(&st, &r)),
    }))
}

/// `POST /auth/room/getActiveRoomsInfo`.
pub async fn active_infos(
    State(st): State<AppState>,
    Signed(body): Signed,
) -> Result<Json<ActiveRoomsInfoRes>, ApiError> {
    // The body carries nothing, but parsing it (`{}`) keeps a timestamped
    // request's `ts || body` from being replayed here as a bare body.
    if !body.is_empty() {
        let _: serde_json::Map<String, serde_json::Value> = parse_json(&body)?;
    }
    let mut rooms: Vec<ActiveRoom> = st
        .rooms
        .kv
        .rooms()
        .iter()
        .map(|r| active_room(&st, r))
        .collect();
    rooms.sort_by(|a, b| a.room_info.room_id.cmp(&b.room_info.room_id));
    let envelope = if rooms.is_empty() {
        Envelope::failure(StatusCode::NotFound, "no active rooms found")
    } else {
        Envelope::success("success")
    };
    Ok(Json(ActiveRoomsInfoRes { envelope, rooms }))
}

/// How long `endRoom` waits for an end another call is carrying out.
const END_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// `POST /auth/room/endRoom`: ends the session for everyone, and answers
/// only once it is really over (every connection dropped, state gone). If
/// ending fails, the answer says so and a retry takes it up again.
pub async fn end(
    State(st): State<AppState>,
    Signed(body): Signed,
) -> Result<Json<Envelope>, ApiError> {
    let req: RoomIdReq = parse_json(&body)?;
    running(&st, &req.room_id).await?;
    match st
        .rooms
        .end_room(&req.room_id, EndReason::EndedByModerator)
        .await?
    {
        Ended::Now => Ok(Json(Envelope::success("room ended"))),
        Ended::NotRunning => Err(not_running(&st, &req.room_id).await),
        Ended::InProgress => {
            // Someone else is ending it: answer when it is gone.
            let deadline = tokio::time::Instant::now() + END_WAIT;
            while tokio::time::Instant::now() < deadline {
                if st.rooms.kv.room_from_kv(&req.room_id).await?.is_none() {
                    return Ok(Json(Envelope::success("room ended")));
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(ApiError::internal("room end still in progress"))
        }
    }
}

/// A page request as plugNmeet's list endpoints take it.
pub(crate) struct Paging {
    /// Rows to skip.
    pub(crate) from: u32,
    /// Rows to return (default 20, at most 100).
    pub(crate) limit: u32,
    /// Newest first (the default).
    pub(crate) descending: bool,
}

impl Paging {
    /// Validates `order_by` (`ASC`/`DESC`, any case, default `DESC`),
    /// `limit` and `from`, naming the bad field.
    pub(crate) fn parse(
        order_by: Option<&str>,
        limit: Option<u64>,
        from: Option<u64>,
    ) -> Result<Self, ApiError> {
        let descending = match order_by.unwrap_or_default().to_uppercase().as_str() {
            "DESC" | "" => true,
            "ASC" => false,
            other => {
                return Err(ApiError::InvalidParameters(format!(
                    "order_by: must be ASC or DESC, got {other:?}"
                )))
            }
        };
        let limit = match limit {
            None | Some(0) => 20,
            Some(n) => n.min(100),
        } as u32;
        let from = u32::try_from(from.unwrap_or(0))
            .map_err(|_| ApiError::InvalidParameters("from: too large".into()))?;
        Ok(Self {
            from,
            limit,
            descending,
        })
    }
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of unix seconds.
pub fn format_time(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `POST /auth/room/fetchPastRooms`: paged history; no rows → `NOT_FOUND`.
pub async fn past(
    State(st): State<AppState>,
    Signed(body): Signed,
) -> Result<Json<FetchPastRoomsRes>, ApiError> {
    let req: FetchPastRoomsReq = parse_json(&body)?;
    let Paging {
        from,
        limit,
        descending,
    } = Paging::parse(req.order_by.as_deref(), req.limit, req.from)?;
    let (total, rows) = st
        .store
        .history(HistoryQuery {
            room_ids: req.room_ids.iter().map(ToString::to_string).collect(),
            from,
            limit,
            descending,
        })
        .await?;
    if rows.is_empty() {
        return Ok(Json(FetchPastRoomsRes {
            envelope: Envelope::failure(StatusCode::NotFound, "no rooms found"),
            result: None,
        }));
    }
    let rooms_list = rows
        .into_iter()
        .map(|r| PastRoomInfo {
            room_title: r.title,
            room_id: r.room_id,
            room_sid: r.sid,
            joined_participants: r.joined_participants.to_string(),
            webhook_url: r.webhook_url,
            created: format_time(r.created),
            ended: r.ended.map(format_time).unwrap_or_default(),
            analytics_file_id: r.analytics_file_id.unwrap_or_default(),
        })
        .collect();
    Ok(Json(FetchPastRoomsRes {
        envelope: Envelope::success("success"),
        result: Some(FetchPastRoomsResult {
            total_rooms: total.to_string(),
            from,
            limit,
            order_by: if descending { "DESC" } else { "ASC" }.into(),
            rooms_list,
        }),
    }))
}

/// `POST /auth/room/broadcastToRoom`: a system chat or notification to
/// everyone, to moderators only, or to one user.
pub async fn broadcast(
    State(st): State<AppState>,
    Signed(body): Signed,
) -> Result<Json<Envelope>, ApiError> {
    let req: BroadcastReq = parse_json(&body)?;
    let text_len = req
        .chat_msg
        .as_ref()
        .map_or(0, |c| chat_len(&c.message))
        .max(
            req.notification_msg
                .as_ref()
                .map_or(0, |n| chat_len(&n.text)),
        );
    if text_len > MAX_CHAT_LEN {
        return Err(ApiError::InvalidParameters(format!(
            "message: at most {MAX_CHAT_LEN} characters"
        )));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let event = match (&req.chat_msg, &req.notification_msg) {
        (Some(c), _) if !c.message.trim().is_empty() => SystemEvent::SystemChat {
            id,
            message: c.message.clone(),
            sent_at_ms: crate::tokens::now_secs() * 1000,
        },
        (_, Some(n)) if !n.text.trim().is_empty() => SystemEvent::Notification {
            id,
            text: n.text.clone(),
            kind: n.kind,
            with_sound: n.with_sound,
        },
        _ => {
            return Err(ApiError::MissingParameter(
                "chat_msg.message or notification_msg.text",
            ))
        }
    };
    let to_user_id = req
        .target_user()
        .map_err(|e| ApiError::InvalidParameters(format!("to_user_id: {e}")))?;
    let room = running(&st, &req.room_id).await?;
    let targets: Vec<String> = if let Some(user) = &to_user_id {
        st.rooms
            .kv
            .participant(&room.room_id, user)
            .await?
            .ok_or_else(|| ApiError::UserNotFound(user.to_string()))?;
        vec![subjects::private(&room.room_id, user)]
    } else if req.only_to_admins {
        st.rooms
            .index()
            .moderators(&room.room_id)
            .iter()
            .map(|m| subjects::private(&room.room_id, m))
            .collect()
    } else {
        vec![subjects::public(&room.room_id)]
    };
    let payload = bytes::Bytes::from(event.encode());
    for subject in targets {
        st.nats
            .client
            .publish(subject, payload.clone())
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(Json(Envelope::success("message sent")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_times() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00");
        assert_eq!(super::format_time(1_709_210_096), "2024-02-29 12:34:56");
    }
}
