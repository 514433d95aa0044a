//! "Use this tab instead": a user already in the meeting in one tab takes
//! it over from another. Their other tabs are told to end their session
//! without reconnecting (a reconnect would take the meeting back); the
//! new tab's connection then replaces the old one, which is kicked if it
//! is still there (see `RoomService::joined`).
//!
//! Being told is not enough: a tab may miss the event (asleep, offline,
//! or in the waiting room, which does not read its private history) and
//! reconnect, which would push the new tab out, and so on. So the
//! participant's record also keeps which tab holds the meeting and which
//! it was taken from ([`Tabs`]); the auth callout refuses the latter.

use serde::{Deserialize, Serialize};

use quorum_shared::events::SystemEvent;
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects;

use super::meter::Kind;
use super::service::RoomService;

/// Tabs the meeting was taken from that are remembered. Every reload is a
/// new tab that moves the old page's id here, so this is a bound on
/// storage (about 2 KB), generous enough that a tab asleep on a laptop is
/// still remembered after many reloads on the phone.
pub const MAX_MOVED_TABS: usize = 32;

/// Which of a user's tabs (`quorum_shared::api::nats_client_name`) hold
/// the meeting, and which it was taken from. Tabs are per page load, so a
/// tab that is moved away and reloaded is a new, welcome tab.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tabs {
    /// The tab of the newest connection, if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// Tabs the meeting was taken from, oldest first: refused if they
    /// connect again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<String>,
}

impl Tabs {
    /// Nothing known: not stored.
    pub fn is_empty(&self) -> bool {
        self.holder.is_none() && self.moved.is_empty()
    }

    /// Whether `tab` had the meeting taken from it.
    pub fn is_moved(&self, tab: &str) -> bool {
        self.moved.iter().any(|t| t == tab)
    }

    /// A connection from `tab` (`None`: it did not say) was let in, and
    /// replaces any other. One from another tab than the holder's takes
    /// the meeting over as "Use this tab instead" does: the user opened it
    /// elsewhere while the first tab was cut off, and that tab, back
    /// online, must not take it back.
    /// Returns whether anything changed. Never called for a moved tab
    /// (the callout refuses it); only [`Tabs::take_over`] lets one back.
    pub fn hold(&mut self, tab: Option<&str>) -> bool {
        match tab {
            Some(tab) if !self.is_moved(tab) => self.take_over(tab),
            Some(_) => false,
            None => self.holder.take().is_some(),
        }
    }

    /// `tab` takes the meeting over: the tab holding it is moved away,
    /// and `tab`, if it was moved away before, is welcome again.
    pub fn take_over(&mut self, tab: &str) -> bool {
        let before = self.clone();
        self.moved.retain(|t| t != tab);
        if let Some(old) = self.holder.take().filter(|old| old != tab) {
            self.moved.retain(|t| t != &old);
            self.moved.push(old);
            let extra = self.moved.len().saturating_sub(MAX_MOVED_TABS);
            self.moved.drain(..extra);
        }
        self.holder = Some(tab.to_owned());
        *self != before
    }
}

impl RoomService {
    /// Tells `user`'s other tabs that tab `tab` has the meeting now, and
    /// remembers that the tab holding it is moved away. The event goes to
    /// their private subject, which the room's private stream keeps, so a
    /// tab that was offline hears it when it comes back. Counted like a
    /// connection (the new tab connects next); `false`, and nothing told,
    /// if the user does this too often or the record can't be written.
    pub async fn take_over(&self, room: &RoomId, user: &UserId, tab: &str) -> bool {
        if !self.allow(room, user, Kind::Connect) {
            return false;
        }
        if let Err(e) = self
            .kv
            .update_participant(room, user, |p| p.tabs.take_over(tab))
            .await
        {
            tracing::warn!(error = %e, %room, %user, "cannot record a take-over");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tab_taken_from_is_refused_until_it_takes_over_again() {
        let mut tabs = Tabs::default();
        assert!(tabs.hold(Some("tab-aaaa")));
        assert!(tabs.take_over("tab-bbbb"));
        assert!(tabs.is_moved("tab-aaaa"));
        assert!(!tabs.is_moved("tab-bbbb"));
        // B connects: nothing new. A takes it back: B is moved away.
        assert!(!tabs.hold(Some("tab-bbbb")));
        assert!(tabs.take_over("tab-aaaa"));
        assert!(!tabs.is_moved("tab-aaaa"));
        assert!(tabs.is_moved("tab-bbbb"));
        assert_eq!(tabs.holder.as_deref(), Some("tab-aaaa"));
    }

    #[test]
    fn a_tab_that_joins_while_another_is_cut_off_moves_it_away() {
        let mut tabs = Tabs::default();
        tabs.hold(Some("laptop-tab"));
        // The laptop's network goes; the phone joins, as anyone may while
        // the user is only disconnected.
        assert!(tabs.hold(Some("phone-tab")));
        assert!(tabs.is_moved("laptop-tab"));
        // The same tab reconnecting (a new token, a network blip) is no move.
        assert!(!tabs.hold(Some("phone-tab")));
        assert_eq!(tabs.moved, ["laptop-tab"]);
        // Holding never lets a moved tab back: only a take-over does.
        assert!(!tabs.hold(Some("laptop-tab")));
        assert!(tabs.is_moved("laptop-tab"));
        assert_eq!(tabs.holder.as_deref(), Some("phone-tab"));
    }

    #[test]
    fn only_the_latest_moved_tabs_are_kept() {
        let mut tabs = Tabs::default();
        let n = MAX_MOVED_TABS + 5;
        for i in 0..n {
            tabs.take_over(&format!("tab-{i:04}"));
        }
        assert_eq!(tabs.moved.len(), MAX_MOVED_TABS);
        assert!(tabs.is_moved(&format!("tab-{:04}", n - 2)));
        assert!(!tabs.is_moved("tab-0001"), "the oldest were let go");
        assert!(!tabs.is_moved(&format!("tab-{:04}", n - 1)), "the holder");
    }

    #[test]
    fn a_client_that_names_no_tab_holds_without_one() {
        let mut tabs = Tabs::default();
        tabs.hold(None);
        assert!(tabs.is_empty());
        // Taking over from it moves nothing away.
        tabs.take_over("tab-bbbb");
        assert!(tabs.moved.is_empty());
    }
}
