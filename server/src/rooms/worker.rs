//! Requests participants send over NATS (`qr.{room}.worker.{user}`): token
//! renewal, hands, and moderator actions. The caller's identity is the
//! subject's `{room}.{user}`, which nats-server only lets that user publish
//! on; ids in the request name the target, never the caller.

use futures::StreamExt;
use quorum_shared::events::SystemEvent;
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::moderation::{Refusal, MAX_REACTION_LEN, REACTIONS};
use quorum_shared::subjects;
use quorum_shared::worker::{MediaAccess, WorkerReply, WorkerRequest, RENEW_GRACE_SECS};

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::meter::Kind;
use super::service::RoomService;
use super::ParticipantState;
use crate::tokens::{JoinTokens, TokenSubject};

/// Serves worker requests (queue group: one instance answers each). At
/// most `limits.concurrency` are handled at once; beyond that, and beyond
/// a participant's own budget, the answer is a refusal, not a queue.
pub async fn run(svc: RoomService, tokens: JoinTokens) {
    let mut sub = match svc
        .nats
        .queue_subscribe(subjects::WORKER_ALL, "quorum-worker".to_owned())
        .await
    {
        Ok(s) => s,
        Err(e) => return tracing::error!(error = %e, "cannot serve worker requests"),
    };
    let permits = Arc::new(Semaphore::new(svc.limits.concurrency));
    while let Some(msg) = sub.next().await {
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let (svc, tokens) = (svc.clone(), tokens.clone());
                tokio::spawn(async move {
                    answer_one(&svc, &tokens, msg, true).await;
                    drop(permit);
                });
            }
            // Busy: refused here, without a task, so a flood never piles
            // up work.
            Err(_) => answer_one(&svc, &tokens, msg, false).await,
        }
    }
}

/// Answers one request on the caller's own inbox (as busy unless
/// `admitted`).
async fn answer_one(
    svc: &RoomService,
    tokens: &JoinTokens,
    msg: async_nats::Message,
    admitted: bool,
) {
    let Some((room, caller)) = subjects::parse_worker(msg.subject.as_str()) else {
        return;
    };
    // Only requests answered on the caller's own inbox are served:
    // otherwise a caller could have us publish onto someone else's
    // subject, and a message reflected onto this subject by a third
    // party (it carries no such reply) would act as the caller.
    let Some(to) = msg
        .reply
        .filter(|r| subjects::owns_inbox(&room, &caller, r.as_str()))
    else {
        return tracing::warn!(%room, %caller, "worker request without the caller's inbox dropped");
    };
    let reply = if !admitted {
        crate::metrics::worker_request("any", "busy");
        WorkerReply::refused_as(Refusal::Busy, "the server is busy; try again in a moment")
    } else if !svc.allow(&room, &caller, Kind::Worker) {
        crate::metrics::worker_request("any", "rate_limited");
        WorkerReply::refused_as(
            Refusal::RateLimited,
            "too many requests; try again in a moment",
        )
    } else {
        match serde_json::from_slice::<WorkerRequest>(&msg.payload) {
            Ok(req) => handle(svc, tokens, &room, &caller, req).await,
            Err(e) => WorkerReply::refused_as(Refusal::Invalid, format!("malformed request: {e}")),
        }
    };
    let body = serde_json::to_vec(&reply).unwrap_or_default();
    if let Err(e) = svc.nats.publish(to, body.into()).await {
        tracing::warn!(error = %e, "cannot answer worker request");
    }
}

/// The reply when something went wrong on our side (logged, not sent).
pub(super) fn internal(e: impl std::fmt::Display) -> WorkerReply {
    tracing::error!(error = %e, "worker request failed");
    WorkerReply::refused_as(Refusal::Internal, "internal error")
}

/// The participant `user` of this session, or a "not found" refusal.
pub(super) async fn participant(
    svc: &RoomService,
    room: &RoomId,
    user: &UserId,
) -> Result<ParticipantState, WorkerReply> {
    match svc.kv.participant(room, user).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(not_here(user)),
        Err(e) => Err(internal(e)),
    }
}

fn not_here(user: &UserId) -> WorkerReply {
    WorkerReply::refused_as(Refusal::NotFound, format!("{user} is not in this room"))
}

