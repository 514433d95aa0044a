//! Effective room features: defaults for what the caller did not send (an
//! explicit `false` always wins), and the E2EE rules that force features
//! needing plaintext off.

use quorum_shared::api::{
    BroadcastingFeatures, ChatFeatures, E2eeFeatures, RecordingFeatures, RoomFeatures, Toggle,
    WaitingRoomFeatures,
};

fn or(v: &mut Option<bool>, default: bool) {
    v.get_or_insert(default);
}

/// Fills every unset feature with its default.
pub fn with_defaults(mut f: RoomFeatures) -> RoomFeatures {
    or(&mut f.allow_webcams, true);
    or(&mut f.mute_on_start, false);
    or(&mut f.allow_screen_share, true);
    or(&mut f.allow_view_other_webcams, true);
    or(&mut f.allow_view_other_users_list, true);
    or(&mut f.admin_only_webcams, false);
    f.room_duration.get_or_insert(0);
    or(&mut f.enable_analytics, false);
    or(&mut f.allow_raise_hand, true);
    or(&mut f.allow_reactions, true);
    or(&mut f.auto_gen_user_id, false);
    let chat = f.chat_features.get_or_insert_with(ChatFeatures::default);
    or(&mut chat.is_allow, true);
    or(&mut chat.is_allow_file_upload, true);
    let rec = f
        .recording_features
        .get_or_insert_with(RecordingFeatures::default);
    or(&mut rec.is_allow, true);
    or(&mut rec.is_allow_cloud, true);
    or(&mut rec.is_allow_local, true);
    or(&mut rec.enable_auto_cloud_recording, false);
    let wr = f
        .waiting_room_features
        .get_or_insert_with(WaitingRoomFeatures::default);
    or(&mut wr.is_active, false);
    let bc = f
        .external_broadcasting_features
        .get_or_insert_with(BroadcastingFeatures::default);
    or(&mut bc.is_allow, true);
    or(&mut bc.is_allow_rtmp, true);
    or(
        &mut f
            .sip_dial_in_features
            .get_or_insert_with(Toggle::default)
            .is_allow,
        false,
    );
    or(
        &mut f
            .speech_to_text_translation_features
            .get_or_insert_with(Toggle::default)
            .is_allow,
        false,
    );
    or(
        &mut f
            .insights_features
            .get_or_insert_with(Toggle::default)
            .is_allow,
        false,
    );
    let e2ee = f
        .end_to_end_encryption_features
        .get_or_insert_with(E2eeFeatures::default);
    or(&mut e2ee.is_enabled, false);
    or(&mut e2ee.included_chat_messages, false);
    or(&mut e2ee.included_whiteboard, false);
    or(&mut e2ee.enabled_self_insert_encryption_key, false);
    enforce_e2ee(&mut f);
    f
}

/// E2EE is on for the room.
pub fn e2ee_enabled(f: &RoomFeatures) -> bool {
    f.end_to_end_encryption_features
        .as_ref()
        .is_some_and(|e| e.is_enabled == Some(true))
}

/// Every participant types the key; the server can't decrypt anything.
pub fn self_key(f: &RoomFeatures) -> bool {
    e2ee_enabled(f)
        && f.end_to_end_encryption_features
            .as_ref()
            .is_some_and(|e| e.enabled_self_insert_encryption_key == Some(true))
}

/// Under any E2EE, SIP can't join (it needs plaintext media). With a
/// self-inserted key, nothing server-side can see plaintext, so cloud
/// recording, RTMP, transcription and summaries are off too.
fn enforce_e2ee(f: &mut RoomFeatures) {
    if !e2ee_enabled(f) {
        return;
    }
    if let Some(s) = f.sip_dial_in_features.as_mut() {
        s.is_allow = Some(false);
    }
    if !self_key(f) {
        return;
    }
    if let Some(r) = f.recording_features.as_mut() {
        r.is_allow_cloud = Some(false);
        r.enable_auto_cloud_recording = Some(false);
    }
    if let Some(b) = f.external_broadcasting_features.as_mut() {
        b.is_allow = Some(false);
        b.is_allow_rtmp = Some(false);
    }
    for t in [
        f.speech_to_text_translation_features.as_mut(),
        f.insights_features.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        t.is_allow = Some(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_false_beats_default_true() {
        let f = with_defaults(RoomFeatures {
            allow_webcams: Some(false),
            ..Default::default()
        });
        assert_eq!(f.allow_webcams, Some(false));
        assert_eq!(f.allow_screen_share, Some(true));
    }

    #[test]
    fn self_key_forces_plaintext_features_off() {
        let f = with_defaults(RoomFeatures {
            recording_features: Some(RecordingFeatures {
                is_allow_cloud: Some(true),
                ..Default::default()
            }),
            sip_dial_in_features: Some(Toggle {
                is_allow: Some(true),
            }),
            end_to_end_encryption_features: Some(E2eeFeatures {
                is_enabled: Some(true),
                enabled_self_insert_encryption_key: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert!(self_key(&f));
        assert_eq!(f.recording_features.unwrap().is_allow_cloud, Some(false));
        assert_eq!(f.sip_dial_in_features.unwrap().is_allow, Some(false));
        let bc = f.external_broadcasting_features.unwrap();
        assert_eq!((bc.is_allow, bc.is_allow_rtmp), (Some(false), Some(false)));
        assert_eq!(
            f.speech_to_text_translation_features.unwrap().is_allow,
            Some(false)
        );
    }
}
