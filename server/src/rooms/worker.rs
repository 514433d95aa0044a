//! Requests participants send over NATS (`qr.{room}.worker.{user}`): token
//! renewal, hands, and moderator actions. The caller's identity is the
//! subject's `{room}.{user}`, which nats-server only lets that user publish
//! on; ids in the request name the target, never the caller.

use futures::StreamExt;
use quorum_shared::events::SystemEvent;
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects;
use quorum_shared::worker::{Feature, WorkerReply, WorkerRequest, RENEW_GRACE_SECS};

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::meter::Kind;
use super::service::RoomService;
use super::{locks, ParticipantState};
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
        WorkerReply::refused("the server is busy; try again in a moment")
    } else if !svc.allow(&room, &caller, Kind::Worker) {
        crate::metrics::worker_request("any", "rate_limited");
        WorkerReply::refused("too many requests; try again in a moment")
    } else {
        match serde_json::from_slice::<WorkerRequest>(&msg.payload) {
            Ok(req) => handle(svc, tokens, &room, &caller, req).await,
            Err(e) => WorkerReply::refused(format!("malformed request: {e}")),
        }
    };
    let body = serde_json::to_vec(&reply).unwrap_or_default();
    if let Err(e) = svc.nats.publish(to, body.into()).await {
        tracing::warn!(error = %e, "cannot answer worker request");
    }
}

async fn participant(
    svc: &RoomService,
    room: &RoomId,
    user: &UserId,
) -> Result<ParticipantState, WorkerReply> {
    match svc.kv.participant(room, user).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(WorkerReply::refused(format!("{user} is not in this room"))),
        Err(e) => {
            tracing::error!(error = %e, "worker lookup failed");
            Err(WorkerReply::refused("internal error"))
        }
    }
}

