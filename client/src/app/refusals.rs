//! Reading the server's refusals of a join token: which are final, which
//! mean this tab can't get back in, and the brief retry of a conflict
//! right after a reload (our previous page still counted online).

use std::time::Duration;

use quorum_shared::api::StatusCode;

use crate::api::{verify_token, verify_token_as_tab};
use crate::join::{JoinToken, Session};
use crate::util::Sleep;
use crate::verify::JoinError;

/// Conflicts ("already in this meeting") tolerated when resuming after a
/// reload, a second apart: the old page's connection takes a moment to be
/// seen gone.
const CONFLICT_RETRIES: u32 = 8;

/// Verifies `token`; one restored from the cache right after a reload may
/// meet our own previous connection still counted online for a moment,
/// so a conflict is retried briefly before it counts.
pub(super) async fn verify_resumed(token: JoinToken, resumed: bool) -> Result<Session, JoinError> {
    let mut tries = if resumed { CONFLICT_RETRIES } else { 0 };
    loop {
        match verify_token(token.clone()).await {
            Err(JoinError::Rejected {
                code: StatusCode::Conflict,
                ..
            }) if tries > 0 => {
                tries -= 1;
                Sleep::new(Duration::from_secs(1)).await;
            }
            other => return other,
        }
    }
}

/// Whether a refusal means the session can never be resumed.
pub(super) fn is_final(e: &JoinError) -> bool {
    matches!(
        e,
        JoinError::Rejected {
            code: StatusCode::RoomNotActive | StatusCode::UserNotFound | StatusCode::UserBlocked,
            ..
        }
    )
}

/// Whether a refusal means this tab can't get back in by retrying: the
/// session is over ([`is_final`]), or the user is in the meeting
/// elsewhere.
pub(super) fn refused_for_good(e: &JoinError) -> bool {
    is_final(e)
        || matches!(
            e,
            JoinError::Rejected {
                code: StatusCode::Conflict,
                ..
            }
        )
}

/// Asks the server, as this tab, why its connection was refused: the
/// reason, if there is no point retrying ([`refused_for_good`]).
pub(super) async fn refused_for_good_why(token: JoinToken) -> Option<JoinError> {
    verify_token_as_tab(token)
        .await
        .err()
        .filter(refused_for_good)
}
