//! Join tokens and the browser's token verification.

use serde::{Deserialize, Serialize};

use super::{Envelope, LockSettings};
use crate::ids::{RoomId, UserId};
use crate::subjects::UserSubjects;

/// `user_metadata` of a join-token request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct UserMetadata {
    #[serde(default, alias = "profilePic")]
    pub profile_pic: Option<String>,
    #[serde(default, alias = "preferredLang")]
    pub preferred_lang: Option<String>,
    #[serde(default, alias = "lockSettings")]
    pub lock_settings: Option<LockSettings>,
}

/// `user_info` of a join-token request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserInfo {
    /// Display name. Required.
    #[serde(default)]
    pub name: String,
    /// The user's id.
    #[serde(alias = "userId")]
    pub user_id: UserId,
    /// A moderator.
    #[serde(default, alias = "isAdmin")]
    pub is_admin: bool,
    /// Not shown in the participant list.
    #[serde(default, alias = "isHidden")]
    pub is_hidden: bool,
    /// Extra per-user settings.
    #[serde(default, alias = "userMetadata")]
    pub user_metadata: Option<UserMetadata>,
}

/// `POST /auth/room/getJoinToken`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GenerateTokenReq {
    /// The room to join.
    #[serde(alias = "roomId")]
    pub room_id: RoomId,
    /// Who joins.
    #[serde(alias = "userInfo")]
    pub user_info: Option<UserInfo>,
}

/// Response of `/auth/room/getJoinToken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateTokenRes {
    /// Outcome.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The join token, when successful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `GET /api/config`: what the browser needs before anything else (the
/// session-cache cleanup at startup runs before the link is verified).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// Cached sessions not touched for longer than this are deleted.
    pub cache_max_age_secs: u64,
    /// The server has a media server (LiveKit) configured: the room offers
    /// audio, video and screen sharing. Without it, chat only.
    #[serde(default)]
    pub media: bool,
}

/// Response of `POST /api/renewToken`: the same envelope and token as
/// `getJoinToken`, for the caller's own identity.
pub type RenewTokenRes = GenerateTokenRes;

/// What the browser needs to connect, returned by `POST /api/verifyToken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyTokenRes {
    /// Outcome; on failure the fields below are absent.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Present on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<JoinSession>,
}

/// The verified session the browser may start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinSession {
    /// NATS WebSocket URLs to try, in order.
    pub nats_ws_urls: Vec<String>,
    /// The subjects this user may use.
    pub subjects: UserSubjects,
    /// Room id.
    pub room_id: RoomId,
    /// Room session id (a UUIDv4, fresh per session).
    pub room_sid: String,
    /// Room title.
    pub room_title: String,
    /// This user's id.
    pub user_id: UserId,
    /// This user's display name.
    pub name: String,
    /// This user is a moderator.
    pub is_admin: bool,
    /// The room is end-to-end encrypted.
    #[serde(default)]
    pub e2ee: bool,
    /// The room wants every participant to type the E2EE key (otherwise the
    /// server delivers its secret on request: `WorkerRequest::RoomKey`).
    pub e2ee_self_key: bool,
    /// Server version, for diagnostics.
    pub server_version: String,
    /// The room's welcome message, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome_message: Option<String>,
    /// The participant will wait to be let in.
    #[serde(default)]
    pub waiting_room: bool,
    /// The waiting-room message, if any (for people who wait).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_message: Option<String>,
    /// When the meeting ends by its `room_duration` (unix seconds), if it
    /// has one: the page counts down to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<i64>,
    /// Where to go after leaving, if the room has one (http or https only:
    /// anything else is dropped by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_url: Option<String>,
    /// This user's locks as the room stands now, so the page shows a locked
    /// composer from its first frame (absent from older servers: none).
    #[serde(default)]
    pub locks: LockSettings,
}

/// The request header with which `/api/verifyToken` takes the meeting over
/// from the user's other tab ("Use this tab instead"): this tab's id,
/// which the other tabs compare with their own when told
/// ([`crate::events::SystemEvent::MovedToTab`]).
pub const TAKE_OVER_HEADER: &str = "x-quorum-take-over";

/// The request header with which a tab whose reconnect was refused asks
/// `/api/verifyToken` why: its id. The answer is "already in this
/// meeting" (409) only if the meeting was taken from this tab, or another
/// tab holds it; the tab's own seat is no conflict.
pub const TAB_HEADER: &str = "x-quorum-tab";

/// A tab id as [`TAKE_OVER_HEADER`] carries it: 8 to 64 letters, digits,
/// `-` or `_`.
pub fn is_tab_id(tab: &str) -> bool {
    (8..=64).contains(&tab.len())
        && tab
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The NATS client name a browser connects with, `room/user#tab`: the
/// auth callout reads the tab from it, so a tab the meeting was moved away
/// from (see [`TAKE_OVER_HEADER`]) can't take it back by reconnecting.
pub fn nats_client_name(room: &RoomId, user: &UserId, tab: &str) -> String {
    format!("{room}/{user}#{tab}")
}

/// The tab in a name made by [`nats_client_name`], if it names a valid one
/// (ids never contain `#`; an older client's `room/user` names none).
pub fn tab_of_client_name(name: &str) -> Option<&str> {
    name.rsplit_once('#')
        .map(|(_, tab)| tab)
        .filter(|tab| is_tab_id(tab))
}

/// Whether `url` may be offered as a link after leaving: an absolute http
/// or https address (never `javascript:` or the like).
pub fn is_web_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && lower.len() > "https://".len()
        && !lower.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::{is_tab_id, is_web_url, nats_client_name, tab_of_client_name};
    use crate::ids::{RoomId, UserId};

    #[test]
    fn the_tab_is_read_back_from_the_client_name() {
        let (room, user) = (RoomId::parse("r-1").unwrap(), UserId::parse("ann").unwrap());
        let name = nats_client_name(&room, &user, "k3J9-x_20aQ");
        assert_eq!(tab_of_client_name(&name), Some("k3J9-x_20aQ"));
        // An older client's name, a forged one, none at all: no tab.
        for none in ["r-1/ann", "r-1/ann#", "r-1/ann#bad tab!", ""] {
            assert_eq!(tab_of_client_name(none), None, "{none}");
        }
    }

    #[test]
    fn tab_ids_are_short_and_plain() {
        assert!(is_tab_id("k3J9-x_20aQ"));
        for bad in [
            "",
            "short",
            "has space here",
            "ünïcödé-tab",
            &"x".repeat(65),
        ] {
            assert!(!is_tab_id(bad), "{bad}");
        }
    }

    #[test]
    fn only_web_addresses_are_offered_after_leaving() {
        assert!(is_web_url("https://lms.example.org/course/7"));
        assert!(is_web_url("HTTP://example.org"));
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "//example.org",
            "https://",
            "ftp://x",
            "https://a b",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
    }
}