/// Changes participant `user` with `f` (compare-and-set); returns it as
/// stored and whether `f` changed it.
pub(super) async fn update(
    svc: &RoomService,
    room: &RoomId,
    user: &UserId,
    f: impl FnMut(&mut ParticipantState) -> bool,
) -> Result<(ParticipantState, bool), WorkerReply> {
    match svc.kv.update_participant(room, user, f).await {
        Ok(Some(updated)) => Ok(updated),
        Ok(None) => Err(not_here(user)),
        Err(e) => Err(internal(e)),
    }
}

/// Carries out one request from `caller` in `room`.
pub async fn handle(
    svc: &RoomService,
    tokens: &JoinTokens,
    room: &RoomId,
    caller: &UserId,
    req: WorkerRequest,
) -> WorkerReply {
    let kind = kind_name(&req);
    let reply = match run_request(svc, tokens, room, caller, req).await {
        Ok(r) | Err(r) => r,
    };
    crate::metrics::worker_request(kind, if reply.ok { "ok" } else { "refused" });
    reply
}

/// A request's kind, for metrics.
fn kind_name(req: &WorkerRequest) -> &'static str {
    match req {
        WorkerRequest::RenewToken { .. } => "renew_token",
        WorkerRequest::RaiseHand => "raise_hand",
        WorkerRequest::LowerHand { .. } => "lower_hand",
        WorkerRequest::RoomKey => "room_key",
        WorkerRequest::Snapshot => "snapshot",
        WorkerRequest::React { .. } => "react",
        WorkerRequest::MediaToken => "media_token",
        other => super::moderation::kind_name(other),
    }
}

async fn run_request(
    svc: &RoomService,
    tokens: &JoinTokens,
    room: &RoomId,
    caller: &UserId,
    req: WorkerRequest,
) -> Result<WorkerReply, WorkerReply> {
    let me = participant(svc, room, caller).await?;
    match req {
        WorkerRequest::RenewToken { token } => {
            let claims = tokens
                .verify_for_renewal(&token, RENEW_GRACE_SECS)
                .map_err(|e| WorkerReply::refused_as(Refusal::Invalid, e.to_string()))?;
            // Bound to the connection's own identity: a token for anyone
            // else is refused even if it is genuine.
            let same_session = claims.sid.is_empty() || claims.sid == me.sid;
            if &claims.room_id != room || &claims.user_id != caller || !same_session {
                tracing::warn!(%room, %caller, "renewal of another identity's token refused");
                return Err(WorkerReply::refused_as(
                    Refusal::NotAllowed,
                    "token does not belong to this connection",
                ));
            }
            let fresh = tokens.issue(&TokenSubject {
                room_id: room,
                user_id: caller,
                name: &me.name,
                is_admin: me.is_admin,
                is_hidden: me.is_hidden,
                sid: &me.sid,
            });
            Ok(WorkerReply {
                ok: true,
                token: Some(fresh.map_err(internal)?),
                ..WorkerReply::default()
            })
        }
        WorkerRequest::RaiseHand => set_hand(svc, room, caller, true).await,
        WorkerRequest::LowerHand { user_id } => {
            if &user_id != caller && !me.is_admin {
                return Err(super::moderation::moderators_only(
                    room,
                    caller,
                    "lower someone else's hand",
                ));
            }
            set_hand(svc, room, &user_id, false).await
        }
        WorkerRequest::RoomKey => {
            if me.wait_for_approval {
                return Err(WorkerReply::refused_as(
                    Refusal::NotAllowed,
                    "not admitted yet",
                ));
            }
            let room_state =
                svc.kv.room(room).await.map_err(internal)?.ok_or_else(|| {
                    WorkerReply::refused_as(Refusal::NotFound, "room is not active")
                })?;
            let f = &room_state.metadata.room_features;
            if super::features::self_key(f) {
                return Err(WorkerReply::refused_as(
                    Refusal::Invalid,
                    "this room's key is known only to participants",
                ));
            }
            let key = svc
                .kv
                .room_secret(&room_state.sid)
                .await
                .map_err(internal)?
                .ok_or_else(|| {
                    WorkerReply::refused_as(
                        Refusal::Invalid,
                        "this room is not end-to-end encrypted",
                    )
                })?;
            Ok(WorkerReply {
                ok: true,
                key: Some(key),
                ..WorkerReply::default()
            })
        }
        WorkerRequest::Snapshot => super::moderation::snapshot(svc, &me).await,
        WorkerRequest::MediaToken => media_token(svc, tokens, &me).await,
        WorkerRequest::React { payload } => react(svc, &me, payload).await,
        other => super::moderation::act(svc, tokens, &me, other).await,
    }
}

