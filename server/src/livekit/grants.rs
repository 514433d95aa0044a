//! What a participant may do in LiveKit, from its role and locks: the
//! grants of its media token and the permission a live participant is
//! updated to when a moderator changes them. Pure, so it is tested here.

use livekit_api::access_token::VideoGrants;
use livekit_protocol::{ParticipantPermission, TrackSource};

use crate::rooms::state::ParticipantState;

/// The sources `p` may publish: everything for a moderator; for others
/// each source whose lock is off (screen share brings its audio).
pub fn sources(p: &ParticipantState) -> Vec<TrackSource> {
    let l = &p.lock_settings;
    let on = |lock: Option<bool>| p.is_admin || lock != Some(true);
    let mut out = Vec::new();
    if on(l.lock_microphone) {
        out.push(TrackSource::Microphone);
    }
    if on(l.lock_webcam) {
        out.push(TrackSource::Camera);
    }
    if on(l.lock_screen_sharing) {
        out.push(TrackSource::ScreenShare);
        out.push(TrackSource::ScreenShareAudio);
    }
    out
}

/// LiveKit's name for a source in a token (`canPublishSources`).
fn token_name(s: TrackSource) -> &'static str {
    match s {
        TrackSource::Camera => "camera",
        TrackSource::Microphone => "microphone",
        TrackSource::ScreenShare => "screen_share",
        TrackSource::ScreenShareAudio => "screen_share_audio",
        TrackSource::Unknown => "unknown",
    }
}

/// The grants of `p`'s token for LiveKit room `room` (our room session
/// id). Data messages go over NATS, so nobody publishes LiveKit data, and
/// nobody changes their own metadata (the server's names are the truth).
pub fn video_grants(room: &str, p: &ParticipantState) -> VideoGrants {
    let sources = sources(p);
    VideoGrants {
        room_join: true,
        room: room.to_owned(),
        room_admin: p.is_admin,
        hidden: p.is_hidden,
        can_subscribe: Some(true),
        can_publish: Some(!sources.is_empty()),
        can_publish_data: Some(false),
        can_publish_sources: sources.into_iter().map(|s| token_name(s).into()).collect(),
        can_update_own_metadata: Some(false),
        ..VideoGrants::default()
    }
}

/// The same, as the permission `UpdateParticipant` sets on a live
/// participant.
pub fn permission(p: &ParticipantState) -> ParticipantPermission {
    let sources = sources(p);
    ParticipantPermission {
        can_subscribe: true,
        can_publish: !sources.is_empty(),
        can_publish_data: false,
        can_publish_sources: sources.into_iter().map(|s| s as i32).collect(),
        hidden: p.is_hidden,
        ..ParticipantPermission::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rooms::state::Presence;
    use quorum_shared::api::LockSettings;
    use quorum_shared::ids::{RoomId, UserId};

    fn person(is_admin: bool, locks: LockSettings) -> ParticipantState {
        ParticipantState {
            room_id: RoomId::parse("r").expect("room id"),
            sid: "sid".into(),
            user_id: UserId::parse("u").expect("user id"),
            name: "U".into(),
            is_admin,
            is_hidden: false,
            lock_settings: locks,
            wait_for_approval: false,
            presence: Presence::Online,
            conn: None,
            conn_at_ms: 0,
            hand_raised: false,
            presence_since: 0,
            cleaned_up: false,
            throttled_until: None,
            muted: false,
            publishing: Vec::new(),
            tabs: Default::default(),
        }
    }

    #[test]
    fn locks_take_sources_away_but_not_from_moderators() {
        let locks = LockSettings {
            lock_webcam: Some(true),
            lock_screen_sharing: Some(true),
            ..LockSettings::default()
        };
        let g = video_grants("sid", &person(false, locks.clone()));
        assert_eq!(g.can_publish_sources, ["microphone"]);
        assert_eq!((g.room_admin, g.can_publish), (false, Some(true)));
        let g = video_grants("sid", &person(true, locks));
        assert_eq!(
            g.can_publish_sources,
            ["microphone", "camera", "screen_share", "screen_share_audio"]
        );
        assert!(g.room_admin);
    }

    #[test]
    fn everything_locked_means_no_publishing() {
        let locks = LockSettings {
            lock_microphone: Some(true),
            lock_webcam: Some(true),
            lock_screen_sharing: Some(true),
            ..LockSettings::default()
        };
        let p = person(false, locks);
        assert_eq!(video_grants("sid", &p).can_publish, Some(false));
        let perm = permission(&p);
        assert!(!perm.can_publish && perm.can_publish_sources.is_empty());
        assert!(perm.can_subscribe && !perm.can_publish_data);
    }
}
