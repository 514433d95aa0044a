//! Whom the chat's "Send to" offers: in a big room not everybody at once
//! (a `<select>` of a thousand options is slow to draw and to use), but
//! those whose name matches what was typed, a bounded number of them, and
//! always the one chosen, so the picker never shows "Everyone" while a
//! message would go to one person.

/// What the picker shows: the offered people (id, name) to list, how
/// many match in all, and how many of those are not listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The options, in the order offered, the chosen one among them.
    pub shown: Vec<(String, String)>,
    /// How many of those offered match the query.
    pub matching: usize,
    /// How many that match are not among `shown` (the chosen one, listed
    /// whether or not it matches, is not one of them).
    pub more: usize,
}

/// The first `limit` of `offered` (in their order) whose name contains
/// `query` (case-insensitive; blank: everybody), and `chosen` (a user id,
/// empty for everyone) in its place among them if it is offered at all.
pub fn offer(offered: &[(String, String)], query: &str, chosen: &str, limit: usize) -> Offer {
    let query = query.trim().to_lowercase();
    let matches = |name: &str| query.is_empty() || name.to_lowercase().contains(&query);
    let mut shown = Vec::new();
    let (mut matching, mut listed) = (0, 0);
    for (id, name) in offered {
        let is_chosen = !chosen.is_empty() && id == chosen;
        let hit = matches(name);
        matching += usize::from(hit);
        // The chosen one in its place, even past the limit or unmatched.
        if (hit && listed < limit) || is_chosen {
            listed += usize::from(hit);
            shown.push((id.clone(), name.clone()));
        }
    }
    Offer {
        shown,
        matching,
        more: matching - listed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people(n: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("u{i:03}"), format!("Person {i:03}")))
            .collect()
    }

    fn ids(o: &Offer) -> Vec<&str> {
        o.shown.iter().map(|(id, _)| id.as_str()).collect()
    }

    #[test]
    fn a_small_room_offers_everybody_in_order() {
        let o = offer(&people(3), "", "", 50);
        assert_eq!(ids(&o), ["u000", "u001", "u002"]);
        assert_eq!(o.matching, 3);
    }

    #[test]
    fn a_big_room_offers_the_first_few_and_counts_the_rest() {
        let o = offer(&people(1000), "  ", "", 50);
        assert_eq!(o.shown.len(), 50);
        assert_eq!(o.shown[49].0, "u049");
        assert_eq!(o.matching, 1000);
        assert_eq!(o.more, 950);
    }

    #[test]
    fn a_query_narrows_by_name_whatever_the_case() {
        let o = offer(&people(1000), "PERSON 42", "", 50);
        assert_eq!(ids(&o)[..2], ["u420", "u421"]);
        assert_eq!(o.shown.len(), 10);
        assert_eq!(o.matching, 10);
        assert_eq!(offer(&people(1000), "nobody", "", 50).shown, []);
    }

    #[test]
    fn the_chosen_one_is_always_offered() {
        // Far past the limit.
        let o = offer(&people(1000), "", "u700", 50);
        assert_eq!(o.shown.len(), 51);
        assert_eq!(o.shown[50].0, "u700");
        assert_eq!((o.matching, o.more), (1000, 949));
        // Not matching the query.
        let o = offer(&people(1000), "person 42", "u007", 50);
        assert_eq!(ids(&o)[..2], ["u007", "u420"]);
        assert_eq!((o.matching, o.more), (10, 0));
        // Not matching, with more matches than the limit: it takes no
        // match's place, in the options or in the count.
        let o = offer(&people(1000), "person 1", "u007", 50);
        assert_eq!(o.shown.len(), 51);
        assert_eq!((o.matching, o.more), (100, 50));
        // Within the limit: once.
        let o = offer(&people(10), "", "u003", 50);
        assert_eq!(o.shown.len(), 10);
        // Not offered (gone): not added.
        let o = offer(&people(10), "", "gone", 50);
        assert_eq!(o.shown.len(), 10);
    }
}