/// Changes participant `user` with `f` (compare-and-set); returns it as
/// stored and whether `f` changed it.
async fn update(
    svc: &RoomService,
    room: &RoomId,
    user: &UserId,
    f: impl FnMut(&mut ParticipantState) -> bool,
) -> Result<(ParticipantState, bool), WorkerReply> {
    match svc.kv.update_participant(room, user, f).await {
        Ok(Some(updated)) => Ok(updated),
        Ok(None) => Err(WorkerReply::refused(format!("{user} is not in this room"))),
        Err(e) => {
            tracing::error!(error = %e, "worker update failed");
            Err(WorkerReply::refused("internal error"))
        }
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
        WorkerRequest::SetLocks { .. } => "set_locks",
        WorkerRequest::Approve { .. } => "approve",
        WorkerRequest::Reject { .. } => "reject",
        WorkerRequest::RoomKey => "room_key",
        WorkerRequest::Start { .. } => "start",
        WorkerRequest::Remove { .. } => "remove",
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
    let moderator_only = |what: &str| {
        if me.is_admin {
            Ok(())
        } else {
            tracing::info!(%room, %caller, what, "refused: moderators only");
            Err(WorkerReply::refused(format!("only moderators may {what}")))
        }
    };
    let internal = |e: super::RoomsError| {
        tracing::error!(error = %e, "worker request failed");
        WorkerReply::refused("internal error")
    };
    match req {
        WorkerRequest::RenewToken { token } => {
            let claims = tokens
                .verify_for_renewal(&token, RENEW_GRACE_SECS)
                .map_err(|e| WorkerReply::refused(e.to_string()))?;
            // Bound to the connection's own identity: a token for anyone
            // else is refused even if it is genuine.
            let same_session = claims.sid.is_empty() || claims.sid == me.sid;
            if &claims.room_id != room || &claims.user_id != caller || !same_session {
                tracing::warn!(%room, %caller, "renewal of another identity's token refused");
                return Err(WorkerReply::refused(
                    "token does not belong to this connection",
                ));
            }
            let fresh = tokens
                .issue(&TokenSubject {
                    room_id: room,
                    user_id: caller,
                    name: &me.name,
                    is_admin: me.is_admin,
                    is_hidden: me.is_hidden,
                    sid: &me.sid,
                })
                .map_err(|_| WorkerReply::refused("internal error"))?;
            Ok(WorkerReply {
                ok: true,
                token: Some(fresh),
                ..WorkerReply::default()
            })
        }
        WorkerRequest::RaiseHand => set_hand(svc, room, caller, true).await,
        WorkerRequest::LowerHand { user_id } => {
            if &user_id != caller {
                moderator_only("lower someone else's hand")?;
            }
            set_hand(svc, room, &user_id, false).await
        }
        WorkerRequest::SetLocks { user_id, locks } => {
            moderator_only("change locks")?;
            if participant(svc, room, &user_id).await?.is_admin {
                return Err(WorkerReply::refused("moderators can't be locked"));
            }
            let (target, _) = update(svc, room, &user_id, |p| {
                locks::merge(&mut p.lock_settings, &locks);
                true
            })
            .await?;
            let ev = SystemEvent::LocksChanged {
                chat_locked: target.access().chat_locked,
            };
            // nats-server enforces the new allow-list only on a new
            // connection: drop the old one; the client reconnects.
            svc.enforce(&target, &ev).await;
            Ok(WorkerReply::ok())
        }
        WorkerRequest::Approve { user_id } => {
            moderator_only("approve participants")?;
            let (target, _) = update(svc, room, &user_id, |p| {
                p.wait_for_approval = false;
                true
            })
            .await?;
            let token = tokens
                .issue(&TokenSubject {
                    room_id: room,
                    user_id: &user_id,
                    name: &target.name,
                    is_admin: target.is_admin,
                    is_hidden: target.is_hidden,
                    sid: &target.sid,
                })
                .map_err(|_| WorkerReply::refused("internal error"))?;
            svc.publish(
                &subjects::private(room, &user_id),
                &SystemEvent::Approved { token },
            )
            .await;
            if let Some(c) = &target.conn {
                svc.kick(c).await;
            }
            Ok(WorkerReply::ok())
        }
        WorkerRequest::RoomKey => {
            if me.wait_for_approval {
                return Err(WorkerReply::refused("not admitted yet"));
            }
            let room_state = svc
                .kv
                .room(room)
                .await
                .map_err(internal)?
                .ok_or_else(|| WorkerReply::refused("room is not active"))?;
            let f = &room_state.metadata.room_features;
            if super::features::self_key(f) {
                return Err(WorkerReply::refused(
                    "this room's key is known only to participants",
                ));
            }
            let key = svc
                .kv
                .room_secret(&room_state.sid)
                .await
                .map_err(internal)?
                .ok_or_else(|| WorkerReply::refused("this room is not end-to-end encrypted"))?;
            Ok(WorkerReply {
                ok: true,
                key: Some(key),
                ..WorkerReply::default()
            })
        }
        WorkerRequest::Start { feature } => {
            moderator_only("start recording, streaming or dial-in")?;
            let f = svc
                .kv
                .room(room)
                .await
                .map_err(internal)?
                .map(|r| r.metadata.room_features)
                .unwrap_or_default();
            // Refused by the server itself, not just hidden in the UI: with
            // a key only participants know, nothing here can see plaintext.
            let needs_plaintext = super::features::self_key(&f)
                || (feature == Feature::Sip && super::features::e2ee_enabled(&f));
            if needs_plaintext {
                tracing::info!(%room, ?feature, "refused: needs plaintext in an E2EE room");
                return Err(WorkerReply::refused(
                    "disabled: this needs plaintext and the room is end-to-end encrypted",
                ));
            }
            Err(WorkerReply::refused("not available on this server yet"))
        }
        WorkerRequest::Reject { user_id } => {
            moderator_only("turn participants away")?;
            remove(svc, room, &user_id, false).await.map_err(internal)
        }
        WorkerRequest::Remove { user_id, block } => {
            moderator_only("remove participants")?;
            if &user_id == caller {
                return Err(WorkerReply::refused("you can't remove yourself"));
            }
            remove(svc, room, &user_id, block).await.map_err(internal)
        }
    }
}

async fn set_hand(
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

async fn remove(
    svc: &RoomService,
    room: &RoomId,
    user: &UserId,
    block: bool,
) -> Result<WorkerReply, super::RoomsError> {
    if block {
        svc.kv
            .update_room(room, |r| {
                if r.blocked.contains(user) {
                    return false;
                }
                r.blocked.push(user.clone());
                true
            })
            .await?;
    }
    let target = svc.kv.participant(room, user).await?;
    svc.publish(
        &subjects::private(room, user),
        &SystemEvent::Removed { blocked: block },
    )
    .await;
    svc.kv.remove_participant(room, user).await?;
    if let Some(c) = target.and_then(|t| t.conn) {
        svc.kick(&c).await;
    }
    Ok(WorkerReply::ok())
}
