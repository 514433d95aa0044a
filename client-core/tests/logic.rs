//! The client's pure logic, natively: token expiry and the renewal
//! schedule, backoff and giving up, the queue of unsent chat, the chat log
//! (de-duplication, the cap, merging history) and the participant list.

use std::time::Duration;

use base64::Engine;
use quorum_client_core::chat_log::{ChatEntry, ChatLog, EntryKind, Sender};
use quorum_client_core::outbox::Outbox;
use quorum_client_core::policy::{
    backoff_delay, give_up_after_from, is_auth_violation, is_pub_denied, is_sub_denied,
    should_give_up, BACKOFF_MAX, BACKOFF_MIN, GIVE_UP_AFTER,
};
use quorum_client_core::renewal::{renew_delay, token_times, TokenTimes, MIN_RENEW_DELAY};
use quorum_client_core::roster::{Roster, RosterEvent};
use quorum_shared::events::PresenceState;
use quorum_shared::ids::UserId;
use quorum_shared::peer::ChatMessage;

fn entry(id: &str, sender: &str, mine: bool) -> ChatEntry {
    ChatEntry {
        id: id.to_string(),
        sender: Sender::User(UserId::parse(sender).unwrap()),
        name: sender.to_uppercase(),
        text: format!("text {id}"),
        shown_at_ms: 0,
        mine,
        private_to: None,
        kind: EntryKind::Message,
    }
}

// ---------- token ---------- //

fn jwt(claims: &str) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!("{}.{}.sig", b64.encode("{}"), b64.encode(claims))
}

