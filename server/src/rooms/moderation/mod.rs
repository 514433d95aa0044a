//! What moderators do to the meeting over their worker subject: per-person
//! locks, the waiting room, removing and blocking, promoting and demoting,
//! room-wide locks, locking the room, the waiting message, microphones,
//! lowering every hand and ending the meeting. Every action is checked
//! here (the caller's role comes from the server's own record), so a stale
//! or forged menu in a browser can do nothing a moderator could not.

use quorum_shared::events::{EndReason, SystemEvent};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::moderation::{
    PersonSettings, Refusal, RoomSettings, RoomSnapshot, WaitingEntry,
};
use quorum_shared::worker::{Feature, WorkerReply, WorkerRequest};

use super::lifecycle::Ended;
use super::service::RoomService;
use super::worker::{internal, participant, set_hand, update};
use super::{features, locks, ParticipantState, Presence, RoomState};
use crate::tokens::JoinTokens;

mod actions;

use actions::{approve, remove, set_role, set_room_locks};

/// Longest waiting-room message.
const MAX_WAITING_MESSAGE: usize = 1000;

/// The refusal for a participant asking for a moderator's action.
pub(super) fn moderators_only(room: &RoomId, caller: &UserId, what: &str) -> WorkerReply {
    tracing::info!(%room, %caller, what, "refused: moderators only");
    WorkerReply::refused_as(Refusal::NotAllowed, format!("only moderators may {what}"))
}

/// A moderator request's kind, for metrics.
pub(super) fn kind_name(req: &WorkerRequest) -> &'static str {
    match req {
        WorkerRequest::SetLocks { .. } => "set_locks",
        WorkerRequest::Approve { .. } => "approve",
        WorkerRequest::Reject { .. } => "reject",
        WorkerRequest::Start { .. } => "start",
        WorkerRequest::Remove { .. } => "remove",
        WorkerRequest::Promote { .. } => "promote",
        WorkerRequest::Demote { .. } => "demote",
        WorkerRequest::SetRoomLocks { .. } => "set_room_locks",
        WorkerRequest::LockRoom { .. } => "lock_room",
        WorkerRequest::EndRoom => "end_room",
        WorkerRequest::LowerAllHands => "lower_all_hands",
        WorkerRequest::ApproveAll => "approve_all",
        WorkerRequest::RejectAll => "reject_all",
        WorkerRequest::SetWaitingMessage { .. } => "set_waiting_message",
        WorkerRequest::Mute { .. } => "mute",
        WorkerRequest::AskToUnmute { .. } => "ask_to_unmute",
        _ => "other",
    }
}

async fn room_of(svc: &RoomService, room: &RoomId) -> Result<RoomState, WorkerReply> {
    svc.kv
        .room(room)
        .await
        .map_err(internal)?
        .ok_or_else(|| WorkerReply::refused_as(Refusal::NotFound, "room is not active"))
}

/// The room's settings as moderators see them.
pub(super) fn settings_of(r: &RoomState) -> RoomSettings {
    RoomSettings {
        locked: r.locked,
        room_locks: r.metadata.default_lock_settings.clone(),
        waiting_message: r
            .metadata
            .room_features
            .waiting_room_features
            .as_ref()
            .and_then(|w| w.waiting_room_msg.clone())
            .unwrap_or_default(),
    }
}

/// Who is waiting, in arrival order.
fn waiting_list(svc: &RoomService, room: &RoomId) -> Vec<WaitingEntry> {
    let mut list: Vec<WaitingEntry> = svc
        .kv
        .participants_of(room)
        .into_iter()
        .filter(|p| p.wait_for_approval && p.presence != Presence::Invited && !p.cleaned_up)
        .map(|p| WaitingEntry {
            since_ms: waiting_since_ms(&p),
            user_id: p.user_id,
            name: p.name,
        })
        .collect();
    list.sort_by_key(|w| w.since_ms);
    list
}

fn waiting_since_ms(p: &ParticipantState) -> u64 {
    u64::try_from(p.presence_since).unwrap_or(0) * 1000
}

/// The caller's view of the room.
pub(super) async fn snapshot(
    svc: &RoomService,
    me: &ParticipantState,
) -> Result<WorkerReply, WorkerReply> {
    let r = room_of(svc, &me.room_id).await?;
    let mut snap = RoomSnapshot {
        is_admin: me.is_admin,
        my_locks: me.lock_settings.clone(),
        muted: me.muted,
        ..RoomSnapshot::default()
    };
    if me.is_admin {
        snap.settings = settings_of(&r);
        snap.waiting = waiting_list(svc, &me.room_id);
        snap.people = svc
            .kv
            .participants_of(&me.room_id)
            .iter()
            .filter(|p| !p.is_admin)
            .map(person)
            .collect();
    }
    Ok(WorkerReply {
        ok: true,
        snapshot: Some(snap),
        ..WorkerReply::default()
    })
}

