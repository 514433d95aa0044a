//! "Use this tab instead": a user already in the meeting in one tab takes
//! it over from another. Their other tabs are told to end their session
//! without reconnecting (a reconnect would take the meeting back); the
//! new tab's connection then replaces the old one, which is kicked if it
//! is still there (see `RoomService::joined`).

use quorum_shared::events::SystemEvent;
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects;

use super::meter::Kind;
use super::service::RoomService;

impl RoomService {
    /// Tells `user`'s other tabs that tab `tab` has the meeting now. The
    /// event goes to their private subject, which the room's private
    /// stream keeps, so a tab that was offline hears it when it comes
    /// back. Counted like a connection (the new tab connects next);
    /// `false`, and nothing told, if the user does this too often.
    pub async fn take_over(&self, room: &RoomId, user: &UserId, tab: &str) -> bool {
        if !self.allow(room, user, Kind::Connect) {
            return false;
        }
        let ev = SystemEvent::MovedToTab {
            tab: tab.to_owned(),
        };
        self.publish(&subjects::private(room, user), &ev).await;
        // Delivered before the new tab's connection can replace the old.
        self.settle().await;
        tracing::info!(%room, %user, "meeting taken over by another tab");
        true
    }
}
