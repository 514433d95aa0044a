//! What LiveKit tells us about media (its webhooks), applied to room
//! state: who publishes what, and who joined the media room (only
//! admitted participants of that session stay). LiveKit knows a room by our session id and
//! a participant by our user id; anything else is ignored.

use livekit_protocol::{TrackSource, WebhookEvent};
use quorum_shared::ids::UserId;

use super::service::RoomService;

/// Our name for a LiveKit track source, for `ParticipantState::publishing`.
fn source_name(source: i32) -> Option<&'static str> {
    match TrackSource::try_from(source).ok()? {
        TrackSource::Microphone => Some("microphone"),
        TrackSource::Camera => Some("camera"),
        TrackSource::ScreenShare => Some("screen_share"),
        TrackSource::ScreenShareAudio | TrackSource::Unknown => None,
    }
}

/// What an event does to a participant's `publishing` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Add(&'static str),
    Remove(&'static str),
    Clear,
}

fn change_of(ev: &WebhookEvent) -> Option<Change> {
    let source = || ev.track.as_ref().and_then(|t| source_name(t.source));
    match ev.event.as_str() {
        "track_published" => source().map(Change::Add),
        "track_unpublished" => source().map(Change::Remove),
        "participant_left" => Some(Change::Clear),
        _ => None,
    }
}

impl RoomService {
    /// Someone joined a LiveKit room. A media token can't be revoked, so
    /// this is where one kept too long is caught: whoever is not (or no
    /// longer) an admitted participant of that session is removed, and
    /// everyone else gets the permissions their role and locks give now
    /// (a token signed before a lock change carries the old ones).
    fn media_joined(&self, ev: &WebhookEvent) {
        let (Some(room), Some(who)) = (&ev.room, &ev.participant) else {
            return;
        };
        let current = self.index().room_by_sid(&room.name).and_then(|r| {
            let user = UserId::parse(&who.identity).ok()?;
            let p = self.index().participant(&r.room_id, &user)?;
            let admitted = p.sid == r.sid && !p.wait_for_approval && !r.blocked.contains(&user);
            admitted.then_some(p)
        });
        match current {
            Some(p) => self.media.update_permissions(&p),
            None => {
                tracing::warn!(room = %room.name, identity = %who.identity, "not in the meeting; removed from media");
                self.media.remove_identity(&room.name, &who.identity);
            }
        }
    }

    /// Applies one verified LiveKit webhook. Returns whether it changed
    /// anything (events for rooms or people we don't know change nothing).
    pub async fn media_event(&self, ev: &WebhookEvent) -> Result<bool, super::RoomsError> {
        if ev.event == "participant_joined" {
            self.media_joined(ev);
            return Ok(false);
        }
        let Some(change) = change_of(ev) else {
            return Ok(false);
        };
        let (Some(room), Some(who)) = (&ev.room, &ev.participant) else {
            return Ok(false);
        };
        let Some(r) = self.index().room_by_sid(&room.name) else {
            return Ok(false);
        };
        let Ok(user) = UserId::parse(&who.identity) else {
            return Ok(false);
        };
        let microphone = match change {
            Change::Add("microphone") => Some(true),
            Change::Remove("microphone") | Change::Clear => Some(false),
            _ => None,
        };
        if let Some(on) = microphone {
            let at = (ev.created_at > 0).then_some(ev.created_at);
            self.analytics.record_microphone(&r, &user, on, at).await;
        }
        let updated = self
            .kv
            .update_participant(&r.room_id, &user, |p| {
                let before = p.publishing.clone();
                match change {
                    Change::Add(s) if !p.publishing.iter().any(|x| x == s) => {
                        p.publishing.push(s.to_owned());
                    }
                    Change::Remove(s) => p.publishing.retain(|x| x != s),
                    Change::Clear => p.publishing.clear(),
                    Change::Add(_) => {}
                }
                p.publishing != before
            })
            .await?;
        Ok(updated.is_some_and(|(_, changed)| changed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_protocol::TrackInfo;

    fn event(name: &str, source: TrackSource) -> WebhookEvent {
        WebhookEvent {
            event: name.into(),
            track: Some(TrackInfo {
                source: source as i32,
                ..TrackInfo::default()
            }),
            ..WebhookEvent::default()
        }
    }

    #[test]
    fn tracks_add_and_remove_sources_and_leaving_clears_them() {
        let ev = event("track_published", TrackSource::Camera);
        assert_eq!(change_of(&ev), Some(Change::Add("camera")));
        let ev = event("track_unpublished", TrackSource::Microphone);
        assert_eq!(change_of(&ev), Some(Change::Remove("microphone")));
        let ev = event("participant_left", TrackSource::Unknown);
        assert_eq!(change_of(&ev), Some(Change::Clear));
        let ev = event("room_started", TrackSource::Camera);
        assert_eq!(change_of(&ev), None);
        // Screen-share audio goes with the screen share.
        let ev = event("track_published", TrackSource::ScreenShareAudio);
        assert_eq!(change_of(&ev), None);
    }
}
