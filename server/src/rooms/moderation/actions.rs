//! The moderators' actions that take more than a record update: letting
//! someone in, removing or blocking them, changing their role, and the
//! room-wide locks.

use quorum_shared::api::LockSettings;
use quorum_shared::events::{PresenceState, SystemEvent};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::moderation::Refusal;
use quorum_shared::subjects;
use quorum_shared::worker::WorkerReply;

use super::{apply, room_of, settings_changed, tell_moderators, waiting_since_ms};
use crate::rooms::service::RoomService;
use crate::rooms::worker::{internal, participant, update};
use crate::rooms::{locks, Presence};
use crate::tokens::{JoinTokens, TokenSubject};

/// Lets a waiting participant in: the room hears of them now, they get a
/// fresh token, and their waiting-room connection is dropped so they
/// reconnect with full permissions.
pub(super) async fn approve(
    svc: &RoomService,
    tokens: &JoinTokens,
    room: &RoomId,
    user_id: &UserId,
) -> Result<WorkerReply, WorkerReply> {
    let (target, changed) = update(svc, room, user_id, |p| {
        let was = p.wait_for_approval;
        p.wait_for_approval = false;
        was
    })
    .await?;
    if changed {
        let ev = SystemEvent::Waiting {
            user_id: user_id.to_string(),
            name: target.name.clone(),
            since_ms: waiting_since_ms(&target),
            waiting: false,
        };
        tell_moderators(svc, room, &ev).await;
        if matches!(target.presence, Presence::Online | Presence::Disconnected) {
            svc.announce_presence(&target, PresenceState::Online).await;
        }
    }
    let token = tokens
        .issue(&TokenSubject {
            room_id: room,
            user_id,
            name: &target.name,
            is_admin: target.is_admin,
            is_hidden: target.is_hidden,
            sid: &target.sid,
        })
        .map_err(internal)?;
    svc.publish(
        &subjects::private(room, user_id),
        &SystemEvent::Approved { token },
    )
    .await;
    if let Some(c) = &target.conn {
        svc.kick(c).await;
    }
    Ok(WorkerReply::ok())
}

/// Removes (turns away, or blocks) a participant.
pub(super) async fn remove(
    svc: &RoomService,
    room: &RoomId,
    user: &UserId,
    block: bool,
) -> Result<WorkerReply, WorkerReply> {
    let target = participant(svc, room, user).await?;
    if block {
        svc.kv
            .update_room(room, |r| {
                if r.blocked.contains(user) {
                    return false;
                }
                r.blocked.push(user.clone());
                true
            })
            .await
            .map_err(internal)?;
    }
    svc.tell(room, user, &SystemEvent::Removed { blocked: block })
        .await;
    svc.media.remove(&target);
    svc.kv
        .remove_participant(room, user)
        .await
        .map_err(internal)?;
    if target.wait_for_approval {
        let ev = SystemEvent::Waiting {
            user_id: user.to_string(),
            name: target.name.clone(),
            since_ms: waiting_since_ms(&target),
            waiting: false,
        };
        tell_moderators(svc, room, &ev).await;
    } else if target.presence == Presence::Online {
        svc.announce_presence(&target, PresenceState::Left).await;
    }
    if let Some(c) = &target.conn {
        svc.kick(c).await;
    }
    Ok(WorkerReply::ok())
}

/// Makes `user` a moderator (locks cleared) or a participant again (the
/// room's locks apply), tells them, and moves their connection over.
pub(super) async fn set_role(
    svc: &RoomService,
    room: &RoomId,
    user: &UserId,
    is_admin: bool,
) -> Result<WorkerReply, WorkerReply> {
    let r = room_of(svc, room).await?;
    let mut before = None;
    let (p, changed) = update(svc, room, user, |p| {
        before = Some(p.access());
        if p.is_admin == is_admin {
            return false;
        }
        p.is_admin = is_admin;
        p.wait_for_approval = false;
        p.lock_settings = if is_admin {
            LockSettings::default()
        } else {
            r.metadata.default_lock_settings.clone()
        };
        true
    })
    .await?;
    if changed {
        svc.tell(room, user, &SystemEvent::RoleChanged { is_admin })
            .await;
        // The room hears the new role through presence.
        if p.presence == Presence::Online {
            svc.announce_presence(&p, PresenceState::Online).await;
        }
        apply(svc, before, &p).await;
        // LiveKit can't take `roomAdmin` from a live participant: out of
        // the media room, the client comes back with a fresh token.
        if !is_admin {
            svc.media.remove(&p);
        }
    }
    Ok(WorkerReply::ok())
}

/// Locks for every participant who is not a moderator, now and later: the
/// room's defaults change, and each current participant whose locks that
/// changes is told and moved.
pub(super) async fn set_room_locks(
    svc: &RoomService,
    room: &RoomId,
    new: &LockSettings,
) -> Result<WorkerReply, WorkerReply> {
    let r = svc
        .kv
        .update_room(room, |r| {
            locks::merge(&mut r.metadata.default_lock_settings, new);
            true
        })
        .await
        .map_err(internal)?
        .ok_or_else(|| WorkerReply::refused_as(Refusal::NotFound, "room is not active"))?;
    for p in svc.kv.participants_of(room) {
        if p.is_admin {
            continue;
        }
        let mut before = None;
        let (after, changed) = update(svc, room, &p.user_id, |p| {
            before = Some(p.access());
            let locks_before = p.lock_settings.clone();
            locks::merge(&mut p.lock_settings, new);
            p.lock_settings != locks_before
        })
        .await?;
        if changed && after.presence != Presence::Invited {
            apply(svc, before, &after).await;
        }
    }
    settings_changed(svc, &r).await;
    Ok(WorkerReply::ok())
}