/// Raises or lowers `user`'s hand and tells the room.
pub(super) async fn set_hand(
    svc: &RoomService,
    room: &RoomId,
    user: &UserId,
    raised: bool,
) -> Result<WorkerReply, WorkerReply> {
    let (p, changed) = update(svc, room, user, |p| {
        let changed = p.hand_raised != raised;
        p.hand_raised = raised;
        changed
    })
    .await?;
    if raised && changed {
        match svc.kv.room(&p.room_id).await {
            Ok(Some(r)) => svc.analytics.record_hand(&r, &p.user_id).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "hand not counted"),
        }
    }
    let ev = SystemEvent::Hand {
        user_id: p.user_id.to_string(),
        raised,
    };
    svc.publish(&subjects::public(&p.room_id), &ev).await;
    Ok(WorkerReply::ok())
}

/// A media token for an admitted participant, if media is configured:
/// its grants follow the caller's role and locks as recorded now, and it
/// lives as long as a join token.
async fn media_token(
    svc: &RoomService,
    tokens: &JoinTokens,
    me: &ParticipantState,
) -> Result<WorkerReply, WorkerReply> {
    if me.wait_for_approval {
        return Err(WorkerReply::refused_as(
            Refusal::NotAllowed,
            "not admitted yet",
        ));
    }
    let Some(url) = svc.media.url() else {
        return Err(WorkerReply::refused_as(
            Refusal::Invalid,
            "this server has no audio or video",
        ));
    };
    let token = svc.media.token(me, tokens.ttl()).map_err(|e| {
        tracing::error!(error = %e, "media token");
        WorkerReply::refused_as(Refusal::Internal, "could not sign a media token")
    })?;
    Ok(WorkerReply {
        media: Some(MediaAccess {
            url: url.to_owned(),
            token,
        }),
        ..WorkerReply::ok()
    })
}

/// A reaction for the room: only from an admitted participant whose
/// reactions are not locked, within its budget, and one of the known
/// names (or, in an E2EE room, a sealed one the server can't read). The
/// server sends it, so the sender is known.
async fn react(
    svc: &RoomService,
    me: &ParticipantState,
    payload: String,
) -> Result<WorkerReply, WorkerReply> {
    if me.wait_for_approval {
        return Err(WorkerReply::refused_as(
            Refusal::NotAllowed,
            "not admitted yet",
        ));
    }
    if !me.is_admin && me.lock_settings.lock_reactions == Some(true) {
        return Err(WorkerReply::refused_as(
            Refusal::NotAllowed,
            "reactions are locked by a moderator",
        ));
    }
    let r = svc
        .kv
        .room(&me.room_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| WorkerReply::refused_as(Refusal::NotFound, "room is not active"))?;
    let sealed = super::features::e2ee_enabled(&r.metadata.room_features);
    let known = REACTIONS.contains(&payload.as_str());
    if payload.len() > MAX_REACTION_LEN || (!sealed && !known) {
        return Err(WorkerReply::refused_as(
            Refusal::Invalid,
            "unknown reaction",
        ));
    }
    if !svc.allow(&me.room_id, &me.user_id, Kind::Reaction) {
        return Err(WorkerReply::refused_as(
            Refusal::RateLimited,
            "too many reactions; wait a moment",
        ));
    }
    let ev = SystemEvent::Reaction {
        user_id: me.user_id.to_string(),
        payload,
        sent_at_ms: crate::tokens::now_secs() * 1000,
    };
    svc.publish(&subjects::public(&me.room_id), &ev).await;
    Ok(WorkerReply::ok())
}
