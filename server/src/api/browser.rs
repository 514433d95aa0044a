//! The browser API: `/api/config`, `/api/verifyToken` and `/api/renewToken`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use quorum_shared::api::{
    is_tab_id, ClientConfig, Envelope, JoinSession, RenewTokenRes, VerifyTokenRes, TAB_HEADER,
    TAKE_OVER_HEADER,
};
use quorum_shared::subjects::UserSubjects;
use quorum_shared::token::JoinClaims;
use quorum_shared::worker::RENEW_GRACE_SECS;

use crate::error::ApiError;
use crate::rooms::{ParticipantState, Presence, RoomState};
use crate::tokens::{now_secs, TokenSubject};
use crate::AppState;

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let raw = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::MissingHeader("Authorization"))?;
    let t = raw.strip_prefix("Bearer ").unwrap_or(raw).trim();
    if t.is_empty() {
        return Err(ApiError::MissingHeader("Authorization"));
    }
    Ok(t)
}

/// The running room a token names and its participant, unless blocked. A
/// token of an earlier session of the room is refused like an inactive
/// room: that session is over.
async fn room_and_participant(
    st: &AppState,
    claims: &JoinClaims,
) -> Result<(RoomState, ParticipantState), ApiError> {
    let room = st
        .rooms
        .kv
        .room(&claims.room_id)
        .await?
        .filter(|r| r.ending.is_none() && (claims.sid.is_empty() || claims.sid == r.sid))
        .ok_or_else(|| ApiError::RoomNotActive(claims.room_id.to_string()))?;
    // Before the participant: removing someone deletes their record, and
    // a blocked person should hear that they are blocked, not unknown.
    if room.blocked.contains(&claims.user_id) {
        return Err(ApiError::UserBlocked(claims.user_id.to_string()));
    }
    let p = st
        .rooms
        .kv
        .participant(&claims.room_id, &claims.user_id)
        .await?
        .ok_or_else(|| ApiError::UserNotFound(claims.user_id.to_string()))?;
    Ok((room, p))
}

/// `POST /api/verifyToken`: checks the token and says how to connect.
pub async fn verify_token(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<VerifyTokenRes>, ApiError> {
    let claims = st
        .tokens
        .verify(bearer(&headers)?)
        .map_err(|e| ApiError::InvalidToken(e.to_string()))?;
    let (room, p) = room_and_participant(&st, &claims).await?;
    if room.locked && p.presence == Presence::Invited && !p.is_admin {
        return Err(ApiError::RoomLocked(room.room_id.to_string()));
    }
    if room.max_participants > 0 {
        // Someone taking the meeting over from their own other tab keeps
        // their seat: they are not counted against themselves.
        let online = u64::from(st.rooms.index().online_count(&room.room_id));
        let others = online - u64::from(p.presence == Presence::Online && online > 0);
        if others >= room.max_participants {
            return Err(ApiError::RoomFull(room.room_id.to_string()));
        }
    }
    // A tab asking why its reconnect was refused: the meeting was taken
    // from it, or it holds the seat itself (then it may retry).
    let asking = header_tab(&headers, TAB_HEADER);
    if asking.is_some_and(|t| p.tabs.is_moved(t)) {
        return Err(ApiError::AlreadyOnline(claims.user_id.to_string()));
    }
    let own_seat = asking.is_some() && p.tabs.holder.as_deref() == asking;
    // Last, after every refusal: the other tab is told to leave only if
    // this one will get in.
    if p.presence == Presence::Online && !own_seat {
        // "Use this tab instead" names the tab taking over; otherwise, or
        // too often, the user hears they are already in.
        let tab = header_tab(&headers, TAKE_OVER_HEADER);
        let taken = match tab {
            Some(tab) => {
                st.rooms
                    .take_over(&claims.room_id, &claims.user_id, tab)
                    .await
            }
            None => false,
        };
        if !taken {
            return Err(ApiError::AlreadyOnline(claims.user_id.to_string()));
        }
    }
    let e2ee = room
        .metadata
        .room_features
        .end_to_end_encryption_features
        .as_ref();
    let e2ee_on = e2ee.is_some_and(|e| e.is_enabled == Some(true));
    let self_key =
        e2ee_on && e2ee.is_some_and(|e| e.enabled_self_insert_encryption_key == Some(true));
    let ends_at = room.ends_at();
    Ok(Json(VerifyTokenRes {
        envelope: Envelope::success("token is valid"),
        session: Some(JoinSession {
            nats_ws_urls: st.nats.ws_urls.clone(),
            subjects: UserSubjects::new(&claims.room_id, &claims.user_id),
            room_id: claims.room_id,
            room_sid: room.sid,
            room_title: room.metadata.room_title,
            user_id: claims.user_id,
            name: claims.name,
            is_admin: claims.is_admin,
            e2ee: e2ee_on,
            e2ee_self_key: self_key,
            server_version: crate::VERSION.to_owned(),
            welcome_message: room
                .metadata
                .welcome_message
                .clone()
                .filter(|m| !m.trim().is_empty()),
            waiting_room: p.wait_for_approval,
            waiting_message: room
                .metadata
                .room_features
                .waiting_room_features
                .as_ref()
                .and_then(|w| w.waiting_room_msg.clone())
                .filter(|m| !m.trim().is_empty()),
            ends_at,
            logout_url: room
                .metadata
                .logout_url
                .clone()
                .filter(|u| quorum_shared::api::is_web_url(u)),
            // Moderators are never locked, whatever their record says.
            locks: if p.is_admin {
                Default::default()
            } else {
                p.lock_settings
            },
        }),
    }))
}

/// The tab id in header `name`, if it is one.
fn header_tab<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|t| is_tab_id(t))
}

