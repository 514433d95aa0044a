//! Which remote tracks to receive. LiveKit's `autoSubscribe` is off, so
//! nothing arrives unless asked for: every sound (up to a cap), and only
//! as many pictures as the grid shows, screen shares first, then cameras
//! in the order they were published. When a shown picture goes, the next
//! one waiting takes its place; a screen share that arrives while the grid
//! is full takes the place of the newest camera. In a big room the browser
//! therefore never downloads video nobody can see.
//!
//! Pure: the façade carries out the changes it returns.

use std::collections::BTreeMap;

/// A remote track LiveKit told us about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// Track id.
    pub sid: String,
    /// Whose (their user id).
    pub identity: String,
    /// `microphone`, `camera`, `screen_share`, `screen_share_audio`…
    pub source: String,
}

impl Publication {
    fn is_sound(&self) -> bool {
        self.source == "microphone" || self.source == "screen_share_audio"
    }
}

/// A change to carry out: subscribe (`true`) or unsubscribe a track.
pub type Change = (String, bool);

/// Publications known beyond this many are ignored (LiveKit limits
/// rooms itself; this bounds our memory whatever it sends).
pub const MAX_KNOWN: usize = 1024;

/// The plan: what is known and what is subscribed.
#[derive(Debug, Clone)]
pub struct SubscriptionPlan {
    max_pictures: usize,
    max_sounds: usize,
    /// In the order they were published.
    known: Vec<Publication>,
    subscribed: Vec<String>,
}

impl SubscriptionPlan {
    /// A plan that shows at most `max_pictures` and plays at most
    /// `max_sounds`.
    pub fn new(max_pictures: usize, max_sounds: usize) -> Self {
        Self {
            max_pictures,
            max_sounds,
            known: Vec::new(),
            subscribed: Vec::new(),
        }
    }

    /// A track was published (or found on joining; repeats are ignored).
    pub fn published(&mut self, p: Publication) -> Vec<Change> {
        if self.known.len() >= MAX_KNOWN || self.known.iter().any(|k| k.sid == p.sid) {
            return Vec::new();
        }
        self.known.push(p);
        self.replan()
    }

    /// A track went away.
    pub fn unpublished(&mut self, sid: &str) -> Vec<Change> {
        self.known.retain(|k| k.sid != sid);
        // Gone is gone: LiveKit unsubscribes it itself.
        self.subscribed.retain(|s| s != sid);
        self.replan()
    }

    /// What each person publishes: their sources, sorted.
    pub fn by_person(&self) -> BTreeMap<String, Vec<String>> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for k in &self.known {
            let sources = map.entry(k.identity.clone()).or_default();
            if !sources.contains(&k.source) {
                sources.push(k.source.clone());
                sources.sort();
            }
        }
        map
    }

    /// Whether `sid` is subscribed.
    pub fn is_subscribed(&self, sid: &str) -> bool {
        self.subscribed.iter().any(|s| s == sid)
    }

    /// What should be subscribed now.
    fn wanted(&self) -> Vec<&str> {
        let sounds = self.known.iter().filter(|k| k.is_sound());
        let screens = self.known.iter().filter(|k| k.source == "screen_share");
        let cameras = self
            .known
            .iter()
            .filter(|k| !k.is_sound() && k.source != "screen_share");
        sounds
            .take(self.max_sounds)
            .chain(screens.chain(cameras).take(self.max_pictures))
            .map(|k| k.sid.as_str())
            .collect()
    }

    fn replan(&mut self) -> Vec<Change> {
        let wanted = self.wanted();
        let mut changes: Vec<Change> = self
            .subscribed
            .iter()
            .filter(|s| !wanted.contains(&s.as_str()))
            .map(|s| (s.clone(), false))
            .collect();
        changes.extend(
            wanted
                .iter()
                .filter(|w| !self.subscribed.iter().any(|s| s == *w))
                .map(|w| ((*w).to_owned(), true)),
        );
        self.subscribed = wanted.into_iter().map(str::to_owned).collect();
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication(sid: &str, source: &str) -> Publication {
        Publication {
            sid: sid.into(),
            identity: format!("user-{sid}"),
            source: source.into(),
        }
    }

    #[test]
    fn subscribes_sound_and_pictures_up_to_the_grid() {
        let mut plan = SubscriptionPlan::new(2, 10);
        assert_eq!(
            plan.published(publication("a-mic", "microphone")),
            [("a-mic".to_owned(), true)]
        );
        assert_eq!(
            plan.published(publication("a-cam", "camera")),
            [("a-cam".to_owned(), true)]
        );
        assert_eq!(
            plan.published(publication("b-cam", "camera")),
            [("b-cam".to_owned(), true)]
        );
        // The grid is full: a third camera waits.
        assert!(plan.published(publication("c-cam", "camera")).is_empty());
        assert!(!plan.is_subscribed("c-cam"));
        // Told twice: nothing new.
        assert!(plan.published(publication("a-cam", "camera")).is_empty());
    }

    #[test]
    fn a_freed_place_goes_to_the_next_in_line() {
        let mut plan = SubscriptionPlan::new(2, 10);
        for (sid, source) in [
            ("a", "camera"),
            ("b", "camera"),
            ("c", "camera"),
            ("d", "camera"),
        ] {
            plan.published(publication(sid, source));
        }
        assert_eq!(plan.unpublished("a"), [("c".to_owned(), true)]);
        assert!(plan.is_subscribed("b") && plan.is_subscribed("c"));
        // Something that waited leaves: nothing changes.
        assert!(plan.unpublished("d").is_empty());
    }

    #[test]
    fn tells_who_publishes_what() {
        let mut plan = SubscriptionPlan::new(2, 10);
        for (sid, who, source) in [
            ("1", "ann", "microphone"),
            ("2", "ann", "camera"),
            ("3", "bob", "screen_share"),
        ] {
            plan.published(Publication {
                sid: sid.into(),
                identity: who.into(),
                source: source.into(),
            });
        }
        plan.unpublished("3");
        let map = plan.by_person();
        assert_eq!(map["ann"], ["camera", "microphone"]);
        assert!(!map.contains_key("bob"));
    }

    #[test]
    fn a_screen_share_takes_the_newest_camera_place() {
        let mut plan = SubscriptionPlan::new(2, 10);
        plan.published(publication("a", "camera"));
        plan.published(publication("b", "camera"));
        let changes = plan.published(publication("s", "screen_share"));
        assert_eq!(changes, [("b".to_owned(), false), ("s".to_owned(), true)]);
        // The share ends: the camera comes back.
        assert_eq!(plan.unpublished("s"), [("b".to_owned(), true)]);
    }

    #[test]
    fn sound_has_its_own_cap_and_known_tracks_are_bounded() {
        let mut plan = SubscriptionPlan::new(1, 2);
        let mut subscribed = 0;
        for i in 0..MAX_KNOWN + 10 {
            subscribed += plan
                .published(publication(&format!("m{i}"), "microphone"))
                .iter()
                .filter(|(_, on)| *on)
                .count();
        }
        assert_eq!(subscribed, 2);
        assert_eq!(plan.known.len(), MAX_KNOWN);
    }
}
