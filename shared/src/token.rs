//! Claims of the join (access) token: an HS256 JWT signed with the API
//! secret, with plugNmeet's claim names so existing integrations can read it.

use serde::{Deserialize, Serialize};

use crate::ids::{RoomId, UserId};

/// Default join-token lifetime, in seconds (10 minutes, as plugNmeet).
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 600;

/// The claims inside a join token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinClaims {
    /// Issuer: the API key that signed the token.
    pub iss: String,
    /// Subject: the user id (must equal `user_id`).
    pub sub: String,
    /// Not before (unix seconds).
    pub nbf: u64,
    /// Expiry (unix seconds).
    pub exp: u64,
    /// Display name.
    pub name: String,
    /// The user's id.
    pub user_id: UserId,
    /// The room this token admits to.
    pub room_id: RoomId,
    /// A moderator.
    pub is_admin: bool,
    /// Not shown in the participant list.
    pub is_hidden: bool,
    /// The room session the token was issued for: a token of an earlier
    /// session of the same room id is refused. (Absent from tokens issued
    /// before the claim existed.)
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sid: String,
}
