//! Lock settings: the room's defaults, overridden per participant by the
//! integrator or a moderator. Moderators are never locked.

use quorum_shared::api::LockSettings;

/// Sets in `base` every lock that `over` sets, leaving the rest.
pub fn merge(base: &mut LockSettings, over: &LockSettings) {
    macro_rules! take {
        ($($f:ident),*) => { $( if over.$f.is_some() { base.$f = over.$f; } )* };
    }
    take!(
        lock_microphone,
        lock_webcam,
        lock_screen_sharing,
        lock_chat,
        lock_chat_send_message,
        lock_chat_file_share,
        lock_private_chat,
        lock_whiteboard,
        lock_shared_notepad,
        lock_reactions
    );
}

/// The locks a new participant starts with: none for a moderator, else
/// the room's defaults with what the integrator set for this user on top.
pub fn initial(
    is_admin: bool,
    room: &LockSettings,
    explicit: Option<&LockSettings>,
) -> LockSettings {
    if is_admin {
        return LockSettings::default();
    }
    let mut l = room.clone();
    if let Some(u) = explicit {
        merge(&mut l, u);
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_locks_override_room_defaults() {
        let base = LockSettings {
            lock_chat: Some(true),
            lock_webcam: Some(true),
            ..Default::default()
        };
        let over = LockSettings {
            lock_chat: Some(false),
            ..Default::default()
        };
        let l = initial(false, &base, Some(&over));
        assert_eq!((l.lock_chat, l.lock_webcam), (Some(false), Some(true)));
        assert_eq!(initial(true, &base, Some(&over)), LockSettings::default());
    }
}
