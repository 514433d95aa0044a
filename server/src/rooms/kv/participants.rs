//! Participants in `quorum-participants` (key `{room_id}.{user_id}`),
//! always of their room's current session.

use async_nats::jetstream::kv;
use quorum_shared::ids::{RoomId, UserId};

use super::{contention, decode, encode, kv_err, pkey, update_entry, Rooms, CAS_ATTEMPTS};
use crate::rooms::{ParticipantState, RoomsError};

impl Rooms {
    async fn current_sid(&self, room: &RoomId) -> Result<Option<String>, RoomsError> {
        Ok(self.room(room).await?.map(|r| r.sid))
    }

    /// Like [`Rooms::update_room`], for a participant of the room's current
    /// session: every writer (the callout, advisories, timers, moderator
    /// requests, the API) goes through here, so none undoes another's
    /// change. Returns the stored participant and whether `f` changed it.
    pub async fn update_participant(
        &self,
        room: &RoomId,
        user: &UserId,
        mut f: impl FnMut(&mut ParticipantState) -> bool,
    ) -> Result<Option<(ParticipantState, bool)>, RoomsError> {
        let Some(sid) = self.current_sid(room).await? else {
            return Ok(None);
        };
        let mut stale = false;
        let updated = update_entry(
            &self.participants,
            &pkey(room, user),
            |p: &mut ParticipantState| {
                stale = p.sid != sid;
                !stale && f(p)
            },
        )
        .await?;
        if stale {
            return Ok(None);
        }
        Ok(updated.map(|(p, rev, changed)| {
            self.index
                .apply_participant(room, user, rev, Some(p.clone()));
            (p, changed)
        }))
    }

    /// Updates the participant with `update`, or creates it with `create`
    /// if there is none in this session, without losing a concurrent write.
    pub async fn upsert_participant(
        &self,
        room: &RoomId,
        user: &UserId,
        mut update: impl FnMut(&mut ParticipantState),
        create: impl Fn() -> ParticipantState,
    ) -> Result<ParticipantState, RoomsError> {
        let key = pkey(room, user);
        for _ in 0..CAS_ATTEMPTS {
            let updated = self
                .update_participant(room, user, |p| {
                    update(p);
                    true
                })
                .await?;
            if let Some((p, _)) = updated {
                return Ok(p);
            }
            let p = create();
            // A record of an earlier session is overwritten, not updated.
            let existing = self.participants.entry(&key).await.map_err(kv_err)?;
            let written = match existing {
                Some(e) if e.operation == kv::Operation::Put => {
                    let old: Option<ParticipantState> = serde_json::from_slice(&e.value).ok();
                    if old.is_some_and(|o| o.sid == p.sid) {
                        continue;
                    }
                    self.participants
                        .update(&key, encode(&p), e.revision)
                        .await
                        .ok()
                }
                _ => match self.participants.create(&key, encode(&p)).await {
                    Ok(rev) => Some(rev),
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => None,
                    Err(e) => return Err(kv_err(e)),
                },
            };
            if let Some(rev) = written {
                self.index
                    .apply_participant(room, user, rev, Some(p.clone()));
                return Ok(p);
            }
        }
        Err(contention(&key))
    }

    /// Every participant of the room's current session.
    pub fn participants_of(&self, room: &RoomId) -> Vec<ParticipantState> {
        self.index.participants_of(room)
    }

    /// One participant of the room's current session, if known.
    pub async fn participant(
        &self,
        room: &RoomId,
        user: &UserId,
    ) -> Result<Option<ParticipantState>, RoomsError> {
        if let Some(p) = self.index.participant(room, user) {
            return Ok(Some(p));
        }
        let Some(sid) = self.current_sid(room).await? else {
            return Ok(None);
        };
        let key = pkey(room, user);
        match self.participants.entry(&key).await.map_err(kv_err)? {
            Some(e) if e.operation == kv::Operation::Put => {
                let p: ParticipantState = decode(&key, &e.value)?;
                if p.sid != sid {
                    return Ok(None);
                }
                self.index
                    .apply_participant(room, user, e.revision, Some(p.clone()));
                Ok(Some(p))
            }
            _ => Ok(None),
        }
    }

    /// Forgets a participant (removed or turned away).
    pub async fn remove_participant(&self, room: &RoomId, user: &UserId) -> Result<(), RoomsError> {
        let key = pkey(room, user);
        self.participants.purge(&key).await.map_err(kv_err)?;
        let rev = self.removed_at(&self.participants, &key).await;
        self.index.apply_participant(room, user, rev, None);
        Ok(())
    }
}