/// `POST /api/renewToken`: a fresh token for the caller's own identity,
/// for when NATS can't carry the renewal: a waiting participant may publish
/// nothing, and after an outage longer than the token's lifetime the old
/// token no longer opens a connection.
///
/// A still-valid token is renewed like a join. An expired one (within the
/// same grace as the NATS renewal) only while its participant is
/// disconnected or offline: someone who is connected renews over their
/// connection, and a user who never connected has no session to keep.
pub async fn renew_token(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<RenewTokenRes>, ApiError> {
    let claims = st
        .tokens
        .verify_for_renewal(bearer(&headers)?, RENEW_GRACE_SECS)
        .map_err(|e| ApiError::InvalidToken(e.to_string()))?;
    let (_, p) = room_and_participant(&st, &claims).await?;
    if !renewable(&claims, &p, now_secs(), st.config.presence_offline_secs) {
        return Err(ApiError::InvalidToken(
            "the join token has expired".to_owned(),
        ));
    }
    let token = st
        .tokens
        .issue(&TokenSubject {
            room_id: &claims.room_id,
            user_id: &claims.user_id,
            name: &p.name,
            is_admin: p.is_admin,
            is_hidden: p.is_hidden,
            sid: &p.sid,
        })
        .map_err(ApiError::internal)?;
    tracing::debug!(room = %claims.room_id, user = %claims.user_id, "token renewed over HTTP");
    Ok(Json(RenewTokenRes {
        envelope: Envelope::success("token renewed"),
        token: Some(token),
    }))
}

/// Whether `claims` may be renewed over HTTP for `p` at `now`.
///
/// - Only for someone who has connected: a link nobody used has no
///   session to keep, and renewing it would only stretch a leaked link.
/// - An expired token only while its owner is disconnected or offline
///   (a connected user renews over its connection), and only if it was
///   still valid when the connection dropped: the client renews well
///   before expiry, so the token in use at the drop was valid then, while
///   an old one (the link from the browser history) had lapsed long
///   before.
pub fn renewable(claims: &JoinClaims, p: &ParticipantState, now: u64, offline_grace: u64) -> bool {
    // Presence may be recorded late (a restart reconciles it), so the
    // drop time is a little uncertain; old links lapsed minutes earlier.
    const LEEWAY: i64 = 120;
    if p.presence == Presence::Invited {
        return false;
    }
    if claims.exp >= now {
        return true;
    }
    let dropped_at = match p.presence {
        Presence::Disconnected => p.presence_since,
        Presence::Offline => p.presence_since - offline_grace as i64,
        Presence::Online | Presence::Invited => return false,
    };
    claims.exp as i64 + LEEWAY >= dropped_at
}

/// `GET /api/config`: settings the browser applies before verifying.
pub async fn client_config(State(st): State<AppState>) -> Json<ClientConfig> {
    Json(ClientConfig {
        cache_max_age_secs: st.config.cache_max_age_secs,
        media: st.rooms.media.url().is_some(),
    })
}