fn person(p: &ParticipantState) -> PersonSettings {
    PersonSettings {
        user_id: p.user_id.clone(),
        locks: p.lock_settings.clone(),
        muted: p.muted,
    }
}

/// Tells moderators that `p`'s locks or microphone changed.
async fn person_changed(svc: &RoomService, p: &ParticipantState) {
    let ev = SystemEvent::PersonChanged { person: person(p) };
    tell_moderators(svc, &p.room_id, &ev).await;
}

/// Tells every moderator of `room`.
async fn tell_moderators(svc: &RoomService, room: &RoomId, ev: &SystemEvent) {
    for m in svc.index().moderators(room) {
        svc.tell(room, &m, ev).await;
    }
}

async fn settings_changed(svc: &RoomService, r: &RoomState) {
    let ev = SystemEvent::RoomSettingsChanged {
        settings: settings_of(r),
    };
    tell_moderators(svc, &r.room_id, &ev).await;
}

/// Tells `p` its locks now and, if what nats-server lets it do changed
/// (`before` → now), moves its connection to the new allow-lists.
async fn apply(
    svc: &RoomService,
    before: Option<quorum_shared::subjects::Access>,
    p: &ParticipantState,
) {
    let ev = SystemEvent::LocksChanged {
        chat_locked: p.access().chat_locked,
        locks: Some(p.lock_settings.clone()),
    };
    svc.tell(&p.room_id, &p.user_id, &ev).await;
    person_changed(svc, p).await;
    svc.media.update_permissions(p);
    if before != Some(p.access()) {
        if let Some(c) = &p.conn {
            svc.kick(c).await;
        }
    }
}

