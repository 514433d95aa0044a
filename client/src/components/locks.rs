//! The locks a moderator can set, for one participant (the participant
//! menu) or for everyone who is not a moderator (the room's controls).

use quorum_shared::api::LockSettings;

use crate::i18n::{td_string, Locale};

/// A lock a moderator can set for one participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// Chat.
    Chat,
    /// Private chat.
    PrivateChat,
    /// Reactions.
    Reactions,
    /// Microphone.
    Microphone,
    /// Camera.
    Camera,
    /// Screen share.
    ScreenShare,
}

impl LockKind {
    /// Every lock, in menu order.
    pub const ALL: [Self; 6] = [
        Self::Chat,
        Self::PrivateChat,
        Self::Reactions,
        Self::Microphone,
        Self::Camera,
        Self::ScreenShare,
    ];

    /// Stable id part.
    pub fn key(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::PrivateChat => "private-chat",
            Self::Reactions => "reactions",
            Self::Microphone => "microphone",
            Self::Camera => "camera",
            Self::ScreenShare => "screen",
        }
    }

    /// What it locks, for people, in `locale`.
    pub fn label(self, locale: Locale) -> &'static str {
        match self {
            Self::Chat => td_string!(locale, locks.chat),
            Self::PrivateChat => td_string!(locale, locks.private_chat),
            Self::Reactions => td_string!(locale, locks.reactions),
            Self::Microphone => td_string!(locale, locks.microphone),
            Self::Camera => td_string!(locale, locks.camera),
            Self::ScreenShare => td_string!(locale, locks.screen_share),
        }
    }

    /// The menu item that turns it on for one person, in `locale`.
    pub fn action(self, locale: Locale) -> &'static str {
        match self {
            Self::Chat => td_string!(locale, locks.lock_chat),
            Self::PrivateChat => td_string!(locale, locks.lock_private_chat),
            Self::Reactions => td_string!(locale, locks.lock_reactions),
            Self::Microphone => td_string!(locale, locks.lock_microphone),
            Self::Camera => td_string!(locale, locks.lock_camera),
            Self::ScreenShare => td_string!(locale, locks.lock_screen_share),
        }
    }

    /// Whether `l` has this lock on.
    pub fn is_on(self, l: &LockSettings) -> bool {
        let v = match self {
            Self::Chat => l.lock_chat,
            Self::PrivateChat => l.lock_private_chat,
            Self::Reactions => l.lock_reactions,
            Self::Microphone => l.lock_microphone,
            Self::Camera => l.lock_webcam,
            Self::ScreenShare => l.lock_screen_sharing,
        };
        v == Some(true)
    }

    /// Lock settings that set only this lock to `on`.
    pub fn set(self, on: bool) -> LockSettings {
        let mut l = LockSettings::default();
        let v = Some(on);
        match self {
            Self::Chat => l.lock_chat = v,
            Self::PrivateChat => l.lock_private_chat = v,
            Self::Reactions => l.lock_reactions = v,
            Self::Microphone => l.lock_microphone = v,
            Self::Camera => l.lock_webcam = v,
            Self::ScreenShare => l.lock_screen_sharing = v,
        }
        l
    }
}