#[test]
fn token_expiry_is_read_from_the_payload() {
    let t = jwt(r#"{"nbf":1000,"exp":1600,"user_id":"u","name":"Ünï"}"#);
    assert_eq!(
        token_times(&t),
        Some(TokenTimes {
            nbf: Some(1000),
            exp: 1600
        })
    );
    // Padding, if an issuer adds it, is tolerated.
    assert_eq!(
        token_times("x.eyJleHAiOjV9.y"),
        Some(TokenTimes { nbf: None, exp: 5 })
    );
    assert_eq!(token_times("x.eyJleHAiOjV9==.y").map(|t| t.exp), Some(5));
    for bad in [
        "",
        "abc",
        "a.!!!.c",
        &jwt("{}"),
        &jwt("[1]"),
        &jwt(r#"{"exp":"x"}"#),
    ] {
        assert_eq!(token_times(bad), None, "{bad}");
    }
}

#[test]
fn renewal_is_planned_at_two_thirds_of_the_lifetime_left() {
    let times = TokenTimes {
        nbf: Some(1000),
        exp: 1600,
    };
    let secs = Duration::from_secs;
    assert_eq!(renew_delay(1000.0, times, false), secs(400));
    // A link opened 300 s after it was issued: two thirds of what is left.
    assert_eq!(renew_delay(1300.0, times, false), secs(200));
    // A slow clock does not stretch it beyond the token's lifetime.
    assert_eq!(renew_delay(0.0, times, false), secs(400));
    // Expired, or a fast clock: soon, but never in a tight loop.
    assert_eq!(renew_delay(5000.0, times, false), MIN_RENEW_DELAY);
    // Just issued by the server: its whole lifetime, whatever our clock says.
    assert_eq!(renew_delay(5000.0, times, true), secs(400));
    // A short token keeps a margin to renew in: 15 s before its end, not
    // a third of a few seconds.
    let short = TokenTimes {
        nbf: Some(1000),
        exp: 1030,
    };
    assert_eq!(renew_delay(1000.0, short, false), secs(15));
    // 18 s left: 3 s before the margin, but never sooner than the floor.
    assert_eq!(renew_delay(1012.0, short, false), MIN_RENEW_DELAY);
    let no_nbf = TokenTimes {
        nbf: None,
        exp: 1600,
    };
    assert_eq!(renew_delay(1000.0, no_nbf, true), secs(400));
}

// ---------- backoff and giving up ---------- //

#[test]
fn giving_up_takes_five_minutes_unless_the_link_says_otherwise() {
    assert_eq!(GIVE_UP_AFTER, Duration::from_secs(300));
    assert_eq!(give_up_after_from(""), GIVE_UP_AFTER);
    assert_eq!(
        give_up_after_from("?give_up_secs=3"),
        Duration::from_secs(3)
    );
    assert_eq!(
        give_up_after_from("?a=1&give_up_secs=42&b"),
        Duration::from_secs(42)
    );
    for bad in [
        "?give_up_secs=0",
        "?give_up_secs=-1",
        "?give_up_secs=x",
        "?give_up_secs",
        "?xgive_up_secs=3",
    ] {
        assert_eq!(give_up_after_from(bad), GIVE_UP_AFTER, "{bad}");
    }
    assert!(!should_give_up(1000.0, 300_999.0, GIVE_UP_AFTER));
    assert!(should_give_up(1000.0, 301_000.0, GIVE_UP_AFTER));
}

#[test]
fn refused_subscriptions_and_publishes_are_recognised() {
    let sub = r#"Permissions Violation for Subscription to "qr.r.chat.*""#;
    assert!(is_sub_denied(sub, "qr.r.chat.*"));
    assert!(!is_sub_denied(sub, "qr.r.public"));
    assert!(!is_pub_denied(sub, "qr.r.chat.*"));
    let publish = r#"Permissions Violation for Publish to "qr.r.chat.u""#;
    assert!(is_pub_denied(publish, "qr.r.chat.u"));
    assert!(!is_pub_denied(publish, "qr.r.chat.u2"));
}

// ---------- the queue ---------- //

fn msg(id: &str) -> ChatMessage {
    ChatMessage {
        id: id.to_string(),
        name: "Ann".to_string(),
        text: format!("text {id}"),
        sent_at_ms: 0,
    }
}

fn ids(v: Vec<ChatMessage>) -> Vec<String> {
    v.into_iter().map(|m| m.id).collect()
}

#[test]
fn queued_chat_goes_out_in_order_once_per_connection_until_confirmed() {
    let mut o = Outbox::new();
    for id in ["a", "b", "c"] {
        o.push(msg(id));
    }
    assert_eq!(ids(o.due(1)), ["a", "b", "c"]);
    o.mark_sent("a", 1);
    o.mark_sent("b", 1);
    assert_eq!(ids(o.due(1)), ["c"], "nothing twice on one connection");
    assert!(o.confirm("a"));
    assert!(!o.confirm("a"));
    // The socket died before "b" came back: the next one sends it again,
    // still ahead of what was queued after it.
    assert_eq!(ids(o.due(2)), ["b", "c"]);
    o.push(msg("d"));
    assert_eq!(ids(o.due(2)), ["b", "c", "d"]);
    assert!(o.confirm("c"));
    assert_eq!(o.ids().collect::<Vec<_>>(), ["b", "d"]);
    assert_eq!(o.len(), 2);
    o.confirm("b");
    o.confirm("d");
    assert!(o.is_empty());
}

#[test]
fn refused_chat_waits_for_a_retry_and_is_kept_until_discarded() {
    let mut o = Outbox::new();
    for id in ["a", "b", "c"] {
        o.push(msg(id));
    }
    o.mark_sent("a", 1);
    // A lock: everything queued fails, written or not, and nothing is due.
    assert_eq!(o.fail_all(), ["a", "b", "c"]);
    assert!(o.is_empty() && o.due(1).is_empty() && o.due(2).is_empty());
    assert!(o.is_failed("b"));
    let saved = o.saved(10);
    assert_eq!(
        saved.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert!(saved.iter().all(|u| u.failed && !u.wire.is_empty()));
    // A retry queues it behind what was typed since; it goes out again
    // even on the connection the others were written on.
    o.push(msg("d"));
    assert!(o.retry("b") && !o.retry("b"));
    assert_eq!(ids(o.due(1)), ["d", "b"]);
    // "a" was accepted before the lock after all: its echo settles it.
    assert!(o.confirm("a") && !o.is_failed("a"));
    assert!(o.discard("c") && !o.discard("c"));
    let saved = o.saved(10);
    assert_eq!(
        saved
            .iter()
            .map(|u| (u.id.as_str(), u.failed))
            .collect::<Vec<_>>(),
        [("d", false), ("b", false)]
    );
    // The newest are kept when there are too many.
    assert_eq!(o.saved(1)[0].id, "b");
    // What the cache kept comes back as it was.
    let mut back = Outbox::new();
    back.restore(msg("x"), b"X".to_vec(), true);
    back.restore(msg("y"), b"Y".to_vec(), false);
    assert!(back.is_failed("x"));
    assert_eq!(back.due_wire(1), [("y".to_string(), b"Y".to_vec())]);
}

#[test]
fn messages_being_encrypted_hold_back_those_behind_them() {
    let mut o = Outbox::new();
    for id in ["a", "b", "c"] {
        o.push_unsealed(msg(id));
    }
    assert!(o.due_wire(1).is_empty(), "nothing goes out unencrypted");
    // "b" finished first: it still waits for "a".
    o.sealed("b", b"B".to_vec());
    assert!(o.due_wire(1).is_empty());
    o.sealed("a", b"A".to_vec());
    assert_eq!(
        o.due_wire(1),
        [
            ("a".to_string(), b"A".to_vec()),
            ("b".to_string(), b"B".to_vec())
        ]
    );
    o.mark_sent("a", 1);
    o.mark_sent("b", 1);
    o.sealed("c", b"C".to_vec());
    assert_eq!(o.due_wire(1), [("c".to_string(), b"C".to_vec())]);
    // Plain rooms: sent as the message's JSON.
    let mut plain = Outbox::new();
    plain.push(msg("p"));
    assert_eq!(plain.due_wire(1), [("p".to_string(), msg("p").encode())]);
}

// ---------- history ---------- //

fn order(log: &ChatLog) -> Vec<String> {
    log.entries().map(|e| e.id.clone()).collect()
}

#[test]
fn history_merges_by_sequence_and_drops_copies() {
    let mut log = ChatLog::new();
    // A live message arrives while the history loads.
    assert!(log.push(entry("live1", "bob", false)));
    // Older history lands before it, in sequence order.
    assert!(log.insert(entry("h2", "bob", false), Some(3)));
    assert!(log.insert(entry("h1", "ann", false), Some(1)));
    // The live one comes back from history: no copy, but its place is known.
    assert!(!log.insert(entry("live1", "bob", false), Some(5)));
    assert_eq!(order(&log), ["h1", "h2", "live1"]);
    assert_eq!(log.seq_of(&entry("live1", "bob", false).key()), Some(5));
    // Typed while offline: shown at once, pending.
    let mine = entry("mine1", "alice", true);
    assert!(log.push_pending(mine.clone()));
    assert!(log.is_pending(&mine.key()));
    // The gap fetched after the reconnect goes before it.
    assert!(log.insert(entry("gap1", "bob", false), Some(6)));
    assert!(log.insert(entry("gap2", "bob", false), Some(7)));
    assert_eq!(order(&log), ["h1", "h2", "live1", "gap1", "gap2", "mine1"]);
    // Its echo confirms it (a visible change) exactly once.
    let rev = log.revision();
    assert!(log.insert(mine.clone(), None));
    assert!(!log.is_pending(&mine.key()));
    assert_eq!(log.revision(), rev + 1);
    assert!(!log.insert(mine.clone(), Some(8)));
    assert_eq!(log.revision(), rev + 1);
    // A late one from history slots in by sequence.
    assert!(log.insert(entry("h3", "ann", false), Some(4)));
    assert_eq!(
        order(&log),
        ["h1", "h2", "h3", "live1", "gap1", "gap2", "mine1"]
    );
}

#[test]
fn a_discarded_message_leaves_the_log_and_may_come_again() {
    let mut log = ChatLog::new();
    log.push(entry("a", "bob", false));
    let mine = entry("mine", "alice", true);
    log.push_pending(mine.clone());
    log.push(entry("b", "bob", false));
    let rev = log.revision();
    assert!(log.remove(&mine.key()));
    assert!(!log.remove(&mine.key()));
    assert_eq!(order(&log), ["a", "b"]);
    assert!(!log.is_pending(&mine.key()) && log.revision() > rev);
    // Its key is free again (the same message restored, say).
    assert!(log.push_pending(mine));
    assert_eq!(order(&log), ["a", "b", "mine"]);
}

#[test]
fn a_placeholder_gives_way_to_its_message_in_place() {
    let mut log = ChatLog::new();
    log.push(entry("a", "bob", false));
    log.push(entry("~eve~01", "eve", false));
    log.push(entry("b", "bob", false));
    assert!(log.replace(
        &entry("~eve~01", "eve", false).key(),
        entry("e1", "eve", false)
    ));
    assert_eq!(order(&log), ["a", "e1", "b"]);
    assert!(!log.replace(
        &entry("~eve~01", "eve", false).key(),
        entry("e2", "eve", false)
    ));
    // Already shown another way: the placeholder just goes.
    log.push(entry("~eve~02", "eve", false));
    assert!(log.replace(
        &entry("~eve~02", "eve", false).key(),
        entry("a", "bob", false)
    ));
    assert_eq!(order(&log), ["a", "e1", "b"]);
    // Rewritten under its own key: still there, with the new text.
    let mut grown = entry("b", "bob", false);
    grown.text = "grown".into();
    assert!(log.replace(&grown.key(), grown));
    assert_eq!(order(&log), ["a", "e1", "b"]);
    assert_eq!(log.last().map(|e| e.text.as_str()), Some("grown"));
}

#[test]
fn a_full_log_keeps_the_newest_when_history_arrives() {
    let mut log = ChatLog::with_cap(2);
    log.insert(entry("b", "bob", false), Some(2));
    log.insert(entry("c", "bob", false), Some(3));
    assert!(
        !log.insert(entry("a", "bob", false), Some(1)),
        "older than all kept"
    );
    assert!(log.insert(entry("d", "bob", false), Some(4)));
    assert_eq!(order(&log), ["c", "d"]);
    // An evicted one does not come back in front.
    assert!(!log.insert(entry("b", "bob", false), Some(2)));
    assert_eq!(order(&log), ["c", "d"]);
}

// ---------- chat ---------- //

#[test]
fn chat_log_dedups_and_keeps_arrival_order() {
    let mut log = ChatLog::new();
    assert!(log.push(entry("b", "bob", false)));
    assert!(log.push(entry("a", "alice", true)));
    assert!(
        !log.push(entry("b", "bob", false)),
        "duplicate id is dropped"
    );
    assert!(log.push(entry("c", "bob", false)));
    let ids: Vec<_> = log.entries().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["b", "a", "c"]);
    assert_eq!(log.revision(), 3);
}

#[test]
fn chat_log_cap_evicts_oldest() {
    let mut log = ChatLog::with_cap(2);
    for id in ["1", "2", "3"] {
        log.push(entry(id, "bob", false));
    }
    let ids: Vec<_> = log.entries().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["2", "3"]);
    assert_eq!(log.revision(), 3);
}

// ---------- connection ---------- //

#[test]
fn backoff_grows_is_jittered_and_bounded() {
    assert_eq!(backoff_delay(0, 0.0), BACKOFF_MIN);
    assert_eq!(backoff_delay(0, 0.999), BACKOFF_MIN);
    assert_eq!(backoff_delay(3, 1.0), Duration::from_millis(4000));
    assert_eq!(backoff_delay(3, 0.0), Duration::from_millis(2000));
    for attempt in [5, 10, 1000, u32::MAX] {
        for jitter in [0.0, 0.5, 1.0] {
            let d = backoff_delay(attempt, jitter);
            assert!(
                d >= BACKOFF_MAX / 2 && d <= BACKOFF_MAX,
                "{attempt} {jitter} {d:?}"
            );
        }
    }
    assert!(is_auth_violation("Authorization Violation"));
    assert!(!is_auth_violation(
        "Permissions Violation for Publish to \"x\""
    ));
}

// ---------- participants ---------- //

fn presence(id: &str, name: &str, admin: bool, state: PresenceState) -> RosterEvent {
    RosterEvent::Presence {
        user_id: id.into(),
        name: name.into(),
        is_admin: admin,
        state,
    }
}

fn hand(id: &str, raised: bool) -> RosterEvent {
    RosterEvent::Hand {
        user_id: id.into(),
        raised,
    }
}

fn names(r: &Roster) -> Vec<String> {
    r.listed().map(|p| p.name.clone()).collect()
}

#[test]
fn the_participant_list_follows_presence_and_hands() {
    use PresenceState::*;
    let mut r = Roster::new("me", "Me", false);
    assert_eq!(names(&r), ["Me"]);
    assert!(r.me().unwrap().me);
    assert!(r.apply(presence("bob", "bob", true, Online)));
    assert!(r.apply(presence("ann", "Ann", false, Online)));
    assert!(!r.apply(presence("ann", "Ann", false, Online)), "no change");
    assert_eq!(names(&r), ["bob", "Ann", "Me"], "moderators first");
    assert!(r.get("bob").unwrap().is_admin);

    assert!(r.apply(hand("bob", true)));
    assert!(!r.apply(hand("bob", true)));
    assert!(!r.apply(hand("ghost", true)), "unknown people are ignored");
    assert!(r.hand_raised("bob"));

    assert!(r.apply(presence("ann", "Ann", false, Disconnected)));
    assert_eq!(r.get("ann").unwrap().state, Disconnected);
    assert!(r.apply(presence("ann", "Ann", false, Offline)));
    assert_eq!(names(&r), ["bob", "Me", "Ann"], "people who left go last");
    assert_eq!(r.present(), 2);

    // History and live overlap after a reconnect: replaying a tail of the
    // events ends in the same state.
    let tail = [
        presence("ann", "Ann", false, Online),
        presence("ann", "Ann", false, Offline),
    ];
    let before = r.clone();
    for ev in tail {
        r.apply(ev);
    }
    assert_eq!(r, before);

    // A blank name shows the id; an empty id is ignored.
    assert!(r.apply(presence("zed", " ", false, Online)));
    assert_eq!(r.get("zed").unwrap().name, "zed");
    assert!(!r.apply(presence("", "x", false, Online)));
    assert_eq!(r.len(), 4);

    // Cleaned up by the server: off the list; never ourselves.
    assert!(r.apply(presence("ann", "Ann", false, Left)));
    assert!(r.get("ann").is_none());
    assert!(
        !r.apply(presence("ann", "Ann", false, Left)),
        "already gone"
    );
    assert!(!r.apply(presence("me", "Me", false, Left)));
    assert!(r.me().is_some());
    assert_eq!(r.len(), 3);
}

#[test]
fn the_outbox_walks_no_further_than_it_must() {
    let mut o = Outbox::new();
    for id in ["a", "b", "c", "d"] {
        o.push(msg(id));
    }
    o.mark_sent("a", 1);
    o.mark_sent("b", 1);
    assert!(!o.is_due(1, "a") && !o.is_due(1, "b"));
    assert!(o.is_due(1, "c") && o.is_due(2, "a"));
    assert!(!o.is_due(1, "zz"), "not queued");
    // An echo out of order (from the middle) keeps the rest right.
    assert!(o.confirm("b"));
    assert_eq!(ids(o.due(1)), ["c", "d"]);
    o.mark_sent("c", 1);
    assert_eq!(ids(o.due(1)), ["d"]);
    // A message dropped before it went out (it could not be encrypted).
    assert!(o.confirm("d"));
    assert!(o.due(1).is_empty());
    assert_eq!(ids(o.due(2)), ["a", "c"]);
}

#[test]
fn the_roster_keeps_its_order_and_count_in_step() {
    use PresenceState::*;
    let mut r = Roster::new("me", "Me", false);
    for n in 0..1000 {
        r.apply(presence(
            &format!("u{n:04}"),
            &format!("Person {n:04}"),
            false,
            Online,
        ));
    }
    assert_eq!(r.present(), 1001);
    let (rows, total) = r.page("", 0, 3);
    let ids: Vec<_> = rows.iter().map(|p| p.id.as_str()).collect();
    assert_eq!((ids, total), (vec!["me", "u0000", "u0001"], 1001));
    // A hand goes up: to the top; down again: back in its place.
    r.apply(hand("u0500", true));
    assert_eq!(r.page("", 0, 1).0[0].id, "u0500");
    r.apply(hand("u0500", false));
    assert_eq!(r.page("", 0, 1).0[0].id, "me");
    // Offline people go last, and out of the count.
    r.apply(presence("u0000", "Person 0000", false, Offline));
    assert_eq!(r.present(), 1000);
    assert_eq!(r.page("", 1000, 5).0[0].id, "u0000");
    // A renamed person moves with the new name.
    r.apply(presence("u0001", "Aaron", false, Online));
    assert_eq!(r.page("", 0, 1).0[0].id, "u0001");
    // A search counts all who match and pages through them.
    let (rows, total) = r.page("person 09", 5, 3);
    let ids: Vec<_> = rows.iter().map(|p| p.id.as_str()).collect();
    assert_eq!((ids, total), (vec!["u0905", "u0906", "u0907"], 100));
    // Leaving takes them off, order and count alike.
    r.apply(presence("u0002", "Person 0002", false, Left));
    assert_eq!(r.len(), 1000);
    assert_eq!(r.present(), 999);
    assert_eq!(r.listed().count(), 1000);
    assert!(r.page("person 0002", 0, 10).0.is_empty());
}

#[test]
fn the_log_lets_the_oldest_go_past_its_byte_budget() {
    // Each entry weighs its id, name and text: "mN" + "BOB" + "text mN".
    let weight = |id: &str| id.len() + 3 + format!("text {id}").len();
    let budget = weight("m1") * 3;
    let mut log = ChatLog::with_limits(100, budget);
    for n in 1..=5 {
        log.push(entry(&format!("m{n}"), "bob", false));
    }
    let ids: Vec<_> = log.entries().map(|e| e.id.clone()).collect();
    assert_eq!(ids, ["m3", "m4", "m5"]);
    assert_eq!(log.dropped(), 2);
    // Older history does not squeeze in at the front of a full log.
    let mut log2 = ChatLog::with_limits(100, budget);
    for n in 5..=7 {
        log2.insert(entry(&format!("m{n}"), "bob", false), Some(n));
    }
    assert!(!log2.insert(entry("m1", "bob", false), Some(1)));
    assert_eq!((log2.len(), log2.dropped()), (3, 0));
    // One message over the whole budget is still shown, alone.
    let mut big = entry("big", "bob", false);
    big.text = "x".repeat(budget * 2);
    assert!(log.push(big));
    assert_eq!(log.len(), 1);
    // What left can come back (it is no longer known).
    assert!(log.push(entry("m5", "bob", false)));
}

#[test]
fn a_flood_of_20000_one_liners_is_kept_whole() {
    let mut log = ChatLog::new();
    for n in 0..20_000 {
        log.push(entry(&format!("flood-{n}"), "bob", false));
    }
    assert_eq!((log.len(), log.dropped()), (20_000, 0));
    log.push(entry("one-more", "bob", false));
    assert_eq!((log.len(), log.dropped()), (20_000, 1));
}

#[test]
fn a_refused_publish_names_its_subject() {
    use quorum_client_core::policy::{denied_publish, is_pub_denied};
    let err = "Permissions Violation for Publish to \"qr.r.dm.bob.ann\"";
    assert_eq!(denied_publish(err), Some("qr.r.dm.bob.ann"));
    assert!(is_pub_denied(err, "qr.r.dm.bob.ann"));
    assert!(!is_pub_denied(err, "qr.r.dm.bob"));
    assert_eq!(
        denied_publish("Permissions Violation for Subscription to \"x\""),
        None
    );
    assert_eq!(
        denied_publish("Permissions Violation for Publish to \"x"),
        None
    );
}

#[test]
fn the_countdown_reads_well_and_warns_at_ten_and_one_minutes() {
    use quorum_client_core::countdown::{format_left, warning_due};
    assert_eq!(format_left(3725), "1:02:05");
    assert_eq!(format_left(605), "10:05");
    assert_eq!(format_left(59), "0:59");
    assert_eq!(format_left(-3), "0:00");
    assert_eq!(warning_due(601, None), None);
    assert_eq!(warning_due(600, None), Some(10));
    assert_eq!(warning_due(300, Some(10)), None, "once");
    assert_eq!(warning_due(60, Some(10)), Some(1));
    assert_eq!(warning_due(30, Some(1)), None);
    // Joined with 40 s left: only the warning that still applies.
    assert_eq!(warning_due(40, None), Some(1));
}

#[test]
fn comings_and_goings_are_said_once_and_bursts_make_one_line() {
    use quorum_client_core::presence_lines::{went, Line, Went};
    use quorum_shared::events::PresenceState::*;
    assert_eq!(went(None, Online), Some(Went::Joined));
    assert_eq!(went(Some(Left), Online), Some(Went::Joined));
    assert_eq!(
        went(Some(Online), Disconnected),
        None,
        "a blip says nothing"
    );
    assert_eq!(went(Some(Disconnected), Online), None);
    assert_eq!(went(Some(Disconnected), Offline), Some(Went::Left));
    assert_eq!(went(Some(Online), Left), Some(Went::Left));
    assert_eq!(went(None, Left), None);
    let mut line = Line {
        went: Went::Joined,
        names: vec!["Ann".into()],
        at_ms: 0,
    };
    assert!(line.absorb(Went::Joined, "Bob", 5_000));
    assert!(line.absorb(Went::Joined, "Bob", 6_000), "once each");
    assert!(!line.absorb(Went::Left, "Cy", 6_500), "the other way");
    assert!(!line.absorb(Went::Joined, "Cy", 20_000), "too late");
    for n in ["Cy", "Di", "Ed"] {
        assert!(line.absorb(Went::Joined, n, 7_000));
    }
    let (named, more) = line.shown();
    assert_eq!(
        (named.to_vec(), more),
        (vec!["Ann".to_string(), "Bob".to_string()], 3)
    );
}