/// Carries out a moderator's request (refusing everyone else).
pub(super) async fn act(
    svc: &RoomService,
    tokens: &JoinTokens,
    me: &ParticipantState,
    req: WorkerRequest,
) -> Result<WorkerReply, WorkerReply> {
    let (room, caller) = (&me.room_id, &me.user_id);
    if !me.is_admin {
        return Err(moderators_only(room, caller, kind_name(&req)));
    }
    match req {
        WorkerRequest::SetLocks { user_id, locks } => {
            if participant(svc, room, &user_id).await?.is_admin {
                return Err(WorkerReply::refused_as(
                    Refusal::Invalid,
                    "moderators can't be locked",
                ));
            }
            let mut before = None;
            let (target, _) = update(svc, room, &user_id, |p| {
                before = Some(p.access());
                locks::merge(&mut p.lock_settings, &locks);
                true
            })
            .await?;
            apply(svc, before, &target).await;
            Ok(WorkerReply::ok())
        }
        WorkerRequest::Approve { user_id } => approve(svc, tokens, room, &user_id).await,
        WorkerRequest::ApproveAll => {
            for w in waiting_list(svc, room) {
                approve(svc, tokens, room, &w.user_id).await?;
            }
            Ok(WorkerReply::ok())
        }
        WorkerRequest::Reject { user_id } => remove(svc, room, &user_id, false).await,
        WorkerRequest::RejectAll => {
            for w in waiting_list(svc, room) {
                remove(svc, room, &w.user_id, false).await?;
            }
            Ok(WorkerReply::ok())
        }
        WorkerRequest::Remove { user_id, block } => {
            if &user_id == caller {
                return Err(WorkerReply::refused_as(
                    Refusal::Invalid,
                    "you can't remove yourself",
                ));
            }
            remove(svc, room, &user_id, block).await
        }
        WorkerRequest::Promote { user_id } => set_role(svc, room, &user_id, true).await,
        WorkerRequest::Demote { user_id } => {
            let others = svc
                .index()
                .moderators(room)
                .into_iter()
                .filter(|m| m != &user_id)
                .count();
            if others == 0 {
                return Err(WorkerReply::refused_as(
                    Refusal::Invalid,
                    "the last moderator can't be demoted",
                ));
            }
            set_role(svc, room, &user_id, false).await
        }
        WorkerRequest::SetRoomLocks { locks } => set_room_locks(svc, room, &locks).await,
        WorkerRequest::LockRoom { locked } => {
            let r = svc
                .kv
                .update_room(room, |r| {
                    let change = r.locked != locked;
                    r.locked = locked;
                    change
                })
                .await
                .map_err(internal)?
                .ok_or_else(|| WorkerReply::refused_as(Refusal::NotFound, "room is not active"))?;
            settings_changed(svc, &r).await;
            Ok(WorkerReply::ok())
        }
        WorkerRequest::SetWaitingMessage { text } => {
            if text.chars().count() > MAX_WAITING_MESSAGE {
                return Err(WorkerReply::refused_as(
                    Refusal::Invalid,
                    format!("the message is limited to {MAX_WAITING_MESSAGE} characters"),
                ));
            }
            let r = svc
                .kv
                .update_room(room, |r| {
                    let w = r
                        .metadata
                        .room_features
                        .waiting_room_features
                        .get_or_insert_with(Default::default);
                    w.waiting_room_msg = Some(text.clone());
                    true
                })
                .await
                .map_err(internal)?
                .ok_or_else(|| WorkerReply::refused_as(Refusal::NotFound, "room is not active"))?;
            for w in waiting_list(svc, room) {
                let ev = SystemEvent::WaitingMessage { text: text.clone() };
                svc.tell(room, &w.user_id, &ev).await;
            }
            settings_changed(svc, &r).await;
            Ok(WorkerReply::ok())
        }
        WorkerRequest::Mute { user_id } => {
            let (p, _) = update(svc, room, &user_id, |p| {
                let change = !p.muted;
                p.muted = true;
                change
            })
            .await?;
            let ev = SystemEvent::Microphone {
                muted: true,
                ask_unmute: false,
            };
            svc.media.mute_microphone(&p);
            svc.tell(room, &p.user_id, &ev).await;
            person_changed(svc, &p).await;
            Ok(WorkerReply::ok())
        }
        WorkerRequest::AskToUnmute { user_id } => {
            let (p, _) = update(svc, room, &user_id, |p| {
                let change = p.muted;
                p.muted = false;
                change
            })
            .await?;
            let ev = SystemEvent::Microphone {
                muted: false,
                ask_unmute: true,
            };
            svc.tell(room, &p.user_id, &ev).await;
            person_changed(svc, &p).await;
            Ok(WorkerReply::ok())
        }
        WorkerRequest::LowerAllHands => {
            for p in svc.kv.participants_of(room) {
                if p.hand_raised {
                    set_hand(svc, room, &p.user_id, false).await?;
                }
            }
            Ok(WorkerReply::ok())
        }
        WorkerRequest::EndRoom => {
            // Answered first: ending drops every connection of the room,
            // the caller's too, and everyone hears `session_ended` anyway.
            // A failed end is retried a few times here (then by the timer
            // once its claim is stale, or by the integrator's endRoom).
            let (svc, room) = (svc.clone(), room.clone());
            tokio::spawn(async move {
                for attempt in 1..=3u64 {
                    match svc.end_room(&room, EndReason::EndedByModerator).await {
                        Ok(Ended::Now | Ended::NotRunning | Ended::InProgress) => return,
                        Err(e) => {
                            tracing::warn!(error = %e, %room, attempt, "end for everyone failed");
                            tokio::time::sleep(std::time::Duration::from_secs(attempt * 2)).await;
                        }
                    }
                }
            });
            Ok(WorkerReply::ok())
        }
        WorkerRequest::Start { feature } => {
            let f = room_of(svc, room).await?.metadata.room_features;
            // Refused by the server itself, not just hidden in the UI: with
            // a key only participants know, nothing here can see plaintext.
            let needs_plaintext =
                features::self_key(&f) || (feature == Feature::Sip && features::e2ee_enabled(&f));
            if needs_plaintext {
                tracing::info!(%room, ?feature, "refused: needs plaintext in an E2EE room");
                return Err(WorkerReply::refused_as(
                    Refusal::Invalid,
                    "disabled: this needs plaintext and the room is end-to-end encrypted",
                ));
            }
            Err(WorkerReply::refused_as(
                Refusal::Invalid,
                "not available on this server yet",
            ))
        }
        // Handled by the worker itself; never routed here.
        WorkerRequest::RenewToken { .. }
        | WorkerRequest::RaiseHand
        | WorkerRequest::LowerHand { .. }
        | WorkerRequest::RoomKey
        | WorkerRequest::Snapshot
        | WorkerRequest::MediaToken
        | WorkerRequest::React { .. } => {
            Err(WorkerReply::refused_as(Refusal::Invalid, "unexpected"))
        }
    }
}
